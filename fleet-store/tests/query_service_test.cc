#include "canvoy/fleet_store/query_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

#include "canvoy/fleet_store/metrics.h"
#include "canvoy/fleet_store/store_writer.h"
#include "test_support.h"

namespace canvoy::fleet_store {
namespace {

using namespace test_support;
using ::testing::HasSubstr;
namespace json = boost::json;

constexpr std::int64_t kT0 = 1'700'000'000'000'000;
constexpr std::int64_t kBeyondDouble = (std::int64_t{1} << 53) + 1;  // 9007199254740993

class QueryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open(test_support::StoreAt(dir_.path() / "db")).value();
    writer_ = std::make_unique<StoreWriter>(*store_);
    ASSERT_TRUE(writer_->PutCatalog(CatalogRecordOf(TestCatalog())));
    handler_ = MakeQueryHandler(*store_, registry_);
  }

  void ApplyOneBatch(const char* vin, std::uint64_t seq) {
    BatchBuilder batch(seq, kT0);
    batch.Int64s(kCounter, {{kT0 + 1, 5}, {kT0 + 2, kBeyondDouble}})
        .UInt64s(kOdometer, {{kT0 + 3, std::numeric_limits<std::uint64_t>::max()}})
        .Doubles(kSpeed, {{kT0 + 4, 88.5}})
        .Bools(kMoving, {{kT0 + 5, true}})
        .Strings(kGear, {{kT0 + 6, "D"}});
    auto stats = writer_->Apply({Record(offset_++, vin, batch, 0, kT0 + 10)});
    ASSERT_TRUE(stats) << stats.error().ToString();
    metrics_.Add(stats.value());
  }

  http::Response Get(const std::string& path, std::map<std::string, std::string> query = {}) {
    return handler_(http::Request{"GET", path, std::move(query), ""});
  }
  static std::string ErrorOf(const http::Response& response) {
    return std::string(json::parse(response.body).at("error").as_string());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreWriter> writer_;
  prometheus::Registry registry_;
  SinkMetrics metrics_{registry_};
  http::Handler handler_;
  std::int64_t offset_ = 0;
};

TEST_F(QueryServiceTest, LatestAnswerCarriesCountsAndExactTypedValues) {
  ApplyOneBatch(kVin1, 1);
  auto response = Get(std::string("/v1/vehicles/") + kVin1 + "/latest");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.content_type, "application/json");

  const auto answer = json::parse(response.body).as_object();
  EXPECT_EQ(answer.at("vin").as_string(), kVin1);
  EXPECT_EQ(answer.at("sample_count").to_number<std::uint64_t>(), 6u);
  EXPECT_EQ(answer.at("batch_count").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(answer.at("last_seen_us").to_number<std::int64_t>(), kT0 + 10);
  std::map<std::string, json::object> signals;
  for (const auto& s : answer.at("signals").as_array())
    signals[std::string(s.at("name").as_string())] = s.as_object();
  ASSERT_EQ(signals.size(), 5u);

  const auto& counter = signals.at("Engine.Counter");
  EXPECT_EQ(counter.at("type").as_string(), "int64");
  EXPECT_EQ(counter.at("timestamp_us").as_int64(), kT0 + 2);
  ASSERT_TRUE(counter.at("value").is_int64()) << json::serialize(counter.at("value"));
  EXPECT_EQ(counter.at("value").as_int64(), kBeyondDouble);
  EXPECT_THAT(response.body, HasSubstr("\"value\":9007199254740993"));

  const auto& odometer = signals.at("Vehicle.TraveledDistanceHighRes");
  EXPECT_EQ(odometer.at("type").as_string(), "uint64");
  EXPECT_EQ(odometer.at("unit").as_string(), "m");
  EXPECT_EQ(odometer.at("value").as_uint64(), std::numeric_limits<std::uint64_t>::max());

  EXPECT_EQ(signals.at("Vehicle.Speed").at("type").as_string(), "double");
  EXPECT_EQ(signals.at("Vehicle.Speed").at("value").as_double(), 88.5);
  EXPECT_EQ(signals.at("Vehicle.IsMoving").at("value").as_bool(), true);
  EXPECT_EQ(signals.at("Vehicle.Powertrain.Transmission.SelectedGear").at("value").as_string(),
            "D");
}

TEST_F(QueryServiceTest, InvalidVinGets400NamingThePosition) {
  auto response = Get("/v1/vehicles/1HGCM82633A00435I/latest");
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(ErrorOf(response),
            "VIN '1HGCM82633A00435I': character 17 is not one of 0-9, A-Z less I, O, Q");
}

TEST_F(QueryServiceTest, UnknownVinGets404) {
  ApplyOneBatch(kVin1, 1);
  auto response = Get(std::string("/v1/vehicles/") + kVin2 + "/latest");
  EXPECT_EQ(response.status, 404u);
  EXPECT_THAT(ErrorOf(response), HasSubstr(kVin2));
}

TEST_F(QueryServiceTest, VehicleListHasCountsInVinOrderAndPages) {
  ApplyOneBatch(kVin2, 1);
  ApplyOneBatch(kVin1, 1);
  ApplyOneBatch(kVin1, 2);

  auto all = json::parse(Get("/v1/vehicles").body).as_object();
  const auto& vehicles = all.at("vehicles").as_array();
  ASSERT_EQ(vehicles.size(), 2u);
  EXPECT_EQ(vehicles[0].at("vin").as_string(), kVin1);
  EXPECT_EQ(vehicles[0].at("batch_count").to_number<int>(), 2);
  EXPECT_EQ(vehicles[0].at("sample_count").to_number<int>(), 12);
  EXPECT_EQ(vehicles[1].at("vin").as_string(), kVin2);
  EXPECT_FALSE(all.contains("next_after"));

  auto page = json::parse(Get("/v1/vehicles", {{"limit", "1"}}).body).as_object();
  ASSERT_EQ(page.at("vehicles").as_array().size(), 1u);
  EXPECT_EQ(page.at("next_after").as_string(), kVin1);
  auto next = json::parse(Get("/v1/vehicles", {{"limit", "1"}, {"after", kVin1}}).body).as_object();
  EXPECT_EQ(next.at("vehicles").as_array().at(0).at("vin").as_string(), kVin2);
}

TEST_F(QueryServiceTest, BadListParametersGet400NamingTheParameter) {
  auto limit = Get("/v1/vehicles", {{"limit", "lots"}});
  EXPECT_EQ(limit.status, 400u);
  EXPECT_THAT(ErrorOf(limit), HasSubstr("query parameter 'limit': 'lots'"));
  auto after = Get("/v1/vehicles", {{"after", "x"}});
  EXPECT_EQ(after.status, 400u);
  EXPECT_THAT(ErrorOf(after), HasSubstr("query parameter 'after': VIN 'x'"));
}

TEST_F(QueryServiceTest, MetricsAreServedInPrometheusText) {
  ApplyOneBatch(kVin1, 1);
  auto response = Get("/metrics");
  EXPECT_EQ(response.status, 200u);
  EXPECT_THAT(response.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(response.body, HasSubstr("canvoy_fleet_store_batches_applied_total 1"));
  EXPECT_THAT(response.body, HasSubstr("canvoy_fleet_store_samples_written_total 6"));
  EXPECT_THAT(response.body, HasSubstr("canvoy_fleet_store_poll_rounds_total 1"));
  EXPECT_THAT(response.body, HasSubstr("canvoy_fleet_store_duplicates_dropped_total 0"));
}

TEST_F(QueryServiceTest, HealthzAnswersOk) {
  auto response = Get("/healthz");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.body, R"({"status":"ok"})");
}

TEST_F(QueryServiceTest, OtherMethodsAndPathsAreRefused) {
  auto post = handler_(http::Request{"POST", "/v1/vehicles", {}, "{}"});
  EXPECT_EQ(post.status, 405u);
  EXPECT_THAT(ErrorOf(post), HasSubstr("'POST'"));
  EXPECT_EQ(Get("/v1/vehicles/" + std::string(kVin1) + "/history").status, 404u);
  EXPECT_EQ(Get("/v2/vehicles").status, 404u);
}

TEST_F(QueryServiceTest, NonFiniteDoublesAreStringsSoTheAnswerStaysValidJson) {
  BatchBuilder batch(1, kT0);
  batch.Doubles(kSpeed, {{kT0, std::numeric_limits<double>::infinity()}});
  ASSERT_TRUE(writer_->Apply({Record(0, kVin1, batch)}));
  auto response = Get(std::string("/v1/vehicles/") + kVin1 + "/latest");
  auto answer = json::parse(response.body);
  EXPECT_EQ(answer.at("signals").at(0).at("value").as_string(), "Infinity");
}

}  // namespace
}  // namespace canvoy::fleet_store
