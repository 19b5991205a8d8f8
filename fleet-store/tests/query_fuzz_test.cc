// Damaged query documents: the 12 TSBS examples and the documents of QUERIES.md's kinds, cut,
// with bytes flipped, inserted or swapped for JSON punctuation, run against a small fleet. Each
// must give an answer or a clear 400 (kInvalidArgument or kParse, a message that names what is
// wrong), never a crash, a hang, another error kind, or a sanitizer report.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "canvoy/fleet_store/query.h"
#include "fake_store_view.h"

namespace canvoy::fleet_store {
namespace {

using test_support::FakeStoreView;
using test_support::TestVin;

constexpr std::int64_t kT0 = 1'699'920'000'000'000;
constexpr std::int64_t kMinute = 60'000'000;

FakeStoreView SmallFleet() {
  FakeStoreView view;
  const char* fleets[] = {"North", "South"};
  for (int v = 0; v < 6; ++v) {
    view.AddVehicle(TestVin(v), {{"name", "truck_" + std::to_string(v)},
                                 {"fleet", fleets[v % 2]},
                                 {"model", v % 3 == 0 ? "F-150" : "H-2"},
                                 {"driver", "D" + std::to_string(v)},
                                 {"load_capacity", "1500"},
                                 {"nominal_fuel_consumption", "12"}});
    for (int i = 0; i < 200; ++i) {
      const std::int64_t t = kT0 + i * kMinute / 6;
      view.AddSample(TestVin(v), "velocity", t, static_cast<double>((i * 7 + v) % 40));
      view.AddSample(TestVin(v), "fuel_consumption", t, 10.0 + (i % 5));
      view.AddSample(TestVin(v), "status", t, static_cast<std::int64_t>(i % 3));
      view.AddSample(TestVin(v), "current_load", t, static_cast<double>(i % 1500));
      if (i % 50 == 0) view.AddSample(TestVin(v), "gear", t, std::string("D"));
    }
  }
  return view;
}

std::vector<std::string> Documents() {
  std::vector<std::string> out;
  const std::filesystem::path dir = std::string(CANVOY_FLEET_STORE_EXAMPLES) + "/tsbs";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto document = SubstituteParams(text.str(), {{"fleet", "\"North\""},
                                                  {"from_us", std::to_string(kT0)},
                                                  {"to_us", std::to_string(kT0 + 40 * kMinute)}});
    EXPECT_TRUE(document) << file;
    if (document) out.push_back(std::move(document).value());
  }
  out.push_back(R"j({"vehicles": {"vins": [")j" + TestVin(1).str() +
                R"j("]}, "source": {"samples": ["velocity"], "from_us": 0}, "limit": 7})j");
  out.push_back(R"j({"source": {"samples": ["velocity", "gear"]}, "steps": [{"compute":
      {"k": "velocity * 3.6"}}, {"filter": "k > 10 or gear == 'D'"}]})j");
  out.push_back(R"j({"source": {"latest": ["velocity", "gear"]}, "attributes": ["name"]})j");
  out.push_back(R"j({"source": {"samples": ["status"]}, "steps": [{"bucket": {"width": "5m",
      "aggs": {"a": "avg(status)", "f": "first(status)", "m": "max(status)"}}},
      {"runs": {"when": "a > 0.5"}}], "group": {"by": ["model"], "time": true,
      "aggs": {"n": "count()"}}})j");
  return out;
}

TEST(QueryFuzzTest, DamagedDocumentsGetAnAnswerOrANamedError) {
  const FakeStoreView view = SmallFleet();
  const auto documents = Documents();
  ASSERT_GE(documents.size(), 16u);
  QueryLimits limits;
  limits.threads = 2;
  limits.max_groups = 10'000;
  for (const auto& doc : documents) {  // undamaged, each is answered
    auto answer = RunQuery(view, doc, limits);
    ASSERT_TRUE(answer) << answer.error().ToString() << "\n" << doc;
  }
  std::mt19937_64 rng(20261126);
  const std::string punctuation = "{}[]:,\"\\ 0-.e$";
  std::size_t answered = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string doc = documents[static_cast<std::size_t>(round) % documents.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const std::size_t at = rng() % doc.size();
      switch (rng() % 5) {
        case 0:
          doc.resize(at);
          break;
        case 1:
          doc[at] = static_cast<char>(rng());
          break;
        case 2:
          doc.insert(at, 1, punctuation[rng() % punctuation.size()]);
          break;
        case 3:
          doc[at] = punctuation[rng() % punctuation.size()];
          break;
        default:
          doc.erase(at, 1 + rng() % 8);
      }
    }
    auto answer = RunQuery(view, doc, limits);
    if (answer) {
      ++answered;
      continue;
    }
    ++refused;
    const Error& error = answer.error();
    ASSERT_TRUE(error.code() == Errc::kInvalidArgument || error.code() == Errc::kParse)
        << "round " << round << ": " << error.ToString() << "\n" << doc;
    EXPECT_FALSE(error.message().empty()) << "round " << round;
  }
  // Both outcomes happen, so the damage is neither always fatal nor always harmless.
  EXPECT_GT(answered, 100u);
  EXPECT_GT(refused, 1000u);
}

}  // namespace
}  // namespace canvoy::fleet_store
