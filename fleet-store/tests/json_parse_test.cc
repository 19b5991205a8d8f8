// query::ParseJson: Boost.JSON's values with doubles rounded correctly, and the CLI's tables
// printing the numbers the server sent.
#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <boost/version.hpp>
#include <charconv>
#include <cmath>
#include <random>
#include <string>

#include "canvoy/fleet_store/query_client.h"
#include "query/json.h"

namespace canvoy::fleet_store {
namespace {

namespace json = boost::json;

std::string Shortest(double d) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
  EXPECT_EQ(ec, std::errc());
  return std::string(buffer, end);
}

// Finite doubles of every magnitude, from random bit patterns.
std::vector<double> RandomDoubles(std::size_t n) {
  std::mt19937_64 rng(20261127);
  std::vector<double> out;
  while (out.size() < n) {
    const double d = std::bit_cast<double>(rng());
    if (std::isfinite(d)) out.push_back(d);
  }
  return out;
}

TEST(JsonParseTest, DoublesAreTheCorrectlyRoundedValuesOfTheirDigits) {
  std::size_t boost_off = 0;
  for (const double d : RandomDoubles(100'000)) {
    // The shortest text that reads back as d, and a longer one with 17 significant digits.
    char longer[40];
    const int written = std::snprintf(longer, sizeof longer, "%.16e", d);
    ASSERT_GT(written, 0);
    for (const std::string& text : {Shortest(d), std::string(longer)}) {
      boost::system::error_code ec;
      const json::value v = query::ParseJson("[" + text + "]", ec);
      ASSERT_FALSE(ec) << text;
      const json::value& n = v.as_array().at(0);
      double want = 0;
      std::from_chars(text.data(), text.data() + text.size(), want);
      // Integral texts come back as integers, the rest as the double the digits round to.
      if (n.is_double()) {
        ASSERT_EQ(std::bit_cast<std::uint64_t>(n.as_double()), std::bit_cast<std::uint64_t>(want))
            << text;
      } else {
        ASSERT_EQ(static_cast<double>(n.to_number<double>()), want) << text;
      }
      const json::value theirs = json::parse("[" + text + "]");
      if (theirs.as_array().at(0) != n) ++boost_off;
    }
  }
#if BOOST_VERSION < 108300
  // Why ParseJson exists: Boost.JSON's own parser is off for some of these.
  EXPECT_GT(boost_off, 0u);
#endif
}

TEST(JsonParseTest, EverythingElseIsBoostsValue) {
  const std::string text =
      R"j( {"a": [1, -2, 18446744073709551615, true, false, null, "s\u00e9\"x"],
            "b": {"c": {}, "d": [], "e": -0.0, "f": 1e300, "g": 12345678901234567890123}} )j";
  boost::system::error_code ec;
  const json::value ours = query::ParseJson(text, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(ours, json::parse(text));
  EXPECT_TRUE(std::signbit(ours.at("b").at("e").as_double()));
}

TEST(JsonParseTest, BadTextFailsWhereItStops) {
  for (const auto& [text, stop] : std::vector<std::pair<std::string, std::size_t>>{
           {"{\"a\": 1,}", 8}, {"[1, 2", 5}, {"{} x", 3}, {"", 0}, {"[1.5e]", 5}}) {
    boost::system::error_code ec;
    std::size_t used = 0;
    query::ParseJson(text, ec, &used);
    EXPECT_TRUE(ec) << text;
    EXPECT_EQ(used, stop) << text;
  }
}

// The server's body holds shortest exact doubles; the table and CSV print those digits, whatever
// Boost.JSON's own parser would have read.
TEST(JsonParseTest, TablesPrintTheDoublesTheServerSent) {
  std::size_t checked = 0;
  for (const double d : RandomDoubles(20'000)) {
    const std::string text = Shortest(d);
    if (text.find_first_of(".e") == std::string::npos) continue;  // integral: an integer
    const std::string body =
        R"j({"columns": ["x"], "rows": [[)j" + text + R"j(]], "stats": {}})j";
    auto csv = FormatTable(body, OutputFormat::kCsv);
    ASSERT_TRUE(csv) << csv.error().ToString();
    ASSERT_EQ(csv.value(), "x\n" + text + "\n");
    ++checked;
  }
  EXPECT_GT(checked, 10'000u);
}

}  // namespace
}  // namespace canvoy::fleet_store
