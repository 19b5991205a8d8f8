#include "canvoy/fleet_store/query_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "canvoy/common/http_server.h"
#include "loopback_server.h"
#include "test_support.h"

namespace canvoy::fleet_store {
namespace {

using test_support::kVin1;
using test_support::V;
using ::testing::HasSubstr;

constexpr auto kTimeout = std::chrono::seconds(10);

constexpr const char* kLatestBody =
    R"({"vin":"1HGCM82633A004352","sample_count":3,"batch_count":1,)"
    R"("last_seen_us":1700000000000010,"signals":[)"
    R"({"name":"Engine.Counter","type":"int64","unit":"",)"
    R"("timestamp_us":1700000000000002,"value":9007199254740993},)"
    R"({"name":"Vehicle.Gear","type":"string","unit":"",)"
    R"("timestamp_us":1700000000000003,"value":"D, \"sport\""},)"
    R"({"name":"Vehicle.Speed","type":"double","unit":"km/h",)"
    R"("timestamp_us":1700000000000001,"value":8.85E1}]})";


http::Response LatestOrNotFound(const http::Request& request) {
  if (request.path == std::string("/v1/vehicles/") + kVin1 + "/latest")
    return http::Response{200, "application/json", kLatestBody};
  return http::ErrorResponse(404, "vehicle 'WVWZZZ1JZXW000001': not found");
}

TEST(QueryClientTest, LatestAsTableShowsEverySignalWithExactValues) {
  test_support::LoopbackServer server(LatestOrNotFound);
  auto text = QueryLatest(server.url(), V(kVin1), OutputFormat::kTable, kTimeout);
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_THAT(text.value(), HasSubstr("vin: 1HGCM82633A004352\nsample_count: 3\n"));
  EXPECT_THAT(text.value(),
              HasSubstr("NAME            TYPE    VALUE             UNIT  TIMESTAMP_US\n"));
  EXPECT_THAT(text.value(),
              HasSubstr("Engine.Counter  int64   9007199254740993        1700000000000002\n"));
  EXPECT_THAT(text.value(),
              HasSubstr("Vehicle.Speed   double  88.5              km/h  1700000000000001\n"));
}

TEST(QueryClientTest, LatestAsCsvQuotesFieldsThatNeedIt) {
  test_support::LoopbackServer server(LatestOrNotFound);
  auto text = QueryLatest(server.url() + "/", V(kVin1), OutputFormat::kCsv, kTimeout);
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_EQ(text.value(),
            "name,type,value,unit,timestamp_us\n"
            "Engine.Counter,int64,9007199254740993,,1700000000000002\n"
            "Vehicle.Gear,string,\"D, \"\"sport\"\"\",,1700000000000003\n"
            "Vehicle.Speed,double,88.5,km/h,1700000000000001\n");
}

TEST(QueryClientTest, LatestAsJsonIsTheServersAnswer) {
  test_support::LoopbackServer server(LatestOrNotFound);
  auto text = QueryLatest(server.url(), V(kVin1), OutputFormat::kJson, kTimeout);
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_EQ(text.value(), std::string(kLatestBody) + "\n");
}

TEST(QueryClientTest, ServerErrorBecomesAnErrorWithItsMessage) {
  test_support::LoopbackServer server(LatestOrNotFound);
  auto text = QueryLatest(server.url(), V("WVWZZZ1JZXW000001"), OutputFormat::kTable, kTimeout);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code(), Errc::kNotFound);
  EXPECT_EQ(text.error().message(), "server answered 404: vehicle 'WVWZZZ1JZXW000001': not found");
}

TEST(QueryClientTest, UnreachableServerIsReportedAsUnavailable) {
  // A port that was just free: nothing listens on it.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  auto answer = HttpGet("http://127.0.0.1:" + std::to_string(port), "/healthz", kTimeout);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), Errc::kUnavailable);
  EXPECT_THAT(answer.error().message(), HasSubstr("connect"));
}

TEST(QueryClientTest, BadUrlsAndFormatsAreNamed) {
  EXPECT_THAT(HttpGet("https://127.0.0.1:1", "/", kTimeout).error().message(),
              HasSubstr("scheme 'https'"));
  EXPECT_THAT(HttpGet("not a url", "/", kTimeout).error().message(), HasSubstr("url 'not a url'"));
  EXPECT_EQ(ParseOutputFormat("yaml").error().message(),
            "format 'yaml': expected table, json or csv");
  EXPECT_EQ(FormatLatest("{\"vin\":1}", OutputFormat::kTable).error().message(),
            "answer: no \"signals\" array");
}

}  // namespace
}  // namespace canvoy::fleet_store
