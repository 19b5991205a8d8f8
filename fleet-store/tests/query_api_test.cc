// The query engine over HTTP: routes, status codes, convenience GETs, metrics, and the CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <sstream>
#include <thread>

#include "canvoy/common/http_server.h"
#include "loopback_server.h"
#include "canvoy/common/metrics.h"
#include "canvoy/fleet_store/query_cli.h"
#include "canvoy/fleet_store/query_client.h"
#include "canvoy/fleet_store/query_service.h"
#include "fake_store_view.h"

namespace canvoy::fleet_store {
namespace {

using test_support::FakeStoreView;
using test_support::TestVin;
using test_support::ViewOf;
using ::testing::HasSubstr;
namespace json = boost::json;

constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z
constexpr std::int64_t kMinute = 60'000'000;

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    view_.AddVehicle(TestVin(1), {{"fleet", "South"}, {"name", "one"}});
    view_.AddVehicle(TestVin(2), {{"fleet", "North"}, {"name", "two"}});
    for (int i = 0; i < 10; ++i) {
      // Two samples at each timestamp, five timestamps a minute apart.
      view_.AddSample(TestVin(1), "speed", kT0 + (i / 2) * kMinute + 7, 10.0 * i);
      view_.AddSample(TestVin(2), "speed", kT0 + i * kMinute, 1.0 * i);
    }
    view_.AddSample(TestVin(1), "fuel", kT0 + 3, 0.5);
    handler_ = Handler({});
  }

  http::Handler Handler(QueryLimits limits) {
    return MakeQueryApiHandler([this] { return ViewOf(view_); }, registry_, limits);
  }
  http::Response Get(const std::string& path, std::map<std::string, std::string> query = {}) {
    return handler_(http::Request{"GET", path, std::move(query), ""});
  }
  http::Response Post(const std::string& body) {
    return handler_(http::Request{"POST", "/v1/query", {}, body});
  }
  static std::string ErrorOf(const http::Response& response) {
    return std::string(json::parse(response.body).at("error").as_string());
  }
  static json::object Body(const http::Response& response) {
    EXPECT_EQ(response.status, 200u) << response.body;
    return json::parse(response.body).as_object();
  }

  FakeStoreView view_;
  prometheus::Registry registry_;
  http::Handler handler_;
};

TEST_F(QueryApiTest, PostAndGetAnswerTheSameTable) {
  const std::string document =
      R"({"vehicles": {"where": {"fleet": "South"}}, "source": {"latest": ["speed", "fuel"]}})";
  auto posted = Body(Post(document));
  auto got = Body(Get("/v1/query", {{"q", document}}));
  EXPECT_EQ(posted.at("rows"), got.at("rows"));
  EXPECT_EQ(json::serialize(posted.at("columns")), R"(["vin","t","speed","fuel"])");
  EXPECT_EQ(posted.at("rows").as_array().size(), 1u);
  const auto& stats = posted.at("stats").as_object();
  EXPECT_EQ(stats.at("vehicles").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(stats.at("samples").to_number<std::uint64_t>(), 2u);
  EXPECT_TRUE(stats.contains("rollups"));
  EXPECT_TRUE(stats.contains("elapsed_us"));
}

TEST_F(QueryApiTest, BadDocumentsGet400NamingThePositionOrTheStep) {
  auto syntax = Post("{\"source\": [}");
  EXPECT_EQ(syntax.status, 400u);
  EXPECT_EQ(ErrorOf(syntax), "query: line 1, column 13: syntax error");
  auto step = Post(R"({"source": {"samples": ["speed"]}, "steps": [{"filter": "speed > 1"},
      {"compute": {"x": "speed"}}, {"smooth": {}}]})");
  EXPECT_EQ(step.status, 400u);
  EXPECT_THAT(ErrorOf(step), HasSubstr("steps[2]: unknown step 'smooth'"));
  auto column = Post(R"({"source": {"samples": ["speed"]}, "steps": [{"filter": "sped > 1"}]})");
  EXPECT_EQ(column.status, 400u);
  EXPECT_EQ(ErrorOf(column), "steps[0].filter: at 1: unknown column 'sped' (columns: t, speed)");
  auto missing = Get("/v1/query");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_THAT(ErrorOf(missing), HasSubstr("'q'"));
}

TEST_F(QueryApiTest, AQueryPastItsDeadlineGets503) {
  QueryLimits limits;
  limits.timeout = std::chrono::milliseconds(0);
  handler_ = Handler(limits);
  auto response = Post(R"({"source": {"samples": ["speed"]}})");
  EXPECT_EQ(response.status, 503u);
  EXPECT_EQ(ErrorOf(response), "query exceeded its time limit of 0 ms");
}

TEST_F(QueryApiTest, TooLargeScansAndPagesGet400) {
  QueryLimits limits;
  limits.max_scanned_values = 5;
  handler_ = Handler(limits);
  auto scan = Post(R"({"source": {"samples": ["speed"]}})");
  EXPECT_EQ(scan.status, 400u);
  EXPECT_THAT(ErrorOf(scan), HasSubstr("query scans more than 5 values"));
  auto page = Post(R"({"source": {"samples": ["speed"]}, "limit": 1000000})");
  EXPECT_EQ(page.status, 400u);
  EXPECT_THAT(ErrorOf(page), HasSubstr("limit:"));
}

TEST_F(QueryApiTest, StorageFailureGets500AndAMissingViewGets503) {
  view_.fail = Error(Errc::kStorage, "disk on fire");
  EXPECT_EQ(Post(R"({"source": {"samples": ["speed"]}})").status, 500u);
  handler_ = MakeQueryApiHandler([] { return std::unique_ptr<StoreView>(); }, registry_);
  EXPECT_EQ(Post(R"({"source": {"samples": ["speed"]}})").status, 503u);
}

TEST_F(QueryApiTest, RawSamplesArePagedThroughEqualTimestamps) {
  const std::string path = "/v1/vehicles/" + TestVin(1).str() + "/signals/speed/samples";
  auto all = Body(Get(path));
  EXPECT_EQ(json::serialize(all.at("columns")), R"(["t","value"])");
  ASSERT_EQ(all.at("rows").as_array().size(), 10u);
  json::array paged;
  std::string after;
  for (int page = 0; page < 20; ++page) {
    std::map<std::string, std::string> query{{"limit", "3"}};
    if (!after.empty()) query["after"] = after;
    auto answer = Body(Get(path, query));
    for (const auto& row : answer.at("rows").as_array()) paged.push_back(row);
    if (!answer.contains("next")) break;
    after = std::string(answer.at("next").as_string());
  }
  EXPECT_EQ(paged, all.at("rows"));

  auto range = Body(Get(path, {{"from_us", std::to_string(kT0 + kMinute)},
                               {"to_us", std::to_string(kT0 + 2 * kMinute + 8)}}));
  EXPECT_EQ(json::serialize(range.at("rows")),
            R"([[1699920060000007,2E1],[1699920060000007,3E1],[1699920120000007,4E1],)"
            R"([1699920120000007,5E1]])");
}

TEST_F(QueryApiTest, SignalRoutesCheckTheirParameters) {
  EXPECT_EQ(Get("/v1/vehicles/" + TestVin(7).str() + "/signals/speed/samples").status, 404u);
  auto bad_vin = Get("/v1/vehicles/nope/signals/speed/samples");
  EXPECT_EQ(bad_vin.status, 400u);
  EXPECT_THAT(ErrorOf(bad_vin), HasSubstr("VIN 'nope'"));
  auto bad_from = Get("/v1/vehicles/" + TestVin(1).str() + "/signals/speed/samples",
                      {{"from_us", "yesterday"}});
  EXPECT_EQ(bad_from.status, 400u);
  EXPECT_EQ(ErrorOf(bad_from), "query parameter 'from_us': 'yesterday' is not an integer");
  auto bad_agg = Get("/v1/vehicles/" + TestVin(1).str() + "/signals/speed/downsample",
                     {{"aggs", "avg,median"}});
  EXPECT_EQ(bad_agg.status, 400u);
  EXPECT_THAT(ErrorOf(bad_agg), HasSubstr("'median'"));
  EXPECT_EQ(handler_(http::Request{"PUT", "/v1/query", {}, ""}).status, 405u);
  EXPECT_EQ(handler_(http::Request{"POST", "/v1/latest", {}, ""}).status, 405u);
  EXPECT_EQ(Get("/v1/nothing").status, 404u);
}

TEST_F(QueryApiTest, DownsampleAnswersFromRollups) {
  auto answer = Body(Get("/v1/vehicles/" + TestVin(2).str() + "/signals/speed/downsample",
                         {{"width", "2m"},
                          {"aggs", "avg,min,max,count"},
                          {"from_us", std::to_string(kT0)},
                          {"to_us", std::to_string(kT0 + 10 * kMinute)}}));
  EXPECT_EQ(json::serialize(answer.at("columns")), R"(["t","avg","min","max","count"])");
  EXPECT_EQ(json::serialize(answer.at("rows").at(0)), R"([1699920000000000,5E-1,0E0,1E0,2E0])");
  EXPECT_EQ(answer.at("rows").as_array().size(), 5u);
  EXPECT_GT(answer.at("stats").at("rollups").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(answer.at("stats").at("samples").to_number<std::uint64_t>(), 0u);
}

TEST_F(QueryApiTest, CohortLatestSelectsByAttributes) {
  auto answer = Body(Get(
      "/v1/latest", {{"signals", "speed,fuel"}, {"where.fleet", "North"}, {"attributes", "name"}}));
  EXPECT_EQ(json::serialize(answer.at("columns")), R"(["vin","name","t","speed","fuel"])");
  EXPECT_EQ(json::serialize(answer.at("rows")),
            "[[\"" + TestVin(2).str() + R"(","two",1699920540000000,9E0,null]])");
  EXPECT_EQ(Get("/v1/latest").status, 400u);
}

TEST_F(QueryApiTest, LatencyIsObservedByKind) {
  Body(Post(R"({"source": {"samples": ["speed"]}})"));
  Body(Post(
      R"j({"source": {"latest": ["speed"]}, "group": {"by": ["fleet"], "aggs": {"n": "count()"}}})j"));
  const auto text = metrics::Serialize(registry_);
  EXPECT_THAT(text,
              HasSubstr("canvoy_fleet_store_query_duration_seconds_count{kind=\"samples\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("canvoy_fleet_store_query_duration_seconds_count{kind=\"grouped\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("canvoy_fleet_store_query_duration_seconds_count{kind=\"latest\"} 0"));
}

TEST(QueryFormatTest, TablesAlignAndCsvQuotes) {
  const std::string body =
      R"({"columns":["vin","name","t","v"],"rows":[["V1","a, \"b\"",1,1.5E0],["V2",null,22,null]]})";
  auto table = FormatTable(body, OutputFormat::kTable);
  ASSERT_TRUE(table) << table.error().ToString();
  EXPECT_EQ(table.value(),
            "vin  name    t   v\n"
            "V1   a, \"b\"  1   1.5\n"
            "V2   null    22  null\n");
  auto csv = FormatTable(body, OutputFormat::kCsv);
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv.value(), "vin,name,t,v\nV1,\"a, \"\"b\"\"\",1,1.5\nV2,,22,\n");
  EXPECT_FALSE(FormatTable("{}", OutputFormat::kCsv));
}


// Runs the CLI with `args`, returning its exit code, stdout and stderr.
std::tuple<int, std::string, std::string> Cli(std::vector<std::string> args) {
  std::vector<const char*> argv{"query"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int code = RunQueryCommand(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {code, out.str(), err.str()};
}

TEST_F(QueryApiTest, CliRunsDocumentsWithParamsAndPagesSamples) {
  test_support::LoopbackServer server(handler_);
  auto [code, out, err] =
      Cli({"run", "--url", server.url(), "--format", "csv", "--param", "fleet=North", "--json",
           R"({"vehicles": {"where": {"fleet": "${fleet}"}}, "source": {"latest": ["speed"]}})"});
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(out, "vin,t,speed\n" + TestVin(2).str() + ",1699920540000000,9\n");

  auto [code2, out2, err2] = Cli({"samples", "--url", server.url(), "--vin", TestVin(1).str(),
                                  "--signal", "speed", "--limit", "2", "--format", "table"});
  EXPECT_EQ(code2, 0) << err2;
  EXPECT_EQ(out2, "t                 value\n1699920000000007  0\n1699920000000007  10\n");
  EXPECT_THAT(err2, HasSubstr("more rows: add --after "));

  auto [code3, out3, err3] = Cli({"run", "--url", server.url(), "--json", R"({"source": {}})"});
  EXPECT_EQ(code3, 1);
  EXPECT_THAT(err3, HasSubstr("server answered 400: source: expected 'latest' or 'samples'"));

  auto [code4, out4, err4] = Cli({"run", "--url", server.url(), "--json", R"({"a": "${x}"})"});
  EXPECT_EQ(code4, 2);
  EXPECT_THAT(err4, HasSubstr("parameter 'x' has no value"));
  (void)out3;
  (void)out4;
}

}  // namespace
}  // namespace canvoy::fleet_store
