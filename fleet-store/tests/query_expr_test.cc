// Expressions: every operator, null handling, attributes, and errors that name the position.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "canvoy/fleet_store/query.h"
#include "fake_store_view.h"

namespace canvoy::fleet_store {
namespace {

using test_support::FakeStoreView;
using test_support::TestVin;
using ::testing::HasSubstr;
namespace json = boost::json;

constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z

class QueryExprTest : public ::testing::Test {
 protected:
  void SetUp() override {
    view_.AddVehicle(TestVin(0), {{"fleet", "South"}, {"cap", "1500"}, {"name", "Truck 1"}});
    view_.AddSample(TestVin(0), "x", kT0 + 5, 6.0);
    view_.AddSample(TestVin(0), "y", kT0 + 1, std::int64_t{3});
    view_.AddSample(TestVin(0), "s", kT0 + 2, std::string("ab"));
  }

  // Runs `steps` over the latest values x = 6.0, y = 3 (int64), s = 'ab' and n (never sent).
  Result<QueryAnswer> Query(const std::string& steps) const {
    return RunQuery(view_,
                    R"j({"source": {"latest": ["x", "y", "s", "n"]}, "steps": )j" + steps + "}",
                    QueryLimits{});
  }

  // The value `expr` computes for that row.
  json::value Compute(const std::string& expr) const {
    json::object compute{{"c", expr}};
    auto answer = Query(json::serialize(json::array{json::object{{"compute", compute}}}));
    EXPECT_TRUE(answer) << expr << ": " << (answer ? "" : answer.error().ToString());
    if (!answer) return "query failed";
    const auto result = json::parse(answer.value().body).as_object();
    EXPECT_EQ(result.at("columns").as_array().back(), "c");
    return result.at("rows").as_array().at(0).as_array().back();
  }

  std::string ErrorOf(const std::string& steps) const {
    auto answer = Query(steps);
    EXPECT_FALSE(answer) << steps;
    return answer ? "" : answer.error().message();
  }

  FakeStoreView view_;
};

TEST_F(QueryExprTest, ArithmeticFollowsPrecedenceAndLeftAssociativity) {
  EXPECT_EQ(Compute("x + y"), json::value(9.0));
  EXPECT_EQ(Compute("x - y"), json::value(3.0));
  EXPECT_EQ(Compute("x * y"), json::value(18.0));
  EXPECT_EQ(Compute("x / y"), json::value(2.0));
  EXPECT_EQ(Compute("-x"), json::value(-6.0));
  EXPECT_EQ(Compute("- -x"), json::value(6.0));
  EXPECT_EQ(Compute("x + y * 2"), json::value(12.0));
  EXPECT_EQ(Compute("(x + y) * 2"), json::value(18.0));
  EXPECT_EQ(Compute("x - y - 1"), json::value(2.0));
  EXPECT_EQ(Compute("12 / y / 2"), json::value(2.0));
  EXPECT_EQ(Compute("1e3 + .5"), json::value(1000.5));
  EXPECT_EQ(Compute("t - 1699920000000000"), json::value(5.0));  // t: the newest value's
}

TEST_F(QueryExprTest, FunctionsAbsMinMax) {
  EXPECT_EQ(Compute("abs(y - x)"), json::value(3.0));
  EXPECT_EQ(Compute("abs(-2.5)"), json::value(2.5));
  EXPECT_EQ(Compute("min(x, y)"), json::value(3.0));
  EXPECT_EQ(Compute("max(x, y)"), json::value(6.0));
  EXPECT_EQ(Compute("min(x, n)"), json::value(nullptr));
}

TEST_F(QueryExprTest, ComparisonsAndLogicGiveBooleans) {
  EXPECT_EQ(Compute("x < y"), json::value(false));
  EXPECT_EQ(Compute("x <= 6"), json::value(true));
  EXPECT_EQ(Compute("x > y"), json::value(true));
  EXPECT_EQ(Compute("x >= 7"), json::value(false));
  EXPECT_EQ(Compute("x == 6"), json::value(true));
  EXPECT_EQ(Compute("x != 6"), json::value(false));
  EXPECT_EQ(Compute("x != 7"), json::value(true));
  EXPECT_EQ(Compute("x > 1 and y > 1"), json::value(true));
  EXPECT_EQ(Compute("x > 7 or y > 1"), json::value(true));
  EXPECT_EQ(Compute("x > 7 or y > 5"), json::value(false));
  EXPECT_EQ(Compute("not x > 7"), json::value(true));
  EXPECT_EQ(Compute("x / y > 1.5"), json::value(true));
  EXPECT_EQ(Compute("true"), json::value(true));
}

TEST_F(QueryExprTest, NullPropagatesThroughArithmeticAndComparesFalse) {
  EXPECT_EQ(Compute("n"), json::value(nullptr));
  EXPECT_EQ(Compute("null"), json::value(nullptr));
  EXPECT_EQ(Compute("n + 1"), json::value(nullptr));
  EXPECT_EQ(Compute("n * 0"), json::value(nullptr));
  EXPECT_EQ(Compute("x / 0"), json::value(nullptr));
  EXPECT_EQ(Compute("n < 1"), json::value(false));
  EXPECT_EQ(Compute("n >= 1"), json::value(false));
  EXPECT_EQ(Compute("n == n"), json::value(false));
  EXPECT_EQ(Compute("n != 1"), json::value(false));
  EXPECT_EQ(Compute("1 / 0 == null"), json::value(false));
  // In logic, null is false.
  EXPECT_EQ(Compute("not n"), json::value(true));
  EXPECT_EQ(Compute("n or x"), json::value(true));
  EXPECT_EQ(Compute("n and x"), json::value(false));
}

TEST_F(QueryExprTest, StringsCompareAndAreNullInArithmetic) {
  EXPECT_EQ(Compute("s"), json::value("ab"));
  EXPECT_EQ(Compute("s == 'ab'"), json::value(true));
  EXPECT_EQ(Compute("s < 'b'"), json::value(true));
  EXPECT_EQ(Compute("s + 1"), json::value(nullptr));
  EXPECT_EQ(Compute("'it''s'"), json::value("it's"));
}

TEST_F(QueryExprTest, AttributesAreNumbersWhenTheyParseAsOne) {
  EXPECT_EQ(Compute("attr.cap / 2"), json::value(750.0));
  EXPECT_EQ(Compute("attr.cap == '1500'"), json::value(true));  // a number meets a string: text
  EXPECT_EQ(Compute("attr.fleet"), json::value("South"));
  EXPECT_EQ(Compute("attr.fleet == 'South'"), json::value(true));
  EXPECT_EQ(Compute("attr.name"), json::value("Truck 1"));
  EXPECT_EQ(Compute("attr.missing"), json::value(nullptr));
  EXPECT_EQ(Compute("vin == '" + TestVin(0).str() + "'"), json::value(true));
}

TEST_F(QueryExprTest, CopiedIntegerColumnStaysExact) {
  const auto y = Compute("y");
  ASSERT_TRUE(y.is_int64()) << json::serialize(y);
  EXPECT_EQ(y.as_int64(), 3);
}

TEST_F(QueryExprTest, ErrorsNameTheStepAndThePosition) {
  EXPECT_EQ(ErrorOf(R"j([{"compute": {"a": "x"}}, {"filter": "abs(velocty) > 1"}])j"),
            "steps[1].filter: at 5: unknown column 'velocty' (columns: t, x, y, s, n, a)");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "x +"}])j"),
            "steps[0].filter: at 4: expected a value, found end of expression");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "x = 1"}])j"),
            "steps[0].filter: at 3: '=' is not an operator; compare with '=='");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "s == 'abc"}])j"),
            "steps[0].filter: at 6: unterminated string");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "(x + 1"}])j"),
            "steps[0].filter: at 7: expected ')', found end of expression");
  EXPECT_THAT(ErrorOf(R"j([{"filter": "foo(x)"}])j"),
              HasSubstr("steps[0].filter: at 1: unknown function 'foo'"));
  EXPECT_EQ(ErrorOf(R"j([{"filter": "abs(x, y)"}])j"),
            "steps[0].filter: at 1: 'abs' takes 1 argument, not 2");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "x < y < 3"}])j"),
            "steps[0].filter: at 7: comparisons do not chain; use 'and'");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "x # 1"}])j"),
            "steps[0].filter: at 3: unexpected character '#'");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "x && y"}])j"),
            "steps[0].filter: at 3: use 'and', 'or' and 'not'");
  EXPECT_EQ(ErrorOf(R"j([{"filter": "1x > 0"}])j"), "steps[0].filter: at 1: malformed number");
  EXPECT_EQ(ErrorOf(R"j([{"compute": {"c": "x and"}}])j"),
            "steps[0].compute.c: at 6: expected a value, found end of expression");
}

TEST_F(QueryExprTest, AggregatesAreRefusedOrCheckedWhereTheyAppear) {
  EXPECT_EQ(ErrorOf(R"j([{"filter": "avg(x) > 1"}])j"),
            "steps[0].filter: at 1: aggregate 'avg' is allowed only in bucket and group aggs");
  EXPECT_EQ(ErrorOf(R"j([{"bucket": {"width": "1m", "aggs": {"v": "x + 1"}}}])j"),
            "steps[0].bucket.aggs.v: at 1: column 'x' outside an aggregate call; aggregate it, "
            "e.g. avg(x)");
  EXPECT_EQ(ErrorOf(R"j([{"bucket": {"width": "1m", "aggs": {"v": "avg(max(x))"}}}])j"),
            "steps[0].bucket.aggs.v: at 5: aggregate calls do not nest");
  EXPECT_EQ(ErrorOf(R"j([{"bucket": {"width": "1m", "aggs": {"v": "count(x, y)"}}}])j"),
            "steps[0].bucket.aggs.v: at 1: 'count' takes zero or one argument, not 2");
  EXPECT_EQ(ErrorOf(R"j([{"bucket": {"width": "1m", "aggs": {"v": "avg()"}}}])j"),
            "steps[0].bucket.aggs.v: at 1: 'avg' takes 1 argument, not 0");
  auto group = [this](const std::string& agg, const std::string& extra = "") {
    auto answer = RunQuery(view_,
                           R"j({"source": {"latest": ["x"]}, "group": {"by": ["fleet"], )j" +
                               extra + R"j("aggs": {"v": ")j" + agg + R"j("}}})j",
                           QueryLimits{});
    return answer ? std::string() : answer.error().message();
  };
  EXPECT_THAT(group("attr.cap + avg(x)"),
              HasSubstr("group.aggs.v: at 1: 'attr.cap' outside an aggregate call varies"));
  EXPECT_EQ(group("t"), "group.aggs.v: at 1: 't' is not a group value without \"time\": true");
  EXPECT_EQ(group("t", R"j("time": true, )j"), "");
  EXPECT_EQ(group("avg(attr.cap) + max(t)"), "");
}

TEST_F(QueryExprTest, DeepNestingAndLongExpressionsAreRefused) {
  const std::string deep = std::string(200, '(') + "1" + std::string(200, ')');
  EXPECT_THAT(ErrorOf(R"j([{"filter": ")j" + deep + R"j("}])j"), HasSubstr("nested too deeply"));
  std::string longer = "1";
  while (longer.size() <= 4096) longer += " + 1";
  EXPECT_THAT(ErrorOf(R"j([{"filter": ")j" + longer + R"j("}])j"),
              HasSubstr("characters; at most 4096 are allowed"));
}

}  // namespace
}  // namespace canvoy::fleet_store
