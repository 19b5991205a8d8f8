// Grouped queries over joined signals: the rows a source folds where they lie (no steps, or a
// filter of `signal op number` conjuncts) give the answer of the rows built and pushed through
// the steps, to the last bit, whatever the types, ties, gaps and NaN samples.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "canvoy/fleet_store/query.h"
#include "fake_store_view.h"

namespace canvoy::fleet_store {
namespace {

using test_support::FakeStoreView;
using test_support::TestVin;
namespace json = boost::json;

constexpr std::int64_t kMinute = 60'000'000;
constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z

std::string Answer(const StoreView& view, const std::string& document, unsigned threads) {
  QueryLimits limits;
  limits.threads = threads;
  auto answer = RunQuery(view, document, limits);
  EXPECT_TRUE(answer) << (answer ? "" : answer.error().ToString()) << "\n" << document;
  if (!answer) return "";
  return json::serialize(json::parse(answer.value().body).at("rows"));
}

// Three signals of one random kind each (decimal doubles, integers, bools, strings, doubles
// with NaN, integers past 2^52 whose sums round), read every 10 minutes with a quarter of the
// readings missing, some twice at one timestamp, in hours of zeros, of anything, or of 3 and 4.
void AddVehicles(FakeStoreView& view, std::mt19937_64& rng) {
  const char* fleets[] = {"North", "South", "East"};
  for (int vehicle = 1; vehicle <= 9; ++vehicle) {
    const Vin v = TestVin(vehicle);
    Attributes attributes{{"fleet", fleets[vehicle % 3]}, {"cap", std::to_string(vehicle * 50)}};
    if (vehicle % 4 == 0) attributes["label"] = "heavy";
    view.AddVehicle(v, attributes);
    for (const char* signal : {"a", "b", "c"}) {
      const int kind = static_cast<int>(rng() % 6);
      std::uint64_t regime = 0;
      for (int i = 0; i < 400; ++i) {
        if (i % 6 == 0) regime = rng() % 3;
        if (rng() % 4 == 0) continue;
        const std::int64_t t = kT0 + i * 10 * kMinute;
        const int repeats = rng() % 10 == 0 ? 2 + static_cast<int>(rng() % 2) : 1;
        for (int r = 0; r < repeats; ++r) {
          const auto x = static_cast<std::int64_t>(regime == 0   ? 0
                                                   : regime == 1 ? rng() % 5
                                                                 : 3 + rng() % 2);
          if (kind == 0) view.AddSample(v, signal, t, static_cast<double>(x) * 0.1);
          if (kind == 1) view.AddSample(v, signal, t, x);
          if (kind == 2) view.AddSample(v, signal, t, x % 2 == 0);
          if (kind == 3) view.AddSample(v, signal, t, std::to_string(x));
          if (kind == 4) {
            view.AddSample(v, signal, t,
                           rng() % 3 == 0 ? std::numeric_limits<double>::quiet_NaN()
                                          : static_cast<double>(x) / 3);
          }
          if (kind == 5) view.AddSample(v, signal, t, (std::int64_t{1} << 52) + x * 1001);
        }
      }
    }
  }
}

TEST(GroupQueryTest, JoinedRowsFoldedWhereTheyLieGiveTheAnswerOfTheRowsBuilt) {
  std::mt19937_64 rng(20261127);
  // Filters the source decides alone (the rows may be folded where they lie), or "" for none.
  const char* filters[] = {"",       "a > 0.2",         "1 < a", "a >= 3 and b < 2",
                           "b == 1", "a <= 1 and 4 > b"};
  // Every kind of call, folded from the joined rows' positions; and calls that keep only a sum
  // and a count (one or two of them, a string attribute folding nothing), folded as the merge
  // meets each pair.
  const std::vector<std::string> aggs_sets = {
      R"j("aggs": {"n": "count()", "avg": "avg(a)", "sum": "sum(b)", "lo": "min(a)",
          "hi": "max(b)", "first": "first(a)", "last": "last(b)", "count": "count(a)",
          "cap": "avg(attr.cap)", "capsum": "sum(attr.cap / 7)", "label": "avg(attr.label)",
          "caplo": "min(attr.cap)", "labels": "count(attr.label)", "vins": "count(vin)"})j",
      R"j("aggs": {"avg": "avg(a)", "cap": "avg(attr.cap)"})j",
      R"j("aggs": {"n": "count()", "s": "sum(b) / 3"})j",
      R"j("aggs": {"label": "avg(attr.label)", "s": "sum(a) + sum(attr.cap / 7)"})j",
      R"j("aggs": {"s": "sum(b)"})j"};
  int compared = 0;
  int nonempty = 0;
  for (int round = 0; round < 12; ++round) {
    FakeStoreView view;
    AddVehicles(view, rng);
    for (const std::string filter : filters) {
      for (const char* signals : {R"j(["a", "b"])j", R"j(["b", "a"])j"}) {
        const std::string head = std::string(R"j({"source": {"samples": )j") + signals + "}, ";
        const std::string& aggs = aggs_sets[(compared / 2) % aggs_sets.size()];
        const std::string group = R"j("group": {"by": ["fleet"], )j" + aggs + "}}";
        // Folded where they lie: no step, or a filter of source predicates alone.
        const std::string folded =
            head + (filter.empty() ? "" : R"j("steps": [{"filter": ")j" + filter + "\"}], ") +
            group;
        // Built and pushed: a filter the source cannot decide alone keeps the rows as rows.
        const std::string built =
            head + R"j("steps": [{"filter": ")j" +
            (filter.empty() ? std::string("1 < 2") : "(" + filter + ") or 1 > 2") + "\"}], " +
            group;
        const std::string expected = Answer(view, built, 1);
        ASSERT_EQ(Answer(view, folded, 1), expected) << "round " << round << ": " << folded;
        for (unsigned threads : {2u, 3u}) {
          ASSERT_EQ(Answer(view, folded, threads), expected) << threads << " threads: " << folded;
          ASSERT_EQ(Answer(view, built, threads), expected) << threads << " threads: " << built;
        }
        compared += 1;
        nonempty += expected != "[]" ? 1 : 0;
      }
    }
  }
  EXPECT_GT(nonempty, compared * 3 / 4);  // mostly groups of rows, not of nothing
}

TEST(GroupQueryTest, FoldedRowsHonourTheGroupBound) {
  FakeStoreView view;
  for (int v = 0; v < 5; ++v) {
    view.AddVehicle(TestVin(v), {{"fleet", "F" + std::to_string(v % 3)}});
    for (int i = 0; i < 10; ++i) {
      view.AddSample(TestVin(v), "a", kT0 + i * kMinute, 1.0 * i);
      view.AddSample(TestVin(v), "b", kT0 + i * kMinute, 2.0 * i);
    }
  }
  const std::string document = R"j({"source": {"samples": ["a", "b"]},
      "steps": [{"filter": "a > 4"}], "group": {"by": ["fleet"], "aggs": {"s": "sum(b)"}}})j";
  for (const unsigned threads : {1u, 2u}) {
    QueryLimits limits;
    limits.threads = threads;
    limits.max_groups = 3;
    auto answer = RunQuery(view, document, limits);
    ASSERT_TRUE(answer) << answer.error().ToString();
    EXPECT_EQ(json::serialize(json::parse(answer.value().body).at("rows")),
              R"j([["F0",1.4E2],["F1",1.4E2],["F2",7E1]])j");
    limits.max_groups = 2;
    auto refused = RunQuery(view, document, limits);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(),
              "group: more than 2 groups (each time bucket counts); group by fewer attributes "
              "or use wider time buckets");
  }
}

}  // namespace
}  // namespace canvoy::fleet_store
