// An in-memory StoreView for tests: vehicles with attributes and samples. Rollups are computed
// from the samples by brute force on every scan, with the store's rules (numbers and bools
// counted, strings and NaN not; first/last at the smallest/largest timestamp, ties by value).
// Samples are scanned in runs of a few samples, as columns where a run is of one numeric type and
// as Sample objects otherwise (and every third run), so that readers see both kinds. Reads are
// safe from several threads at once; adding data is not.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "canvoy/common/ids.h"
#include "canvoy/fleet_store/store_view.h"

namespace canvoy::fleet_store::test_support {

// A valid VIN numbered i (0 <= i < 100000): "1FTFW1E50PFA" and five digits.
inline Vin TestVin(int i) {
  std::string digits = std::to_string(i);
  return Vin::Parse("1FTFW1E50PFA" + std::string(5 - digits.size(), '0') + digits).value();
}

// A counter that threads may bump at once and that copies (so the view stays a value type).
class ReadCounter {
 public:
  ReadCounter(std::uint64_t n = 0) : n_(n) {}  // NOLINT: used as a number
  ReadCounter(const ReadCounter& other) : n_(other.n_.load()) {}
  ReadCounter& operator=(const ReadCounter& other) {
    n_ = other.n_.load();
    return *this;
  }
  operator std::uint64_t() const { return n_.load(); }  // NOLINT
  ReadCounter& operator++() {
    ++n_;
    return *this;
  }
  ReadCounter& operator+=(std::uint64_t n) {
    n_ += n;
    return *this;
  }

 private:
  std::atomic<std::uint64_t> n_;
};

class FakeStoreView final : public StoreView {
 public:
  FakeStoreView() = default;
  FakeStoreView(const FakeStoreView& other) { *this = other; }
  FakeStoreView& operator=(const FakeStoreView& other) {
    if (this == &other) return *this;
    hour_rollups_read = other.hour_rollups_read;
    fail = other.fail;
    samples_read = other.samples_read;
    rollups_read = other.rollups_read;
    rollup_scans = other.rollup_scans;
    vehicles_ = other.vehicles_;
    return *this;  // the sort cache is rebuilt on use
  }

  struct Vehicle {
    Attributes attributes;
    std::map<std::string, std::vector<Sample>, std::less<>> signals;  // in insertion order
  };

  void AddVehicle(const Vin& vin, Attributes attributes = {}) {
    vehicles_[vin].attributes = std::move(attributes);
  }
  void AddSample(const Vin& vin, const std::string& signal, std::int64_t t, SignalValue value) {
    vehicles_[vin].signals[signal].push_back(Sample{t, std::move(value)});
    std::lock_guard lock(sorted_mutex_);
    sorted_.clear();
  }
  const std::map<Vin, Vehicle>& vehicles() const { return vehicles_; }

  // Samples of a signal as ScanSamples delivers them: by time, ties by value.
  const std::vector<Sample>& Sorted(const Vin& vin, std::string_view signal) const {
    auto key = std::make_pair(vin, std::string(signal));
    std::lock_guard lock(sorted_mutex_);  // map elements stay where they are
    if (auto it = sorted_.find(key); it != sorted_.end()) return it->second;
    std::vector<Sample> out;
    auto v = vehicles_.find(vin);
    if (v != vehicles_.end()) {
      if (auto s = v->second.signals.find(signal); s != v->second.signals.end()) out = s->second;
    }
    std::stable_sort(out.begin(), out.end(), [](const Sample& a, const Sample& b) {
      if (a.timestamp_us != b.timestamp_us) return a.timestamp_us < b.timestamp_us;
      return ValueLess(a.value, b.value);
    });
    return sorted_[key] = std::move(out);
  }

  // What queries read, to tell which path answered.
  mutable ReadCounter samples_read = 0;
  mutable ReadCounter rollups_read = 0;
  mutable ReadCounter rollup_scans = 0;
  mutable ReadCounter hour_rollups_read = 0;
  // When set, scans fail with it (a storage failure).
  std::optional<Error> fail;

  Status ForEachVehicle(const std::function<bool(const VehicleInfo&)>& fn,
                        const std::optional<Vin>& after) const override {
    for (auto it = after ? vehicles_.upper_bound(*after) : vehicles_.begin(); it != vehicles_.end();
         ++it) {
      if (!fn(Info(it->first, it->second))) break;
    }
    return OkStatus();
  }

  Result<std::optional<VehicleInfo>> GetVehicle(const Vin& vin) const override {
    auto it = vehicles_.find(vin);
    if (it == vehicles_.end()) return std::optional<VehicleInfo>();
    return std::optional<VehicleInfo>(Info(it->first, it->second));
  }

  Result<std::optional<LatestValue>> GetLatest(const Vin& vin,
                                               std::string_view signal) const override {
    auto v = vehicles_.find(vin);
    if (v == vehicles_.end()) return std::optional<LatestValue>();
    auto s = v->second.signals.find(signal);
    if (s == v->second.signals.end() || s->second.empty()) return std::optional<LatestValue>();
    const Sample* newest = &s->second.front();
    for (const auto& sample : s->second) {  // a later write at the same time replaces
      if (sample.timestamp_us >= newest->timestamp_us) newest = &sample;
    }
    return std::optional<LatestValue>(LatestValue{std::string(signal), "", *newest});
  }

  Status ScanSamples(const Vin& vin, std::string_view signal, std::int64_t from_us,
                     std::int64_t to_us,
                     const std::function<bool(const Sample&)>& fn) const override {
    if (fail) return *fail;
    const auto& samples = Sorted(vin, signal);
    auto it = std::lower_bound(samples.begin(), samples.end(), from_us,
                               [](const Sample& s, std::int64_t t) { return s.timestamp_us < t; });
    for (; it != samples.end(); ++it) {
      const Sample& sample = *it;
      if (sample.timestamp_us >= to_us) break;
      ++samples_read;
      if (!fn(sample)) break;
    }
    return OkStatus();
  }

  Status ScanSampleRuns(const Vin& vin, std::string_view signal, std::int64_t from_us,
                        std::int64_t to_us,
                        const std::function<bool(const SampleRun&)>& fn) const override {
    if (fail) return *fail;
    const auto& samples = Sorted(vin, signal);
    auto begin = std::lower_bound(samples.begin(), samples.end(), from_us,
                                  [](const Sample& s, std::int64_t t) { return s.timestamp_us < t; });
    auto end = std::lower_bound(begin, samples.end(), to_us,
                                [](const Sample& s, std::int64_t t) { return s.timestamp_us < t; });
    const std::span<const Sample> range(begin, end);
    std::vector<std::int64_t> t;
    std::vector<double> num;
    std::vector<std::uint64_t> bits;
    for (std::size_t i = 0, runs = 0; i < range.size(); ++runs) {
      // Runs of 1 to 7 samples, cut where the value type changes.
      const std::size_t type = range[i].value.index();
      std::size_t n = 1;
      while (n < 1 + (i * 7 + runs) % 7 && i + n < range.size() &&
             range[i + n].value.index() == type)
        ++n;
      const auto part = range.subspan(i, n);
      i += n;
      samples_read += n;
      SampleRun run;
      if (type == 4 || runs % 3 == 2) {
        run.samples = part;
        if (!fn(run)) break;
        continue;
      }
      t.clear();
      num.clear();
      bits.clear();
      for (const Sample& s : part) {
        t.push_back(s.timestamp_us);
        num.push_back(type == 3 ? std::get<double>(s.value) : *Numeric(s.value));
        if (type == 1) bits.push_back(static_cast<std::uint64_t>(std::get<std::int64_t>(s.value)));
        if (type == 2) bits.push_back(std::get<std::uint64_t>(s.value));
      }
      run.type = static_cast<std::uint8_t>(type);
      run.t = t;
      run.num = num;
      run.bits = bits;
      if (!fn(run)) break;
    }
    return OkStatus();
  }

  // Asks `skip` about every hour that has samples in range, as the store asks about its blocks.
  Status ScanSampleRunsSkipping(const Vin& vin, std::string_view signal, std::int64_t from_us,
                                std::int64_t to_us, const HourSkip& skip,
                                const std::function<bool(const SampleRun&)>& fn) const override {
    if (fail) return *fail;
    constexpr std::int64_t kHour = 3'600'000'000;
    const auto before = [](const Sample& s, std::int64_t x) { return s.timestamp_us < x; };
    const auto& samples = Sorted(vin, signal);
    auto it = std::lower_bound(samples.begin(), samples.end(), from_us, before);
    bool more = true;
    const auto pass = [&](const SampleRun& run) { return more = fn(run); };
    while (more && it != samples.end() && it->timestamp_us < to_us) {
      const std::int64_t t = it->timestamp_us;
      const std::int64_t hour = t - ((t % kHour) + kHour) % kHour;
      const auto hour_begin = std::lower_bound(samples.begin(), it, hour, before);
      const auto hour_end = std::lower_bound(it, samples.end(), hour + kHour, before);
      const bool numeric = std::all_of(hour_begin, hour_end,
                                       [](const Sample& s) { return s.value.index() != 4; });
      if (!skip(hour, numeric)) {
        CANVOY_RETURN_IF_ERROR(ScanSampleRuns(vin, signal, std::max(from_us, hour),
                                              std::min(to_us, hour + kHour), pass));
      }
      it = hour_end;
    }
    return OkStatus();
  }

  Status ScanRollups(const Vin& vin, std::string_view signal, RollupWidth width,
                     std::int64_t from_us, std::int64_t to_us,
                     const std::function<bool(std::int64_t, const Rollup&)>& fn) const override {
    if (fail) return *fail;
    ++rollup_scans;
    const std::int64_t w = width == RollupWidth::kMinute ? 60'000'000 : 3'600'000'000;
    std::map<std::int64_t, Rollup> buckets;
    for (const auto& sample : Sorted(vin, signal)) {
      const auto v = Numeric(sample.value);
      if (!v) continue;
      std::int64_t start = sample.timestamp_us / w * w;
      if (sample.timestamp_us % w != 0 && sample.timestamp_us < 0) start -= w;
      if (start < from_us || start >= to_us) continue;
      Rollup& r = buckets[start];
      const std::int64_t t = sample.timestamp_us;
      if (r.count == 0 || t < r.first_us || (t == r.first_us && *v < r.first)) {
        r.first_us = t;
        r.first = *v;
      }
      if (r.count == 0 || t > r.last_us || (t == r.last_us && *v > r.last)) {
        r.last_us = t;
        r.last = *v;
      }
      r.min = r.count == 0 ? *v : std::min(r.min, *v);
      r.max = r.count == 0 ? *v : std::max(r.max, *v);
      r.sum += *v;
      ++r.count;
    }
    for (const auto& [start, r] : buckets) {
      ++rollups_read;
      if (width == RollupWidth::kHour) ++hour_rollups_read;
      if (!fn(start, r)) break;
    }
    return OkStatus();
  }

  // The number a rollup counts, if the value is one.
  static std::optional<double> Numeric(const SignalValue& value) {
    switch (value.index()) {
      case 0:
        return std::get<bool>(value) ? 1.0 : 0.0;
      case 1:
        return static_cast<double>(std::get<std::int64_t>(value));
      case 2:
        return static_cast<double>(std::get<std::uint64_t>(value));
      case 3:
        if (std::isnan(std::get<double>(value))) return std::nullopt;
        return std::get<double>(value);
      default:
        return std::nullopt;
    }
  }

 private:
  static bool ValueLess(const SignalValue& a, const SignalValue& b) {
    if (a.index() != b.index()) return a.index() < b.index();
    if (a.index() == 3) {  // NaN last, so that the order is total
      const double x = std::get<double>(a);
      const double y = std::get<double>(b);
      if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
      return x < y;
    }
    return a < b;
  }

  static VehicleInfo Info(const Vin& vin, const Vehicle& v) {
    VehicleInfo info{VehicleSummary{vin, 0, 0, 0}, v.attributes};
    for (const auto& [name, samples] : v.signals) info.summary.sample_count += samples.size();
    return info;
  }

  std::map<Vin, Vehicle> vehicles_;
  mutable std::mutex sorted_mutex_;
  mutable std::map<std::pair<Vin, std::string>, std::vector<Sample>> sorted_;
};

// A view that forwards to `view`, for a StoreViewFactory: [&fake] { return ViewOf(fake); }.
// Tests derive from it to change one method.
class ForwardingView : public StoreView {
 public:
  explicit ForwardingView(const StoreView& view) : view_(view) {}
  Status ForEachVehicle(const std::function<bool(const VehicleInfo&)>& fn,
                        const std::optional<Vin>& after) const override {
    return view_.ForEachVehicle(fn, after);
  }
  Result<std::optional<VehicleInfo>> GetVehicle(const Vin& vin) const override {
    return view_.GetVehicle(vin);
  }
  Result<std::optional<LatestValue>> GetLatest(const Vin& vin,
                                               std::string_view signal) const override {
    return view_.GetLatest(vin, signal);
  }
  Status ScanSamples(const Vin& vin, std::string_view signal, std::int64_t from_us,
                     std::int64_t to_us,
                     const std::function<bool(const Sample&)>& fn) const override {
    return view_.ScanSamples(vin, signal, from_us, to_us, fn);
  }
  Status ScanSampleRuns(const Vin& vin, std::string_view signal, std::int64_t from_us,
                        std::int64_t to_us,
                        const std::function<bool(const SampleRun&)>& fn) const override {
    return view_.ScanSampleRuns(vin, signal, from_us, to_us, fn);
  }
  Status ScanSampleRunsSkipping(const Vin& vin, std::string_view signal, std::int64_t from_us,
                                std::int64_t to_us, const HourSkip& skip,
                                const std::function<bool(const SampleRun&)>& fn) const override {
    return view_.ScanSampleRunsSkipping(vin, signal, from_us, to_us, skip, fn);
  }
  Status ScanRollups(const Vin& vin, std::string_view signal, RollupWidth width,
                     std::int64_t from_us, std::int64_t to_us,
                     const std::function<bool(std::int64_t, const Rollup&)>& fn) const override {
    return view_.ScanRollups(vin, signal, width, from_us, to_us, fn);
  }

 private:
  const StoreView& view_;
};

inline std::unique_ptr<StoreView> ViewOf(const StoreView& view) {
  return std::make_unique<ForwardingView>(view);
}

}  // namespace canvoy::fleet_store::test_support
