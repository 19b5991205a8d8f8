// The twelve TSBS IoT queries (examples/tsbs/*.json) on a small generated truck fleet, each
// checked against a brute-force computation written here from the raw rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "canvoy/fleet_store/query.h"
#include "fake_store_view.h"

namespace canvoy::fleet_store {
namespace {

using test_support::FakeStoreView;
using test_support::TestVin;
namespace json = boost::json;

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kTen = 600 * kSecond;
constexpr std::int64_t kHour = 3600 * kSecond;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kT0 = 1'699'920'000'000'000;  // 2023-11-14T00:00:00Z
constexpr std::int64_t kStart = kT0 - 2 * kHour;
constexpr std::int64_t kEnd = kT0 + 26 * kHour;
constexpr std::int64_t kNow = kEnd - 7 * 60 * kSecond - 13 * kSecond;
constexpr int kTrucks = 9;

struct Series {
  std::vector<std::int64_t> t;
  std::vector<double> v;
};

struct Truck {
  Vin vin;
  Attributes attributes;
  std::map<std::string, Series> signals;

  const std::string* Attr(const std::string& name) const {
    auto it = attributes.find(name);
    return it == attributes.end() ? nullptr : &it->second;
  }
  bool Named() const { return Attr("name") != nullptr && !Attr("name")->empty(); }
};

using Row = std::vector<json::value>;

class QueryTsbsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    trucks_ = new std::vector<Truck>();
    view_ = new FakeStoreView();
    std::mt19937_64 random(42);
    auto uniform = [&random] { return static_cast<double>(random() % 1'000'000) / 1e6; };
    const char* models[] = {"F-150", "G-2000", "H-2"};
    const char* capacities[] = {"1500", "2000", "5000"};
    const char* nominal[] = {"15", "20", "25"};
    for (int i = 0; i < kTrucks; ++i) {
      Truck truck{TestVin(i), {}, {}};
      if (i != 4) truck.attributes["name"] = i == 7 ? "" : "truck_" + std::to_string(i);
      truck.attributes["fleet"] = i % 2 == 0 ? "South" : "North";
      truck.attributes["driver"] = "driver_" + std::to_string(i);
      truck.attributes["model"] = models[i % 3];
      truck.attributes["device_version"] = "v1.0";
      truck.attributes["load_capacity"] = capacities[(i / 2) % 3];
      truck.attributes["fuel_capacity"] = "200";
      truck.attributes["nominal_fuel_consumption"] = nominal[i % 3];
      const double drive = 0.2 + 0.1 * i;
      const double capacity = std::stod(capacities[(i / 2) % 3]);
      bool driving = false;
      bool broken = false;
      auto add = [&](const std::string& signal, std::int64_t t, double v) {
        truck.signals[signal].t.push_back(t);
        truck.signals[signal].v.push_back(v);
      };
      for (std::int64_t t = kStart + i * kSecond; t < kEnd; t += 30 * kSecond) {
        if ((t - kStart) % kTen < 30 * kSecond) {  // a new ten-minute segment
          driving = uniform() < drive;
          if (i % 4 == 1 && t >= kEnd - 3 * kTen) driving = false;  // parked for the last 30 min
          broken = uniform() < 0.15;
        }
        if (uniform() < 0.02) continue;  // the truck sent nothing
        if (uniform() < 0.98) add("velocity", t, driving ? 5 + uniform() * 70 : uniform() * 0.8);
        if (uniform() < 0.97) add("fuel_consumption", t, 10 + uniform() * 20);
        add("latitude", t, uniform() * 90);
        if (uniform() < 0.9) add("longitude", t, uniform() * 180);
        add("fuel_state", t, uniform());
        add("current_load", t, uniform() * capacity);
        const bool zero = broken ? uniform() < 0.8 : uniform() < 0.05;
        add("status", t, zero ? 0 : static_cast<double>(1 + random() % 4));
      }
      // The newest values decide the latest-value queries.
      if (i % 3 == 0) truck.signals["fuel_state"].v.back() = 0.05;
      if (i % 4 == 0) truck.signals["current_load"].v.back() = 0.95 * capacity;
      view_->AddVehicle(truck.vin, truck.attributes);
      for (const auto& [name, series] : truck.signals) {
        for (std::size_t k = 0; k < series.t.size(); ++k) {
          if (name == "status") {
            view_->AddSample(truck.vin, name, series.t[k], static_cast<std::int64_t>(series.v[k]));
          } else {
            view_->AddSample(truck.vin, name, series.t[k], series.v[k]);
          }
        }
      }
      trucks_->push_back(std::move(truck));
    }
  }
  static void TearDownTestSuite() {
    delete view_;
    delete trucks_;
  }

  // The body without stats.elapsed_us and stats.threads.
  static json::value Timeless(const std::string& body) {
    json::value v = json::parse(body);
    v.as_object().at("stats").as_object().erase("elapsed_us");
    v.as_object().at("stats").as_object().erase("threads");
    return v;
  }

  static json::object Run(const std::string& file, const std::string& fleet, std::int64_t from,
                          std::int64_t to) {
    std::ifstream in(std::string(CANVOY_FLEET_STORE_EXAMPLES) + "/tsbs/" + file);
    EXPECT_TRUE(in) << file;
    std::stringstream text;
    text << in.rdbuf();
    auto document = SubstituteParams(
        text.str(),
        {{"fleet", fleet}, {"from_us", std::to_string(from)}, {"to_us", std::to_string(to)}});
    EXPECT_TRUE(document) << file << ": " << document.error().ToString();
    if (!document) return {};
    auto answer = RunQuery(*view_, document.value(), QueryLimits{});
    EXPECT_TRUE(answer) << file << ": " << answer.error().ToString();
    if (!answer) return {};
    QueryLimits parallel;  // two threads give the same answer
    parallel.threads = 2;
    auto again = RunQuery(*view_, document.value(), parallel);
    EXPECT_TRUE(again) << file << ": " << again.error().ToString();
    if (again) {
      EXPECT_EQ(Timeless(again.value().body), Timeless(answer.value().body)) << file;
    }
    return json::parse(answer.value().body).as_object();
  }

  static void Expect(const json::object& answer, const std::vector<std::string>& columns,
                     const std::vector<Row>& expected) {
    ASSERT_FALSE(answer.empty());
    json::array names;
    for (const auto& c : columns) names.push_back(json::string(c));
    EXPECT_EQ(answer.at("columns"), json::value(names));
    const auto& rows = answer.at("rows").as_array();
    ASSERT_EQ(rows.size(), expected.size()) << json::serialize(rows);
    ASSERT_FALSE(expected.empty()) << "the data should give rows";
    for (std::size_t r = 0; r < rows.size(); ++r) {
      for (std::size_t c = 0; c < expected[r].size(); ++c) {
        const auto& got = rows[r].at(c);
        const auto& want = expected[r][c];
        if (want.is_double()) {
          ASSERT_TRUE(got.is_double()) << "row " << r << " column " << columns[c];
          EXPECT_NEAR(got.as_double(), want.as_double(),
                      1e-9 * std::max(1.0, std::fabs(want.as_double())))
              << "row " << r << " column " << columns[c];
        } else {
          EXPECT_EQ(got, want) << "row " << r << " column " << columns[c];
        }
      }
    }
  }

  static json::value Attr(const Truck& truck, const std::string& name) {
    const auto* value = truck.Attr(name);
    return value ? json::value(*value) : json::value(nullptr);
  }

  // The newest sample of a signal (no two share a timestamp in this data).
  static std::optional<std::pair<std::int64_t, double>> Latest(const Truck& truck,
                                                               const std::string& signal) {
    auto it = truck.signals.find(signal);
    if (it == truck.signals.end() || it->second.t.empty()) return std::nullopt;
    return std::make_pair(it->second.t.back(), it->second.v.back());
  }

  // Ten-minute buckets (by start) of a signal in [from, to): the average of f(value).
  template <class F>
  static std::map<std::int64_t, double> TenMinuteAverages(const Truck& truck,
                                                          const std::string& signal,
                                                          std::int64_t from, std::int64_t to, F f) {
    std::map<std::int64_t, std::pair<double, int>> sums;
    const auto& s = truck.signals.at(signal);
    for (std::size_t k = 0; k < s.t.size(); ++k) {
      if (s.t[k] < from || s.t[k] >= to) continue;
      auto& [sum, n] = sums[s.t[k] / kTen * kTen];
      sum += f(s.v[k]);
      ++n;
    }
    std::map<std::int64_t, double> out;
    for (const auto& [start, sn] : sums) out[start] = sn.first / sn.second;
    return out;
  }

  static std::vector<const Truck*> Named(const std::string& fleet = "") {
    std::vector<const Truck*> out;
    for (const auto& t : *trucks_) {
      if (t.Named() && (fleet.empty() || *t.Attr("fleet") == fleet)) out.push_back(&t);
    }
    return out;
  }

  static constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  static std::vector<Truck>* trucks_;
  static FakeStoreView* view_;
};

std::vector<Truck>* QueryTsbsTest::trucks_ = nullptr;
FakeStoreView* QueryTsbsTest::view_ = nullptr;

double Identity(double v) { return v; }

TEST_F(QueryTsbsTest, LastLoc) {
  std::vector<Row> expected;
  for (const auto* truck : Named("South")) {
    auto lat = Latest(*truck, "latitude");
    auto lon = Latest(*truck, "longitude");
    if (!lat && !lon) continue;
    const std::int64_t t = std::max(lat ? lat->first : kMin, lon ? lon->first : kMin);
    expected.push_back({json::value(truck->vin.str()), Attr(*truck, "name"), Attr(*truck, "driver"),
                        json::value(t), lat ? json::value(lat->second) : json::value(nullptr),
                        lon ? json::value(lon->second) : json::value(nullptr)});
  }
  Expect(Run("01-last-loc.json", "South", 0, 0),
         {"vin", "name", "driver", "t", "latitude", "longitude"}, expected);
}

TEST_F(QueryTsbsTest, LowFuel) {
  std::vector<Row> expected;
  for (const auto* truck : Named("South")) {
    auto fuel = Latest(*truck, "fuel_state");
    if (!fuel || !(fuel->second < 0.1)) continue;
    expected.push_back({json::value(truck->vin.str()), Attr(*truck, "name"), Attr(*truck, "driver"),
                        json::value(fuel->first), json::value(fuel->second)});
  }
  Expect(Run("02-low-fuel.json", "South", 0, 0), {"vin", "name", "driver", "t", "fuel_state"},
         expected);
}

TEST_F(QueryTsbsTest, HighLoad) {
  std::vector<Row> expected;
  for (const auto* truck : Named("South")) {
    auto load = Latest(*truck, "current_load");
    if (!load || !(load->second / std::stod(*truck->Attr("load_capacity")) >= 0.9)) continue;
    expected.push_back({json::value(truck->vin.str()), Attr(*truck, "name"), Attr(*truck, "driver"),
                        Attr(*truck, "load_capacity"), json::value(load->first),
                        json::value(load->second)});
  }
  Expect(Run("03-high-load.json", "South", 0, 0),
         {"vin", "name", "driver", "load_capacity", "t", "current_load"}, expected);
}

TEST_F(QueryTsbsTest, StationaryTrucks) {
  const std::int64_t from = kNow - kTen;
  std::vector<Row> expected;
  for (const auto* truck : Named("North")) {
    double sum = 0;
    int n = 0;
    const auto& s = truck->signals.at("velocity");
    for (std::size_t k = 0; k < s.t.size(); ++k) {
      if (s.t[k] >= from && s.t[k] < kNow) {
        sum += s.v[k];
        ++n;
      }
    }
    if (n == 0 || !(sum / n < 1)) continue;
    expected.push_back({json::value(truck->vin.str()), Attr(*truck, "name"), Attr(*truck, "driver"),
                        json::value(from), json::value(sum / n)});
  }
  Expect(Run("04-stationary-trucks.json", "North", from, kNow), {"vin", "name", "driver", "t", "v"},
         expected);
}

// Trucks of `fleet` with more than `threshold` ten-minute buckets averaging over 1 in [from, now).
std::vector<Row> DrivingSessions(const std::vector<const Truck*>& trucks, std::int64_t from,
                                 int threshold) {
  std::vector<Row> expected;
  for (const auto* truck : trucks) {
    int n = 0;
    const auto& s = truck->signals.at("velocity");
    std::map<std::int64_t, std::pair<double, int>> buckets;
    for (std::size_t k = 0; k < s.t.size(); ++k) {
      if (s.t[k] < from || s.t[k] >= kNow) continue;
      buckets[s.t[k] / kTen].first += s.v[k];
      ++buckets[s.t[k] / kTen].second;
    }
    for (const auto& [b, sn] : buckets) n += sn.first / sn.second > 1;
    if (n == 0 || n <= threshold) continue;
    expected.push_back({json::value(truck->vin.str()), json::value(*truck->Attr("name")),
                        json::value(*truck->Attr("driver")), json::value(from),
                        json::value(static_cast<double>(n))});
  }
  return expected;
}

TEST_F(QueryTsbsTest, LongDrivingSessions) {
  Expect(Run("05-long-driving-sessions.json", "South", kNow - 4 * kHour, kNow),
         {"vin", "name", "driver", "t", "n"},
         DrivingSessions(Named("South"), kNow - 4 * kHour, 22));
}

TEST_F(QueryTsbsTest, LongDailySessions) {
  Expect(Run("06-long-daily-sessions.json", "North", kNow - kDay, kNow),
         {"vin", "name", "driver", "t", "n"}, DrivingSessions(Named("North"), kNow - kDay, 60));
}

TEST_F(QueryTsbsTest, AvgVsProjectedFuelConsumption) {
  std::map<std::string, std::tuple<double, double, int>> fleets;  // fuel, nominal, rows
  for (const auto* truck : Named()) {
    const auto& fuel = truck->signals.at("fuel_consumption");
    const auto& velocity = truck->signals.at("velocity");
    std::map<std::int64_t, double> v;
    for (std::size_t k = 0; k < velocity.t.size(); ++k) v[velocity.t[k]] = velocity.v[k];
    for (std::size_t k = 0; k < fuel.t.size(); ++k) {
      auto it = v.find(fuel.t[k]);
      if (it == v.end() || !(it->second > 1)) continue;
      auto& [f, nominal, n] = fleets[*truck->Attr("fleet")];
      f += fuel.v[k];
      nominal += std::stod(*truck->Attr("nominal_fuel_consumption"));
      ++n;
    }
  }
  std::vector<Row> expected;
  for (const auto& [fleet, sums] : fleets) {
    const auto& [f, nominal, n] = sums;
    expected.push_back({json::value(fleet), json::value(f / n), json::value(nominal / n)});
  }
  Expect(Run("07-avg-vs-projected-fuel-consumption.json", "", 0, 0),
         {"fleet", "avg_fuel_consumption", "projected_fuel_consumption"}, expected);
}

TEST_F(QueryTsbsTest, AvgDailyDrivingDuration) {
  std::vector<Row> expected;
  for (const auto* truck : Named()) {
    std::map<std::int64_t, int> days;
    for (const auto& [start, v] : TenMinuteAverages(*truck, "velocity", kMin, kMax, Identity)) {
      if (v > 1) ++days[start / kDay * kDay];
    }
    for (const auto& [day, n] : days) {
      expected.push_back({json::value(truck->vin.str()), Attr(*truck, "name"),
                          Attr(*truck, "fleet"), Attr(*truck, "driver"), json::value(day),
                          json::value(n / 6.0)});
    }
  }
  Expect(Run("08-avg-daily-driving-duration.json", "", 0, 0),
         {"vin", "name", "fleet", "driver", "t", "hours"}, expected);
}

TEST_F(QueryTsbsTest, AvgDailyDrivingSession) {
  std::vector<Row> expected;
  for (const auto* truck : Named()) {
    const auto buckets = TenMinuteAverages(*truck, "velocity", kMin, kMax, Identity);
    std::map<std::int64_t, std::pair<double, int>> days;  // by the run's start
    std::int64_t run_start = 0;
    bool in_run = false;
    bool previous = false;
    bool first = true;
    for (const auto& [start, v] : buckets) {
      const bool now = v > 5;
      if (!first && !previous && now) {
        run_start = start;
        in_run = true;
      } else if (in_run && !now) {
        auto& [sum, n] = days[run_start / kDay * kDay];
        sum += static_cast<double>(start - run_start);
        ++n;
        in_run = false;
      }
      previous = now;
      first = false;
    }
    for (const auto& [day, sn] : days) {
      expected.push_back({json::value(truck->vin.str()), Attr(*truck, "name"), json::value(day),
                          json::value(sn.first / sn.second / 60e6)});
    }
  }
  Expect(Run("09-avg-daily-driving-session.json", "", 0, 0),
         {"vin", "name", "t", "avg_session_minutes"}, expected);
}

TEST_F(QueryTsbsTest, AvgLoad) {
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<double, int>> groups;
  for (const auto* truck : Named()) {
    const auto& load = truck->signals.at("current_load");
    double sum = 0;
    for (double v : load.v) sum += v;
    const double capacity = std::stod(*truck->Attr("load_capacity"));
    auto& [pct, n] =
        groups[{*truck->Attr("fleet"), *truck->Attr("model"), *truck->Attr("load_capacity")}];
    pct += sum / static_cast<double>(load.v.size()) / capacity;
    ++n;
  }
  std::vector<Row> expected;
  for (const auto& [key, pn] : groups) {
    expected.push_back({json::value(std::get<0>(key)), json::value(std::get<1>(key)),
                        json::value(std::get<2>(key)), json::value(pn.first / pn.second)});
  }
  Expect(Run("10-avg-load.json", "", 0, 0), {"fleet", "model", "load_capacity", "avg_load_fraction"},
         expected);
}

TEST_F(QueryTsbsTest, DailyActivity) {
  std::map<std::tuple<std::string, std::string, std::int64_t>, int> groups;
  for (const auto* truck : Named()) {
    for (const auto& [start, s] : TenMinuteAverages(*truck, "status", kMin, kMax, Identity)) {
      if (s < 1) ++groups[{*truck->Attr("fleet"), *truck->Attr("model"), start / kDay * kDay}];
    }
  }
  std::vector<Row> expected;
  for (const auto& [key, n] : groups) {
    expected.push_back({json::value(std::get<0>(key)), json::value(std::get<1>(key)),
                        json::value(std::get<2>(key)), json::value(n / 144.0)});
  }
  Expect(Run("11-daily-activity.json", "", 0, 0), {"fleet", "model", "t", "daily_activity"},
         expected);
}

TEST_F(QueryTsbsTest, BreakdownFrequency) {
  std::map<std::string, int> models;
  for (const auto* truck : Named()) {
    const auto buckets = TenMinuteAverages(*truck, "status", kMin, kMax,
                                           [](double v) { return v == 0 ? 1.0 : 0.0; });
    std::optional<bool> previous;
    for (const auto& [start, z] : buckets) {
      const bool broken = z >= 0.5;
      if (previous && !*previous && broken) ++models[*truck->Attr("model")];
      previous = broken;
    }
  }
  std::vector<Row> expected;
  for (const auto& [model, n] : models)
    expected.push_back({json::value(model), json::value(static_cast<double>(n))});
  Expect(Run("12-breakdown-frequency.json", "", 0, 0), {"model", "breakdowns"}, expected);
}

}  // namespace
}  // namespace canvoy::fleet_store
