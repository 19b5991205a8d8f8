#include "truck_sim.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace canvoy::bench::tsbs {
namespace {

// TSBS's tag value lists and per-model capacities (pkg/data/usecases/iot/truck.go).
constexpr std::array<std::string_view, 6> kDrivers = {"Derek", "Rodney", "Albert",
                                                      "Andy",  "Seth",   "Trish"};
constexpr std::array<std::string_view, 4> kDeviceVersions = {"v1.0", "v1.5", "v2.0", "v2.3"};
struct Model {
  std::string_view name;
  double load_capacity;
  double fuel_capacity;
  double nominal_fuel_consumption;
};
constexpr std::array<Model, 3> kModels = {{
    {"F-150", 2000, 200, 15},
    {"G-2000", 5000, 300, 19},
    {"H-2", 1500, 150, 12},
}};

// Where each fleet drives (degrees): plausible US regions, one per fleet name.
struct Region {
  double lat_min, lat_max, lon_min, lon_max;
};
constexpr std::array<Region, kFleets.size()> kRegions = {{
    {33.0, 42.0, -85.0, -74.0},    // East
    {34.0, 47.0, -123.0, -114.0},  // West
    {43.0, 48.5, -104.0, -88.0},   // North
    {29.0, 34.0, -100.0, -84.0},   // South
}};

constexpr double kBreakdownsPerHour = 0.35 / 24;    // about one breakdown per truck in three days
constexpr double kStatusGlitchesPerHour = 1.0 / 3;  // a lone status 0 sample, not a breakdown
constexpr double kStatusChangesPerHour = 0.5;
constexpr double kCruiseChangesPerHour = 1.0;
constexpr double kTurnsPerHour = 0.5;
constexpr double kLowFuelStop = 0.02;  // a driver always stops to refuel below this
constexpr double kIdleLitresPerHour = 2.5;
constexpr double kKmPerDegree = 111.2;

double Round(double x, double scale) { return std::round(x * scale) / scale + 0.0; }  // no -0

std::string VinOf(std::uint32_t index) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "CNVTS%012u", index);
  return buf;
}

// Sets one of the seven tags other than the name (and the VIN) to NULL.
void ClearOtherTag(TruckTags& tags, std::uint64_t which) {
  switch (which % 7) {
    case 0:
      tags.fleet.reset();
      break;
    case 1:
      tags.driver.reset();
      break;
    case 2:
      tags.model.reset();
      break;
    case 3:
      tags.device_version.reset();
      break;
    case 4:
      tags.load_capacity.reset();
      break;
    case 5:
      tags.fuel_capacity.reset();
      break;
    default:
      tags.nominal_fuel_consumption.reset();
      break;
  }
}

}  // namespace

// How a kind of truck works: long legs on highways, regional deliveries, or city rounds.
struct DutyProfile {
  double share;
  double leg_min_h, leg_max_h;
  double break_min_h, break_max_h;
  double shift_min_h, shift_max_h;  // driving hours between two rests
  double rest_min_h, rest_max_h;
  double cruise_min, cruise_max;  // km/h
  double traffic_stops_per_h;
  double load_change_chance;  // at each break or rest
};

namespace {
constexpr std::array<DutyProfile, 3> kDuties = {{
    // long haul: 2-5.5 h legs, short breaks, 9-12 h of driving then 7-10 h of rest
    {0.30, 2.0, 5.5, 0.17, 0.75, 9, 12, 7, 10, 75, 100, 0.3, 0.15},
    // regional
    {0.45, 0.5, 2.5, 0.17, 1.0, 6, 10, 10, 14, 50, 85, 2.0, 0.5},
    // local rounds
    {0.25, 0.17, 0.85, 0.08, 0.67, 4, 8, 12, 16, 25, 55, 6.0, 0.7},
}};
}  // namespace

Fleet MakeFleet(std::uint32_t trucks, std::uint64_t seed) {
  Fleet fleet;
  fleet.tags.reserve(trucks);
  fleet.bodies.reserve(trucks);
  for (std::uint32_t i = 0; i < trucks; ++i) {
    Rng rng(seed, Stream::kTags, i);
    const Model& model = kModels[rng.Below(kModels.size())];
    TruckBody body{rng.Below(kFleets.size()), model.load_capacity, model.fuel_capacity,
                   model.nominal_fuel_consumption};
    TruckTags tags;
    tags.vin = VinOf(i);
    tags.name = "truck_" + std::to_string(i);
    tags.fleet = std::string(kFleets[body.fleet]);
    tags.driver = std::string(kDrivers[rng.Below(kDrivers.size())]);
    tags.model = std::string(model.name);
    tags.device_version = std::string(kDeviceVersions[rng.Below(kDeviceVersions.size())]);
    tags.load_capacity = model.load_capacity;
    tags.fuel_capacity = model.fuel_capacity;
    tags.nominal_fuel_consumption = model.nominal_fuel_consumption;
    fleet.tags.push_back(std::move(tags));
    fleet.bodies.push_back(body);
  }
  if (trucks < 5) return fleet;
  // Distinct trucks, in a seeded order: the first lose their name, the next one other tag.
  Rng rng(seed, Stream::kNullTags);
  std::vector<std::uint32_t> order(trucks);
  std::iota(order.begin(), order.end(), 0u);
  const auto no_name = std::max<std::size_t>(1, std::lround(0.02 * trucks));
  const auto no_other = std::max<std::size_t>(1, std::lround(0.03 * trucks));
  for (std::size_t k = 0; k < no_name + no_other; ++k) {
    std::swap(order[k], order[k + rng.Below(trucks - k)]);
    TruckTags& tags = fleet.tags[order[k]];
    if (k < no_name) {
      tags.name.reset();
    } else {
      ClearOtherTag(tags, rng.Below(7));
    }
  }
  return fleet;
}

TruckSim::TruckSim(std::uint32_t index, const TruckBody& body, std::uint64_t seed,
                   double tick_seconds)
    : rng_(seed, Stream::kMotion, index),
      duty_(&kDuties[0]),
      body_(body),
      dt_s_(tick_seconds),
      dt_h_(tick_seconds / 3600) {
  const double u = rng_.Uniform();
  duty_ = u < kDuties[0].share                      ? &kDuties[0]
          : u < kDuties[0].share + kDuties[1].share ? &kDuties[1]
                                                    : &kDuties[2];
  const Region& region = kRegions[body_.fleet];
  latitude_ = rng_.Uniform(region.lat_min, region.lat_max);
  longitude_ = rng_.Uniform(region.lon_min, region.lon_max);
  elevation_ = rng_.Uniform(50, 1500);
  heading_ = rng_.Uniform(0, 360);
  fuel_ = rng_.Uniform(0.05, 1.0);
  refuel_below_ = rng_.Uniform(0.03, 0.25);
  status_ = 1 + static_cast<int>(rng_.Below(5));
  // Start somewhere in the truck's cycle: resting, on a break, or in the middle of a leg.
  shift_drive_h_left_ = rng_.Uniform(0, duty_->shift_max_h);
  const double phase = rng_.Uniform();
  if (phase < 0.40) {
    StartActivity(Activity::kRest);
    ticks_left_ = std::max<std::int64_t>(1, std::llround(rng_.Uniform() * ticks_left_));
  } else if (phase < 0.55) {
    StartActivity(Activity::kBreak);
  } else {
    StartActivity(Activity::kDriving);
    ticks_left_ = std::max<std::int64_t>(1, std::llround(rng_.Uniform(0.1, 1) * ticks_left_));
    velocity_ = cruise_;
  }
  DrawLoad();
}

void TruckSim::StartActivity(Activity next) {
  const auto ticks = [&](double hours) {
    return std::max<std::int64_t>(1, std::llround(hours / dt_h_));
  };
  switch (next) {
    case Activity::kDriving:
      ticks_left_ = ticks(rng_.Uniform(duty_->leg_min_h, duty_->leg_max_h));
      cruise_ = rng_.Uniform(duty_->cruise_min, duty_->cruise_max);
      break;
    case Activity::kTrafficStop:
      leg_ticks_left_ = ticks_left_;
      ticks_left_ = ticks(rng_.Uniform(0.5, 3.0) / 60);
      break;
    case Activity::kBreak:
      ticks_left_ = ticks(rng_.Uniform(duty_->break_min_h, duty_->break_max_h));
      break;
    case Activity::kRest:
      ticks_left_ = ticks(rng_.Uniform(duty_->rest_min_h, duty_->rest_max_h));
      shift_drive_h_left_ = rng_.Uniform(duty_->shift_min_h, duty_->shift_max_h);
      break;
    case Activity::kBrokenDown:
      before_breakdown_ = activity_;
      ticks_left_before_breakdown_ = ticks_left_;
      ticks_left_ = ticks(rng_.LogUniform(0.25, 4.0));
      break;
  }
  activity_ = next;
}

// A break or a rest begins: maybe refuel, maybe load or unload.
void TruckSim::StopAtDepot(bool end_of_shift) {
  if (fuel_ < std::max(refuel_below_, kLowFuelStop + 0.02)) {
    fuel_ = 1.0;
    refuel_below_ = rng_.Uniform(0.03, 0.25);
  }
  if (rng_.Chance(duty_->load_change_chance * (end_of_shift ? 1.5 : 1))) DrawLoad();
}

// Empty, full, overloaded, or anything between.
void TruckSim::DrawLoad() {
  const double u = rng_.Uniform();
  load_fraction_ = u < 0.20   ? 0.0
                   : u < 0.45 ? rng_.Uniform(0.9, 1.0)
                   : u < 0.48 ? rng_.Uniform(1.0, 1.08)
                              : rng_.Uniform(0.1, 0.9);
}

void TruckSim::EndActivity() {
  switch (activity_) {
    case Activity::kDriving: {
      const bool end_of_shift = shift_drive_h_left_ <= 0;
      StartActivity(end_of_shift ? Activity::kRest : Activity::kBreak);
      StopAtDepot(end_of_shift);
      break;
    }
    case Activity::kTrafficStop:
      activity_ = Activity::kDriving;
      ticks_left_ = std::max<std::int64_t>(1, leg_ticks_left_);
      break;
    case Activity::kBreak:
    case Activity::kRest:
      StartActivity(Activity::kDriving);
      break;
    case Activity::kBrokenDown:
      activity_ = before_breakdown_;
      ticks_left_ = std::max<std::int64_t>(1, ticks_left_before_breakdown_);
      break;
  }
}

void TruckSim::UpdateVelocity() {
  if (activity_ != Activity::kDriving) {
    velocity_ = std::max(0.0, velocity_ - 2.5 * dt_s_);  // brakes: about 2.5 km/h per second
    return;
  }
  if (rng_.Chance(kCruiseChangesPerHour * dt_h_)) {
    cruise_ = rng_.Uniform(duty_->cruise_min, duty_->cruise_max);
  }
  const double dv = std::clamp(cruise_ - velocity_, -2.5 * dt_s_, 1.0 * dt_s_) +
                    1.5 * std::sqrt(dt_s_ / 10) * rng_.Normal();
  velocity_ = std::clamp(velocity_ + dv, 0.0, 110.0);
}

void TruckSim::Move(double distance_km) {
  if (distance_km <= 0) return;
  heading_ += 2.0 * rng_.Normal();
  if (rng_.Chance(kTurnsPerHour * dt_h_)) heading_ += rng_.Chance(0.5) ? 90 : -90;
  const double rad = heading_ * 3.141592653589793 / 180;
  latitude_ += distance_km * std::cos(rad) / kKmPerDegree;
  longitude_ += distance_km * std::sin(rad) / (kKmPerDegree * std::cos(latitude_ * 0.0174533));
  const Region& region = kRegions[body_.fleet];
  if (latitude_ < region.lat_min || latitude_ > region.lat_max) {
    heading_ = 180 - heading_;  // turn back north-south
    latitude_ = std::clamp(latitude_, region.lat_min, region.lat_max);
  }
  if (longitude_ < region.lon_min || longitude_ > region.lon_max) {
    heading_ = -heading_;  // turn back east-west
    longitude_ = std::clamp(longitude_, region.lon_min, region.lon_max);
  }
  heading_ = std::fmod(std::fmod(heading_, 360) + 360, 360);
  grade_ = std::clamp(grade_ * 0.97 + 0.3 * rng_.Normal(), -10.0, 10.0);
  elevation_ += grade_ / 100 * distance_km * 1000;
  if (elevation_ < 0 || elevation_ > 3500) {
    elevation_ = std::clamp(elevation_, 0.0, 3500.0);
    grade_ = 0;
  }
}

// Litres per 100 km while moving (idling at a light: a small figure), and drains the tank.
double TruckSim::FuelConsumption(double distance_km) {
  double consumption = 0;
  double litres = 0;
  if (distance_km > 0) {
    consumption = body_.nominal_fuel_consumption * (0.85 + 0.35 * load_fraction_) *
                  (1 + 0.04 * grade_) * (1 + 0.05 * rng_.Normal());
    consumption = std::clamp(consumption, 0.5, 50.0);
    litres = consumption * distance_km / 100;
  } else if (activity_ == Activity::kTrafficStop) {
    consumption = rng_.Uniform(0.3, 1.5);
    litres = kIdleLitresPerHour * dt_h_;
  }
  fuel_ = std::max(0.0, fuel_ - litres / body_.fuel_capacity);
  return consumption;
}

void TruckSim::Step(Readings& readings, Diagnostics& diagnostics) {
  if (activity_ != Activity::kBrokenDown && rng_.Chance(kBreakdownsPerHour * dt_h_)) {
    StartActivity(Activity::kBrokenDown);
  } else if (activity_ == Activity::kDriving && rng_.Chance(duty_->traffic_stops_per_h * dt_h_)) {
    StartActivity(Activity::kTrafficStop);
  }
  UpdateVelocity();
  const double distance_km = velocity_ * dt_h_;
  Move(distance_km);
  const double consumption = FuelConsumption(distance_km);
  if (activity_ == Activity::kDriving) shift_drive_h_left_ -= dt_h_;
  if (--ticks_left_ <= 0 || (activity_ == Activity::kDriving && fuel_ < kLowFuelStop)) {
    EndActivity();
  }
  if (rng_.Chance(kStatusChangesPerHour * dt_h_)) {
    status_ = std::clamp(status_ + (rng_.Chance(0.5) ? 1 : -1), 1, 5);
  }
  const bool glitch = rng_.Chance(kStatusGlitchesPerHour * dt_h_);

  double heading = std::round(heading_);
  if (heading >= 360) heading -= 360;
  readings.values = {Round(latitude_, 1e5),
                     Round(longitude_, 1e5),
                     Round(elevation_, 1),
                     Round(velocity_, 1),
                     heading,
                     Round(grade_, 10),
                     Round(consumption, 10)};
  const bool broken = activity_ == Activity::kBrokenDown;
  diagnostics.values = {Round(fuel_, 1e3), Round(load_fraction_ * body_.load_capacity, 1),
                        broken || glitch ? 0.0 : static_cast<double>(status_)};
}

}  // namespace canvoy::bench::tsbs
