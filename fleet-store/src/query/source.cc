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
  if (type == ColumnType::kDouble) {
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

bool Passes(Op op, double v, double number) {
  switch (op) {
    case Op::kLt:
      return v < number;
    case Op::kLe:
      return v <= number;
    case Op::kGt:
      return v > number;
    case Op::kGe:
      return v >= number;
    default:
      return v == number;
  }
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

// pass[i] = num[i] op number (`first`), or pass[i] &= it.
template <Op kOp>
void Mark(const double* num, std::size_t n, double number, bool first, std::uint8_t* pass) {
  if (first) {
    for (std::size_t i = 0; i < n; ++i) pass[i] = Passes(kOp, num[i], number) ? 1 : 0;
  } else {
    for (std::size_t i = 0; i < n; ++i) pass[i] &= Passes(kOp, num[i], number) ? 1 : 0;
  }
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
    const auto time = [&run](std::size_t i) {
      return run.columns() ? run.t[i] : run.samples[i].timestamp_us;
    };
    // A window ends between two timestamps, never inside a run of equal ones.
    std::size_t cut = n;
    if (window != 0) {
      cut = buffer.t.size() >= window ? 0 : std::min(n, window - buffer.t.size());
      while (cut < n && (cut > 0 ? time(cut) == time(cut - 1) : last == time(0))) ++cut;
    }
    if (!control_.CountSamples(cut)) return false;
    AppendRun(run, 0, cut, buffer.t, buffer.values);
    if (cut > 0) last = time(cut - 1);
    if (cut == n) return true;
    next = time(cut);
    return false;
  };
  const std::string& signal = source_.signals[k];
  CANVOY_RETURN_IF_ERROR(skip != nullptr
                             ? view_.ScanSampleRunsSkipping(vin, signal, from, to, *skip, take)
                             : view_.ScanSampleRuns(vin, signal, from, to, take));
  return next;
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

// An inner join on equal timestamps: at a timestamp where every signal has samples, the j-th
// sample of each signal makes the j-th row (ties are ordered by value by the store).
void SourceReader::Join() {
  const std::size_t n = buffers_.size();
  // The usual case, every signal sampled at the same times (one message, one reading): the
  // buffers are the rows. The chunk is empty here (Flush cleared it).
  bool same = true;
  for (std::size_t k = 1; k < n && same; ++k) same = buffers_[k].t == buffers_[0].t;
  if (same) {
    chunk_.t.swap(buffers_[0].t);
    for (std::size_t k = 0; k < n; ++k) std::swap(chunk_.columns[k], buffers_[k].values);
    return;
  }
  at_.assign(n, 0);
  joined_.resize(n);
  for (auto& rows : joined_) rows.clear();
  if (n == 2) {
    JoinTwo();
  } else {
    JoinMany();
  }
  for (std::size_t k = 0; k < n; ++k) chunk_.columns[k].Gather(buffers_[k].values, joined_[k]);
}

// Two signals: a merge of two sorted timestamp lists. The rows are at most the shorter list, so
// the outputs are sized once and written through pointers.
void SourceReader::JoinTwo() {
  const std::int64_t* a = buffers_[0].t.data();
  const std::int64_t* b = buffers_[1].t.data();
  const std::size_t na = buffers_[0].t.size();
  const std::size_t nb = buffers_[1].t.size();
  const std::size_t most = std::min(na, nb);
  chunk_.t.resize(most);
  joined_[0].resize(most);
  joined_[1].resize(most);
  std::int64_t* t_out = chunk_.t.data();
  std::uint32_t* ia = joined_[0].data();
  std::uint32_t* ib = joined_[1].data();
  std::size_t rows = 0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < na && j < nb) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      const std::int64_t t = a[i];
      std::size_t i_end = i + 1;
      while (i_end < na && a[i_end] == t) ++i_end;
      std::size_t j_end = j + 1;
      while (j_end < nb && b[j_end] == t) ++j_end;
      const std::size_t ties = std::min(i_end - i, j_end - j);
      for (std::size_t r = 0; r < ties; ++r, ++rows) {
        t_out[rows] = t;
        ia[rows] = static_cast<std::uint32_t>(i + r);
        ib[rows] = static_cast<std::uint32_t>(j + r);
      }
      i = i_end;
      j = j_end;
    }
  }
  chunk_.t.resize(rows);
  joined_[0].resize(rows);
  joined_[1].resize(rows);
}

// The rows of the two buffers' join whose samples' passes_ are 1 (a signal without predicates
// passes every sample), as JoinTwo pairs them, into chunk_.t and joined_; returns their number.
// Timestamps of signals read from one message mostly agree, so the usual step is both sides at
// once; the row is written, and kept only when it passes.
template <bool kMaskA, bool kMaskB>
std::size_t SourceReader::JoinPassing() {
  const std::int64_t* a = buffers_[0].t.data();
  const std::int64_t* b = buffers_[1].t.data();
  const std::size_t na = buffers_[0].t.size();
  const std::size_t nb = buffers_[1].t.size();
  const std::uint8_t* pass_a = passes_[0].data();
  const std::uint8_t* pass_b = passes_[1].data();
  std::int64_t* t_out = chunk_.t.data();
  std::uint32_t* ia = joined_[0].data();
  std::uint32_t* ib = joined_[1].data();
  const auto passes = [&](std::size_t i, std::size_t j) -> std::size_t {
    unsigned p = 1;
    if constexpr (kMaskA) p &= pass_a[i];
    if constexpr (kMaskB) p &= pass_b[j];
    return p;
  };
  std::size_t rows = 0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < na && j < nb) {
    // Both sides step together while their timestamps agree and are not tied.
    while (i + 1 < na && j + 1 < nb) {
      const std::int64_t t = a[i];
      if (t == b[j] && a[i + 1] != t && b[j + 1] != t) {
        t_out[rows] = t;
        ia[rows] = static_cast<std::uint32_t>(i);
        ib[rows] = static_cast<std::uint32_t>(j);
        rows += passes(i, j);
        ++i;
        ++j;
      } else if (t < b[j]) {
        ++i;
      } else if (b[j] < t) {
        ++j;
      } else {
        break;  // tied
      }
    }
    if (i == na || j == nb) break;
    // A tie, or the last sample of a side: one timestamp of the general merge.
    const std::int64_t t = a[i];
    if (t == b[j]) {
      std::size_t i_end = i + 1;
      while (i_end < na && a[i_end] == t) ++i_end;
      std::size_t j_end = j + 1;
      while (j_end < nb && b[j_end] == t) ++j_end;
      const std::size_t ties = std::min(i_end - i, j_end - j);
      for (std::size_t r = 0; r < ties; ++r) {
        t_out[rows] = t;
        ia[rows] = static_cast<std::uint32_t>(i + r);
        ib[rows] = static_cast<std::uint32_t>(j + r);
        rows += passes(i + r, j + r);
      }
      i = i_end;
      j = j_end;
    } else if (t < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return rows;
}

Status SourceReader::FoldJoined() {
  passes_.resize(2);
  bool masked[2] = {false, false};
  for (const SourcePredicate& p : source_.prefilter) {
    const Column& c = buffers_[p.signal].values;
    auto& pass = passes_[p.signal];
    const std::size_t n = c.size();
    if (!masked[p.signal]) pass.resize(n);
    const bool first = !masked[p.signal];
    masked[p.signal] = true;
    switch (p.op) {
      case Op::kLt:
        Mark<Op::kLt>(c.num.data(), n, p.number, first, pass.data());
        break;
      case Op::kLe:
        Mark<Op::kLe>(c.num.data(), n, p.number, first, pass.data());
        break;
      case Op::kGt:
        Mark<Op::kGt>(c.num.data(), n, p.number, first, pass.data());
        break;
      case Op::kGe:
        Mark<Op::kGe>(c.num.data(), n, p.number, first, pass.data());
        break;
      default:
        Mark<Op::kEq>(c.num.data(), n, p.number, first, pass.data());
    }
  }
  const std::size_t most = std::min(buffers_[0].t.size(), buffers_[1].t.size());
  chunk_.t.resize(most);
  joined_.resize(2);
  joined_[0].resize(most);
  joined_[1].resize(most);
  std::size_t rows = 0;
  if (masked[0] && masked[1]) {
    rows = JoinPassing<true, true>();
  } else if (masked[0]) {
    rows = JoinPassing<true, false>();
  } else if (masked[1]) {
    rows = JoinPassing<false, true>();
  } else {
    rows = JoinPassing<false, false>();
  }
  const std::vector<const Column*> columns = {&buffers_[0].values, &buffers_[1].values};
  const std::vector<const std::uint32_t*> at = {joined_[0].data(), joined_[1].data()};
  auto status = direct_->FoldJoined(columns, at, chunk_.t.data(), rows);
  chunk_.t.clear();
  return status;
}

void SourceReader::JoinMany() {
  const std::size_t n = buffers_.size();
  for (;;) {
    std::int64_t t = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (at_[k] == buffers_[k].t.size()) break;
      t = k == 0 ? buffers_[k].t[at_[k]] : std::max(t, buffers_[k].t[at_[k]]);
    }
    bool all = true;
    bool done = false;
    std::size_t rows = SIZE_MAX;
    for (std::size_t k = 0; k < n && !done; ++k) {
      const auto& times = buffers_[k].t;
      std::size_t& i = at_[k];
      while (i < times.size() && times[i] < t) ++i;
      std::size_t end = i;
      while (end < times.size() && times[end] == t) ++end;
      done = i == times.size();
      if (end == i) all = false;
      rows = std::min(rows, end - i);
    }
    if (done) break;
    if (!all) continue;
    for (std::size_t j = 0; j < rows; ++j) {
      chunk_.t.push_back(t);
      for (std::size_t k = 0; k < n; ++k)
        joined_[k].push_back(static_cast<std::uint32_t>(at_[k] + j));
    }
    for (std::size_t k = 0; k < n; ++k) {
      while (at_[k] < buffers_[k].t.size() && buffers_[k].t[at_[k]] == t) ++at_[k];
    }
  }
}

// Windows of the lead signal (the first, or the first prefilter predicate's), the others over
// the same time range. With a prefilter, the lead leaves out hours whose rollups show that none of
// its numbers passes (an hour of strings is never left out), drops its failing samples, and the
// others leave out the hours where the lead has no sample left: no row of those hours could pass.
Status SourceReader::ReadJoined(const Vin& vin, std::int64_t from, std::int64_t to) {
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
