#include "delivery.h"

#include <algorithm>
#include <cmath>

namespace canvoy::bench::tsbs {

Delivery::Delivery(const DeliveryOptions& options, std::uint32_t trucks, double tick_seconds,
                   std::uint64_t seed, PointSink& sink)
    : options_(options),
      trucks_(trucks),
      outage_start_chance_(options.outages_per_truck_day * tick_seconds / 86400),
      tick_hours_(tick_seconds / 3600),
      rng_(seed, Stream::kDelivery),
      sink_(sink),
      outage_end_tick_(trucks, 0),
      outage_buffered_(trucks, false),
      backfill_ticks_(trucks, 1) {}

void Delivery::UpdateOutage(std::uint32_t truck, std::uint32_t tick) {
  if (tick < outage_end_tick_[truck] || !rng_.Chance(outage_start_chance_)) return;
  const double hours = rng_.LogUniform(options_.outage_min_h, options_.outage_max_h);
  const auto ticks = std::max<std::uint64_t>(1, std::llround(hours / tick_hours_));
  outage_end_tick_[truck] = tick + ticks;
  outage_buffered_[truck] = rng_.Chance(options_.outage_buffered);
  backfill_ticks_[truck] = static_cast<std::uint32_t>(
      std::max<double>(1, std::round(static_cast<double>(ticks) * options_.backfill_share)));
  ++stats_.outages;
}

void Delivery::ReleaseUpTo(std::uint64_t seq) {
  while (!held_.empty() && held_.top().arrival <= seq) {
    sink_.Deliver(held_.top().point);
    ++stats_.delivered;
    held_.pop();
  }
}

void Delivery::Offer(Point point) {
  const std::uint64_t seq = next_seq_++;
  ++stats_.generated;
  const bool first_of_truck = point.measurement == Measurement::kReadings;
  if (first_of_truck) {
    if (point.truck % options_.group_trucks == 0) group_lost_ = rng_.Chance(options_.group_loss);
    UpdateOutage(point.truck, point.tick);
  }
  ReleaseUpTo(seq);

  const bool in_outage = point.tick < outage_end_tick_[point.truck];
  if (in_outage && !outage_buffered_[point.truck]) {
    ++stats_.lost_outage;
    return;
  }
  if (group_lost_) {
    ++stats_.lost_group;
    return;
  }
  if (rng_.Chance(options_.point_loss)) {
    ++stats_.lost_point;
    return;
  }
  if (rng_.Chance(options_.null_field)) {
    const int fields = point.measurement == Measurement::kReadings ? 7 : 3;
    point.present &= static_cast<std::uint8_t>(~(1u << rng_.Below(fields)));
    ++stats_.null_fields;
  }

  std::uint64_t arrival = seq;
  if (in_outage) {
    const std::uint64_t tick =
        outage_end_tick_[point.truck] + rng_.Below(backfill_ticks_[point.truck]);
    arrival = SeqOf(tick, point.truck) + 1;  // after the truck's live readings of that tick
    ++stats_.buffered_outage;
  } else if (rng_.Chance(options_.late)) {
    arrival = seq + (1 + rng_.Below(options_.late_max_ticks)) * SeqOf(1, 0);
  } else if (rng_.Chance(options_.short_delay)) {
    arrival = seq + 1 + rng_.Below(options_.short_delay_max_points);
  }
  if (arrival == seq) {
    sink_.Deliver(point);
    ++stats_.delivered;
    return;
  }
  ++stats_.delayed;
  held_.push(Held{arrival, seq, point});
}

void Delivery::Finish() { ReleaseUpTo(UINT64_MAX); }

}  // namespace canvoy::bench::tsbs
