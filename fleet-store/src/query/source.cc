#include "query/source.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

namespace canvoy::fleet_store::query {
namespace {

constexpr std::size_t kChunkRows = 4096;      // rows pushed into the pipeline at once
constexpr std::size_t kJoinWindow = 1 << 16;  // samples of the first signal per join window
constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kHourUs = 3'600'000'000;

// NaN is not a value: the samples source skips it, as rollups do, so that both agree.
bool IsValue(const SignalValue& v) { return v.index() != 3 || !std::isnan(std::get<double>(v)); }

ColumnType TypeOf(std::uint8_t value_index) {
  switch (value_index) {
    case 0:
      return ColumnType::kBool;
    case 1:
      return ColumnType::kInt64;
    case 2:
      return ColumnType::kUInt64;
    default:
      return ColumnType::kDouble;
  }
}

// Appends rows [begin, end) of a run to t and column, skipping what is not a value.
void AppendRun(const SampleRun& run, std::size_t begin, std::size_t end, Cells<std::int64_t>& t,
               Column& column) {
  if (!run.columns()) {
    for (std::size_t i = begin; i < end; ++i) {
      const Sample& s = run.samples[i];
      if (!IsValue(s.value)) continue;
      t.push_back(s.timestamp_us);
      column.Append(s.value);
    }
    return;
  }
  const ColumnType type = TypeOf(run.type);
  const auto values = run.num.subspan(begin, end - begin);
  if (type == ColumnType::kDouble && !run.no_nan) {
    bool nan = false;
    for (const double v : values) nan |= v != v;
    if (nan) {
      for (std::size_t i = begin; i < end; ++i) {
        if (std::isnan(run.num[i])) continue;
        t.push_back(run.t[i]);
        column.AppendNumbers(type, run.num.subspan(i, 1), {});
      }
      return;
    }
  }
  AppendCells(t, run.t.data() + begin, run.t.data() + end);
  column.AppendNumbers(type, values,
                       run.bits.empty() ? run.bits : run.bits.subspan(begin, end - begin));
}

// Drops the numeric samples of one signal that fail `p` and share their timestamp with no other
// sample of the signal: the join row at such a timestamp would hold that sample, and the filter
// would drop the row. Samples with a tied timestamp stay, since dropping one of them would pair
// the others with different samples of the other signals. Returns whether every sample left
// passes.
template <Op kOp>
bool DropFailing(Cells<std::int64_t>& t, Column& c, double number) {
  const std::size_t n = t.size();
  const bool exact = c.type == ColumnType::kInt64 || c.type == ColumnType::kUInt64;
  std::int64_t* times = t.data();
  double* num = c.num.data();
  std::uint64_t* bits = exact ? c.bits.data() : nullptr;
  std::size_t out = 0;
  unsigned kept_failing = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool tied =
        (i > 0 && times[i - 1] == times[i]) || (i + 1 < n && times[i + 1] == times[i]);
    const bool passes = Passes(kOp, num[i], number);
    times[out] = times[i];
    num[out] = num[i];
    if (bits != nullptr) bits[out] = bits[i];
    out += (tied || passes) ? 1 : 0;
    kept_failing |= static_cast<unsigned>(tied && !passes);
  }
  t.resize(out);
  c.num.resize(out);
  if (exact) c.bits.resize(out);
  return kept_failing == 0;
}

// Whether no number in [min, max] satisfies `number op p.number`. Rollups hold integers as
// doubles; rounding keeps their order, and below 2^53 cannot move one across p.number.
bool NoneCanPass(const SourcePredicate& p, double min, double max) {
  if (!(std::fabs(p.number) < 9007199254740992.0)) return false;
  switch (p.op) {
    case Op::kGt:
      return max <= p.number;
    case Op::kGe:
      return max < p.number;
    case Op::kLt:
      return min >= p.number;
    case Op::kLe:
      return min > p.number;
    default:
      return p.number < min || p.number > max;
  }
}

// Appends the timestamps of a grid's n samples to t.
void AppendGridTimes(const StoreView::GridPlace& g, std::size_t n, Cells<std::int64_t>& t) {
  const auto first = static_cast<std::uint64_t>(g.first_us);
  for (std::uint64_t k = 0; k < g.slots && n > 0; ++k) {
    if (!g.bitmap.empty() && ((static_cast<unsigned char>(g.bitmap[k / 8]) >> (k % 8)) & 1) == 0)
      continue;
    t.push_back(static_cast<std::int64_t>(first + k * g.unit));
    --n;
  }
}

bool Contains(const std::vector<std::int64_t>& sorted, std::int64_t v) {
  return std::binary_search(sorted.begin(), sorted.end(), v);
}

// As above; a column of strings is left alone (false: the filter decides), and one of no values
// has no row.
bool DropFailing(Cells<std::int64_t>& t, Column& c, const SourcePredicate& p) {
  if (c.type == ColumnType::kNull) return true;
  if (c.type == ColumnType::kString) return false;
  switch (p.op) {
    case Op::kLt:
      return DropFailing<Op::kLt>(t, c, p.number);
    case Op::kLe:
      return DropFailing<Op::kLe>(t, c, p.number);
    case Op::kGt:
      return DropFailing<Op::kGt>(t, c, p.number);
    case Op::kGe:
      return DropFailing<Op::kGe>(t, c, p.number);
    default:
      return DropFailing<Op::kEq>(t, c, p.number);
  }
}

}  // namespace

Status SourceReader::Read(const VehicleInfo& vehicle, std::int64_t from_us) {
  const Vin& vin = vehicle.summary.vin;
  chunk_.Clear(source_.signals.size());
  if (source_.kind == SourcePlan::Kind::kLatest) return ReadLatest(vin);
  if (rollups_ != nullptr) return ReadWithRollups(vin, from_us, source_.to_us);
  if (source_.signals.size() == 1) return ReadOne(vin, source_.signals[0], from_us, source_.to_us);
  return ReadJoined(vin, from_us, source_.to_us);
}

Status SourceReader::Flush() {
  if (chunk_.size() == 0) return OkStatus();
  auto status = first_.Push(chunk_);
  chunk_.Clear(source_.signals.size());
  return status;
}

Status SourceReader::ReadLatest(const Vin& vin) {
  bool any = false;
  std::int64_t newest = 0;
  for (std::size_t k = 0; k < source_.signals.size(); ++k) {
    CANVOY_ASSIGN_OR_RETURN(auto latest, view_.GetLatest(vin, source_.signals[k]));
    if (!control_.CountSamples(latest ? 1 : 0)) return OkStatus();
    if (!latest) {
      chunk_.columns[k].AppendNull();
      continue;
    }
    chunk_.columns[k].Append(latest->sample.value);
    newest = any ? std::max(newest, latest->sample.timestamp_us) : latest->sample.timestamp_us;
    any = true;
  }
  if (!any) return OkStatus();
  chunk_.t.push_back(newest);
  return Flush();
}

Status SourceReader::ReadOne(const Vin& vin, std::string_view signal, std::int64_t from,
                             std::int64_t to) {
  if (from >= to) return Flush();
  Status pushed = OkStatus();
  auto scanned = view_.ScanSampleRuns(vin, signal, from, to, [&](const SampleRun& run) {
    if (!control_.CountSamples(run.size())) return false;
    for (std::size_t i = 0; i < run.size();) {
      const std::size_t end = std::min(run.size(), i + (kChunkRows - chunk_.size()));
      AppendRun(run, i, end, chunk_.t, chunk_.columns[0]);
      i = end;
      if (chunk_.size() < kChunkRows) continue;
      pushed = Flush();
      if (!pushed.has_value() || control_.stopped()) return false;
    }
    return true;
  });
  CANVOY_RETURN_IF_ERROR(scanned);
  CANVOY_RETURN_IF_ERROR(pushed);
  if (control_.stopped()) return OkStatus();
  return Flush();
}

Result<std::optional<std::int64_t>> SourceReader::Buffer(const Vin& vin, std::size_t k,
                                                         std::int64_t from, std::int64_t to,
                                                         std::size_t window,
                                                         const StoreView::HourSkip* skip) {
  auto& buffer = buffers_[k];
  buffer.t.clear();
  buffer.values.Clear();
  std::optional<std::int64_t> next;
  std::optional<std::int64_t> last;  // of the samples taken, values or not
  const auto take = [&](const SampleRun& run) {
    const std::size_t n = run.size();
    // A run the view decoded onto the end of the buffer (ScanSampleRunsInto) is its last cells.
    const bool in_place = run.columns() && n > 0 && buffer.t.size() >= n &&
                          run.t.data() == buffer.t.data() + (buffer.t.size() - n);
    const std::size_t held = buffer.t.size() - (in_place ? n : 0);
    const auto time = [&run](std::size_t i) {
      return run.columns() ? run.t[i] : run.samples[i].timestamp_us;
    };
    // A window ends between two timestamps, never inside a run of equal ones.
    std::size_t cut = n;
    if (window != 0) {
      cut = held >= window ? 0 : std::min(n, window - held);
      while (cut < n && (cut > 0 ? time(cut) == time(cut - 1) : last == time(0))) ++cut;
    }
    const bool counted = control_.CountSamples(cut);
    if (counted && cut > 0) last = time(cut - 1);
    if (counted && cut < n) next = time(cut);
    if (in_place) {
      KeepInPlace(run, counted ? cut : 0, buffer);
    } else if (counted) {
      AppendRun(run, 0, cut, buffer.t, buffer.values);
    }
    return counted && cut == n;
  };
  const std::string& signal = source_.signals[k];
  const StoreView::RunCells into{&buffer.t, &buffer.values.num, &buffer.values.bits};
  CANVOY_RETURN_IF_ERROR(view_.ScanSampleRunsInto(vin, signal, from, to, skip, into, take));
  return next;
}

// Keeps the first `keep` rows of a run decoded onto the end of `b`: where they lie when the
// column takes them as they are (of its type, no NaN), else moved out and appended as AppendRun
// appends them.
void SourceReader::KeepInPlace(const SampleRun& run, std::size_t keep, Buffered& b) {
  const std::size_t n = run.size();
  Column& c = b.values;
  const ColumnType incoming = TypeOf(run.type);
  const bool exact = !run.bits.empty();
  const std::size_t held = b.t.size() - n;
  const std::size_t held_bits = c.bits.size() - (exact ? n : 0);
  bool nan = false;
  if (incoming == ColumnType::kDouble && !run.no_nan) {
    for (std::size_t i = 0; i < keep; ++i) nan |= run.num[i] != run.num[i];
  }
  if (!nan && (c.type == incoming || (c.type == ColumnType::kNull && held == 0))) {
    c.type = incoming;
    b.t.resize(held + keep);
    c.num.resize(held + keep);
    if (exact) c.bits.resize(held_bits + keep);
    return;
  }
  spare_.t.assign(run.t.begin(), run.t.begin() + static_cast<std::ptrdiff_t>(keep));
  spare_.values.num.assign(run.num.begin(), run.num.begin() + static_cast<std::ptrdiff_t>(keep));
  spare_.values.bits.clear();
  if (exact) {
    spare_.values.bits.assign(run.bits.begin(),
                              run.bits.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  b.t.resize(held);
  c.num.resize(held);
  c.bits.resize(held_bits);
  SampleRun moved;
  moved.type = run.type;
  moved.t = spare_.t;
  moved.num = spare_.values.num;
  moved.bits = spare_.values.bits;
  AppendRun(moved, 0, keep, b.t, c);
}

Status SourceReader::FindDeadHours(const Vin& vin, std::size_t lead, std::int64_t from,
                                   std::int64_t to) {
  dead_hours_.clear();
  const SourcePredicate& p = source_.prefilter[0];
  return view_.ScanRollups(vin, source_.signals[lead], RollupWidth::kHour, FloorTo(from, kHourUs),
                           to, [&](std::int64_t start, const Rollup& r) {
                             if (!control_.CountRollups(1)) return false;
                             if (NoneCanPass(p, r.min, r.max)) dead_hours_.push_back(start);
                             return true;
                           });
}

Result<std::optional<std::int64_t>> SourceReader::ReadPairedHours(const Vin& vin, std::int64_t from,
                                                                  std::int64_t to) {
  buffers_.resize(2);
  const bool prefilter = !source_.prefilter.empty();
  const std::size_t lead = prefilter ? source_.prefilter[0].signal : 0;
  const std::size_t other = 1 - lead;
  if (prefilter) {
    CANVOY_RETURN_IF_ERROR(FindDeadHours(vin, lead, from, to));
    if (control_.stopped()) return std::optional<std::int64_t>();
  }
  const StoreView::HourSkip dead = [this](std::int64_t hour, bool numeric) {
    return numeric && Contains(dead_hours_, hour);
  };
  for (auto& b : buffers_) {
    b.t.clear();
    b.values.Clear();
  }
  const auto cells = [this](std::size_t k) {
    return StoreView::RunCells{&buffers_[k].t, &buffers_[k].values.num, &buffers_[k].values.bits};
  };
  std::optional<std::int64_t> resume;
  Status folded = OkStatus();
  auto scanned = view_.ScanHourPairs(
      vin, source_.signals[lead], source_.signals[other], from, to, prefilter ? &dead : nullptr,
      cells(lead), cells(other), [&](const StoreView::HourPair& pair) {
        if (!control_.CountSamples(pair.a.size() + pair.b.size())) return false;
        const SampleRun* runs[2] = {nullptr, nullptr};
        const StoreView::GridPlace* places[2] = {nullptr, nullptr};
        runs[lead] = &pair.a;
        runs[other] = &pair.b;
        places[lead] = pair.grid_a;
        places[other] = pair.grid_b;
        // Grids need values that are all numbers (a NaN is dropped, which would move the
        // samples after it off their slots) on the same slots; else their timestamps are
        // written out and the hour is merged as any other.
        bool grid = places[0] != nullptr;
        for (std::size_t k = 0; k < 2 && grid; ++k) {
          if (!runs[k]->no_nan) {
            for (const double v : runs[k]->num) grid = grid && v == v;
          }
        }
        grid_.on = false;
        if (grid) grid = PrepareGrid(places);
        SampleRun timed[2];
        for (std::size_t k = 0; k < 2; ++k) {
          Buffered& b = buffers_[k];
          if (grid) {
            b.values.type = TypeOf(runs[k]->type);
            continue;
          }
          timed[k] = *runs[k];
          if (places[k] != nullptr) {  // the grid's timestamps, beside its values
            AppendGridTimes(*places[k], runs[k]->size(), b.t);
            timed[k].t = b.t;
          }
          if (timed[k].columns()) {
            KeepInPlace(timed[k], timed[k].size(), b);
          } else {
            AppendRun(timed[k], 0, timed[k].size(), b.t, b.values);
          }
        }
        const auto of_numbers = [this](std::size_t k) {
          return buffers_[k].values.type != ColumnType::kString;
        };
        if (!of_numbers(0) || !of_numbers(1)) {
          resume = pair.hour_us;
          return false;
        }
        folded = FoldJoined();
        grid_.on = false;
        for (auto& b : buffers_) {
          b.t.clear();
          b.values.Clear();
        }
        return folded.has_value() && !control_.stopped();
      });
  grid_.on = false;
  CANVOY_RETURN_IF_ERROR(scanned);
  CANVOY_RETURN_IF_ERROR(folded);
  return resume;
}

// Windows of the lead signal (the first, or the first prefilter predicate's), the others over
// the same time range. With a prefilter, the lead leaves out hours whose rollups show that none of
// its numbers passes (an hour of strings is never left out), drops its failing samples, and the
// others leave out the hours where the lead has no sample left: no row of those hours could pass.
// Rows folded where they lie (direct_) drop nothing before the join: the predicates are evaluated
// on the joined rows.
Status SourceReader::ReadJoined(const Vin& vin, std::int64_t from, std::int64_t to) {
  if (direct_ != nullptr && source_.signals.size() == 2 && view_.PairsHours()) {
    CANVOY_ASSIGN_OR_RETURN(const auto resume, ReadPairedHours(vin, from, to));
    if (!resume || control_.stopped()) return OkStatus();
    from = *resume;
  }
  buffers_.resize(source_.signals.size());
  const auto of_numbers = [this](std::size_t k) {
    return buffers_[k].values.type != ColumnType::kString;
  };
  const bool prefilter = !source_.prefilter.empty();
  const std::size_t lead = prefilter ? source_.prefilter[0].signal : 0;
  const StoreView::HourSkip dead = [this](std::int64_t hour, bool numeric) {
    return numeric && Contains(dead_hours_, hour);
  };
  const StoreView::HourSkip unused = [this](std::int64_t hour, bool) {
    return !Contains(live_hours_, hour);
  };
  if (prefilter) {
    CANVOY_RETURN_IF_ERROR(FindDeadHours(vin, lead, from, to));
    if (control_.stopped()) return OkStatus();
  }
  std::int64_t start = from;
  for (;;) {
    CANVOY_ASSIGN_OR_RETURN(auto next,
                            Buffer(vin, lead, start, to, kJoinWindow, prefilter ? &dead : nullptr));
    if (control_.stopped()) return OkStatus();
    if (buffers_[lead].t.empty() && !next) return OkStatus();
    const std::int64_t end = next.value_or(to);
    live_hours_.clear();
    // Folded joins evaluate the predicates on the joined rows: nothing is dropped before.
    bool direct = direct_ != nullptr && source_.signals.size() == 2 && of_numbers(lead);
    bool exact = true;  // every sample left passes its predicates
    const auto drop_lead = [&] {
      for (const SourcePredicate& p : source_.prefilter) {
        if (p.signal == lead) exact &= DropFailing(buffers_[lead].t, buffers_[lead].values, p);
      }
    };
    if (!direct) drop_lead();
    // The hours of the lead's samples: times are sorted, so each hour's end is found by a
    // binary search from its first sample.
    const auto& lead_t = buffers_[lead].t;
    for (auto it = lead_t.begin(); it != lead_t.end();) {
      const std::int64_t hour = FloorTo(*it, kHourUs);
      live_hours_.push_back(hour);
      if (hour > std::numeric_limits<std::int64_t>::max() - kHourUs) break;
      it = std::lower_bound(it, lead_t.end(), hour + kHourUs);
    }
    for (std::size_t k = 0; k < source_.signals.size(); ++k) {
      if (k == lead) continue;
      CANVOY_RETURN_IF_ERROR(Buffer(vin, k, start, end, 0, prefilter ? &unused : nullptr));
      if (control_.stopped()) return OkStatus();
    }
    if (direct && !of_numbers(1 - lead)) {
      direct = false;
      drop_lead();
    }
    if (direct) {
      CANVOY_RETURN_IF_ERROR(FoldJoined());
      if (!next || control_.stopped()) return OkStatus();
      start = *next;
      continue;
    }
    for (const SourcePredicate& p : source_.prefilter) {
      if (p.signal != lead)
        exact &= DropFailing(buffers_[p.signal].t, buffers_[p.signal].values, p);
    }
    Join();
    chunk_.prefiltered = prefilter && exact && source_.prefilter_complete;
    CANVOY_RETURN_IF_ERROR(Flush());
    if (!next || control_.stopped()) return OkStatus();
    start = *next;
  }
}

Status SourceReader::ScanRollups(const Vin& vin, RollupWidth width, std::int64_t from,
                                 std::int64_t to) {
  if (from >= to) return OkStatus();
  Status folded = OkStatus();
  auto scanned = view_.ScanRollups(vin, source_.signals[0], width, from, to,
                                   [&](std::int64_t start, const Rollup& r) {
                                     if (!control_.CountRollups(1)) return false;
                                     folded = rollups_->FoldRollup(start, r);
                                     return folded.has_value();
                                   });
  CANVOY_RETURN_IF_ERROR(scanned);
  return folded;
}

// The aligned interior of [from, to) comes from hour rollups (when the bucket width is whole
// hours) and minute rollups, the unaligned edges from samples, all in time order.
Status SourceReader::ReadWithRollups(const Vin& vin, std::int64_t from, std::int64_t to) {
  const std::string& signal = source_.signals[0];
  // Strings have no rollups: a signal whose newest value is a string is bucketed from samples.
  CANVOY_ASSIGN_OR_RETURN(auto latest, view_.GetLatest(vin, signal));
  if (!latest) return OkStatus();
  if (latest->sample.value.index() == 4) return ReadOne(vin, signal, from, to);

  const std::int64_t m0 = CeilTo(from, kMinuteUs);
  const std::int64_t m1 = FloorTo(to, kMinuteUs);
  if (m0 >= m1) return ReadOne(vin, signal, from, to);
  CANVOY_RETURN_IF_ERROR(ReadOne(vin, signal, from, m0));
  if (control_.stopped()) return OkStatus();
  std::int64_t h0 = m1;
  std::int64_t h1 = m1;
  const std::int64_t width = rollups_->width_us();
  if (width % kHourUs == 0) {
    h0 = std::max(m0, CeilTo(from, kHourUs));
    h1 = std::min(m1, FloorTo(to, kHourUs));
    if (h0 >= h1) h0 = h1 = m1;
  }
  CANVOY_RETURN_IF_ERROR(ScanRollups(vin, RollupWidth::kMinute, m0, h0));
  if (control_.stopped()) return OkStatus();
  CANVOY_RETURN_IF_ERROR(ScanRollups(vin, RollupWidth::kHour, h0, h1));
  if (control_.stopped()) return OkStatus();
  CANVOY_RETURN_IF_ERROR(ScanRollups(vin, RollupWidth::kMinute, h1, m1));
  if (control_.stopped()) return OkStatus();
  return ReadOne(vin, signal, m1, to);
}

}  // namespace canvoy::fleet_store::query
