// The simulated trucks of TSBS's IoT use case: their tags (with TSBS's value lists) and a
// per-truck model of one working day (driving legs, breaks, rests, traffic stops, breakdowns)
// that produces each tick's readings and diagnostics. Pure computation: no I/O, no dirty data
// (delivery.h loses, blanks and reorders what this produces).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rng.h"

namespace canvoy::bench::tsbs {

// TSBS's field names, in its column order; they are also the signal names of samples.csv.
inline constexpr std::array<std::string_view, 7> kReadingsFields = {
    "latitude", "longitude", "elevation", "velocity", "heading", "grade", "fuel_consumption"};
inline constexpr std::array<std::string_view, 3> kDiagnosticsFields = {"fuel_state", "current_load",
                                                                       "status"};
// TSBS's fleet list (pkg/data/usecases/iot/truck.go has these four).
inline constexpr std::array<std::string_view, 4> kFleets = {"East", "West", "North", "South"};

// A truck's tags as the store and DuckDB see them: any of them may be NULL (dirty data).
struct TruckTags {
  std::string vin;                  // "CNVTS" + 12 digits of the truck's index; never NULL
  std::optional<std::string> name;  // "truck_<index>"
  std::optional<std::string> fleet;
  std::optional<std::string> driver;
  std::optional<std::string> model;
  std::optional<std::string> device_version;
  std::optional<double> load_capacity;
  std::optional<double> fuel_capacity;
  std::optional<double> nominal_fuel_consumption;
};

// What the truck really is, whatever its tags say (a NULL tag does not change the physics).
struct TruckBody {
  std::size_t fleet = 0;  // index into kFleets
  double load_capacity = 0;
  double fuel_capacity = 0;
  double nominal_fuel_consumption = 0;
};

struct Fleet {
  std::vector<TruckTags> tags;
  std::vector<TruckBody> bodies;
};

// Tags of `trucks` trucks chosen like TSBS (uniform fleet, driver, model, device version), then
// about 2% of the trucks lose their name and about 3% lose one other tag (at least one of each
// once there are 5 trucks or more).
Fleet MakeFleet(std::uint32_t trucks, std::uint64_t seed);

struct Readings {
  std::array<double, kReadingsFields.size()> values{};
};
struct Diagnostics {
  std::array<double, kDiagnosticsFields.size()> values{};
};

// One truck's motion, fuel, load and health, advanced one tick at a time. Deterministic for
// (seed, index). Not thread-safe; one instance per truck.
struct DutyProfile;  // long haul, regional or local (truck_sim.cc)

class TruckSim {
 public:
  TruckSim(std::uint32_t index, const TruckBody& body, std::uint64_t seed, double tick_seconds);

  // Advances by one tick and writes the values sampled at its end, rounded like sensors report
  // them (latitude/longitude 5 decimals, fuel_state 3, grade and fuel_consumption 1, others 0).
  void Step(Readings& readings, Diagnostics& diagnostics);

 private:
  enum class Activity { kDriving, kTrafficStop, kBreak, kRest, kBrokenDown };

  void StartActivity(Activity next);
  void EndActivity();
  void StopAtDepot(bool end_of_shift);
  void DrawLoad();
  void UpdateVelocity();
  void Move(double distance_km);
  double FuelConsumption(double distance_km);

  Rng rng_;
  const DutyProfile* duty_;
  TruckBody body_;
  double dt_s_;
  double dt_h_;

  Activity activity_ = Activity::kRest;
  std::int64_t ticks_left_ = 0;      // in the current activity
  std::int64_t leg_ticks_left_ = 0;  // of driving in the current leg (paused by stops)
  double shift_drive_h_left_ = 0;    // driving left before the next rest
  Activity before_breakdown_ = Activity::kRest;
  std::int64_t ticks_left_before_breakdown_ = 0;

  double cruise_ = 0;
  double velocity_ = 0;
  double heading_ = 0;
  double latitude_ = 0;
  double longitude_ = 0;
  double elevation_ = 0;
  double grade_ = 0;
  double fuel_ = 1;
  double refuel_below_ = 0.2;
  double load_fraction_ = 0;
  int status_ = 3;
};

}  // namespace canvoy::bench::tsbs
