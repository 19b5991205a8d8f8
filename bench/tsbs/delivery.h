// The dirty network between the trucks and the store, with TSBS's kinds of dirt: lost points,
// lost groups of points, NULL fields, points that arrive late (out of order), and trucks that
// stop sending for a while (their data lost, or buffered and sent late in one burst).
#pragma once

#include <array>
#include <cstdint>
#include <queue>
#include <vector>

#include "rng.h"

namespace canvoy::bench::tsbs {

enum class Measurement : std::uint8_t { kReadings = 0, kDiagnostics = 1 };

// One measurement of one truck at one tick. Bit i of `present` is set when field i (in
// kReadingsFields or kDiagnosticsFields order) has a value; a clear bit is a NULL field.
struct Point {
  std::uint32_t truck = 0;
  std::uint32_t tick = 0;
  Measurement measurement = Measurement::kReadings;
  std::uint8_t present = 0;
  std::array<double, 7> values{};
};

// Receives points in arrival order.
class PointSink {
 public:
  virtual ~PointSink() = default;
  virtual void Deliver(const Point& point) = 0;
};

// Rates of each kind of dirt. TSBS's own rates (pkg/data/usecases/iot/batch_config.go) where it
// has the same kind: 10% of entries lost, 1% of 10-entry batches lost, one field NULL in 10% of
// entries, 30% of entries out of order by a few entries.
struct DeliveryOptions {
  double point_loss = 0.10;
  double group_loss = 0.01;        // all points of `group_trucks` neighbouring trucks at a tick
  std::uint32_t group_trucks = 5;  // TSBS's 10-entry batch: 5 trucks x 2 measurements
  double null_field = 0.10;        // one field, chosen uniformly, becomes NULL
  double short_delay = 0.30;       // arrives 1 to short_delay_max_points points later
  std::uint32_t short_delay_max_points = 64;
  double late = 0.01;  // arrives 1 to late_max_ticks ticks later (a resend)
  std::uint32_t late_max_ticks = 60;
  double outages_per_truck_day = 0.5;  // the truck sends nothing for 2 minutes to 4 hours
  double outage_min_h = 2.0 / 60;
  double outage_max_h = 4.0;
  double outage_buffered = 0.4;  // share of outages whose points are sent when they end
  double backfill_share = 0.25;  // ... spread over this share of the outage's length after it,
                                 // in random order, mixed with the live points
};

struct DeliveryStats {
  std::uint64_t generated = 0;
  std::uint64_t lost_point = 0;
  std::uint64_t lost_group = 0;
  std::uint64_t lost_outage = 0;
  std::uint64_t buffered_outage = 0;  // delivered late, after the outage's end
  std::uint64_t outages = 0;
  std::uint64_t null_fields = 0;
  std::uint64_t delayed = 0;  // held back: delivered after points generated later
  std::uint64_t delivered = 0;
};

// Applies the dirt to the points offered in generation order (tick by tick, truck by truck,
// readings then diagnostics) and hands the survivors to the sink in arrival order. Deterministic
// for a seed. Not thread-safe; the sink is called from Offer and Finish.
class Delivery {
 public:
  Delivery(const DeliveryOptions& options, std::uint32_t trucks, double tick_seconds,
           std::uint64_t seed, PointSink& sink);

  void Offer(Point point);
  // Delivers every point still held back (late points and buffered outages past the end).
  void Finish();

  const DeliveryStats& stats() const { return stats_; }

 private:
  struct Held {
    std::uint64_t arrival;  // the sequence number at which it arrives
    std::uint64_t seq;      // its own sequence number: ties arrive in generation order
    Point point;
  };
  struct ArrivesLater {
    bool operator()(const Held& a, const Held& b) const {
      return a.arrival != b.arrival ? a.arrival > b.arrival : a.seq > b.seq;
    }
  };

  std::uint64_t SeqOf(std::uint64_t tick, std::uint32_t truck) const {
    return (tick * trucks_ + truck) * 2;
  }
  void UpdateOutage(std::uint32_t truck, std::uint32_t tick);
  void ReleaseUpTo(std::uint64_t seq);

  DeliveryOptions options_;
  std::uint32_t trucks_;
  double outage_start_chance_;  // per truck and tick
  double tick_hours_;
  Rng rng_;
  PointSink& sink_;

  std::uint64_t next_seq_ = 0;
  bool group_lost_ = false;
  std::vector<std::uint64_t> outage_end_tick_;  // per truck; no outage when <= the tick
  std::vector<bool> outage_buffered_;
  std::vector<std::uint32_t> backfill_ticks_;  // per truck: how long its backfill lasts
  std::priority_queue<Held, std::vector<Held>, ArrivesLater> held_;
  DeliveryStats stats_;
};

}  // namespace canvoy::bench::tsbs
