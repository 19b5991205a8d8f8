#include "spool/disk_spool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "spool/spool_file.h"
#include "spool/spool_format.h"

namespace canvoy::agent {

using spool::File;
using spool::kAckRecordSize;
using spool::kRecordHeaderSize;
using spool::kSegmentHeaderSize;
using spool::RecordType;

DiskSpool::DiskSpool(DiskSpoolOptions options, StreamId stream_id, int lock_fd)
    : options_(std::move(options)), stream_id_(stream_id), lock_fd_(lock_fd) {}

DiskSpool::~DiskSpool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  {
    std::lock_guard lock(mu_);
    if (options_.fsync.mode != FsyncPolicy::Mode::kNever) SyncLocked();
    segments_.clear();
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status DiskSpool::WriteMetaLocked(std::uint64_t next_seq) {
  const bool sync = options_.fsync.mode != FsyncPolicy::Mode::kNever;
  CANVOY_RETURN_IF_ERROR(spool::ReplaceFile(options_.dir / spool::kMetaFileName,
                                            spool::EncodeMeta({stream_id_, next_seq}), sync));
  if (sync) stats_.fsyncs += 2;
  reserved_seq_ = next_seq;
  return OkStatus();
}

std::uint64_t DiskSpool::BytesLocked() const {
  // Each held batch counts its future ack record too, so acks never push the files past the cap.
  std::uint64_t bytes = 0;
  for (const auto& [n, s] : segments_) bytes += s->size + kAckRecordSize * s->live.size();
  return bytes;
}

bool DiskSpool::MakeRoomLocked(BatchPriority incoming, std::uint64_t need) {
  if (BytesLocked() + need <= options_.max_bytes) return true;
  // Fully acknowledged segments still taking appends go first: they hold nothing.
  std::vector<Segment*> dead;
  for (auto& [n, s] : segments_) {
    if (s->live.empty()) dead.push_back(s.get());
  }
  for (Segment* s : dead) DeleteSegmentLocked(s);
  while (BytesLocked() + need > options_.max_bytes) {
    // Lowest priority first, then oldest: segments_ is in creation order, and within one
    // priority a segment holds only batches older than the next one's.
    Segment* victim = nullptr;
    for (auto& [n, s] : segments_) {
      if (victim == nullptr || s->priority < victim->priority) victim = s.get();
    }
    if (victim == nullptr || victim->priority > incoming) return false;
    EvictLocked(victim);
  }
  return true;
}

void DiskSpool::EvictLocked(Segment* segment) {
  std::uint64_t bytes = 0;
  for (const std::uint64_t seq : segment->live) {
    bytes += index_.at(seq).payload_size;
    index_.erase(seq);
  }
  const std::size_t batches = segment->live.size();
  stats_.evicted_batches += batches;
  stats_.evicted_bytes += bytes;
  spdlog::warn(
      "msg=\"spool full: evicted the oldest segment of the lowest priority\" file={} priority={} "
      "batches={} bytes={} first_seq={} last_seq={} evicted_batches_total={} max_bytes={}",
      segment->file->path().string(), segment->priority, batches, bytes,
      segment->live.empty() ? 0 : *segment->live.begin(),
      segment->live.empty() ? 0 : *segment->live.rbegin(), stats_.evicted_batches,
      options_.max_bytes);
  segment->live.clear();
  DeleteSegmentLocked(segment);
  if (closed_ && index_.empty()) drained_.notify_all();
}

void DiskSpool::DeleteSegmentLocked(Segment* segment) {
  auto active = active_.find(segment->priority);
  if (active != active_.end() && active->second == segment) active_.erase(active);
  dirty_.erase(segment->number);
  std::error_code ec;
  std::filesystem::remove(segment->file->path(), ec);
  if (ec)
    spdlog::warn("msg=\"spool: cannot delete segment\" file={} error=\"{}\"",
                 segment->file->path().string(), ec.message());
  segments_.erase(segment->number);  // the descriptor stays open while the flusher holds it
}

Result<DiskSpool::Segment*> DiskSpool::WritableSegmentLocked(BatchPriority priority,
                                                             std::uint64_t record_size) {
  if (auto it = active_.find(priority); it != active_.end()) {
    Segment* s = it->second;
    if (s->size == kSegmentHeaderSize || s->size + record_size <= options_.segment_bytes) return s;
    SealLocked(s);
  }
  return CreateSegmentLocked(priority);
}

Result<DiskSpool::Segment*> DiskSpool::CreateSegmentLocked(BatchPriority priority) {
  const std::uint64_t number = next_segment_++;
  const std::filesystem::path path = spool::SegmentPath(options_.dir, number);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return spool::IoError(path, "create", errno);
  auto segment = std::make_unique<Segment>();
  segment->number = number;
  segment->priority = priority;
  segment->file = std::make_shared<File>(fd, path);
  const std::string header = spool::EncodeSegmentHeader(priority, stream_id_);
  Status written = spool::WriteAt(*segment->file, 0, header);
  // A new segment is a roll: its header and its name in the directory are made durable now.
  if (written && options_.fsync.mode != FsyncPolicy::Mode::kNever) {
    written = spool::SyncData(*segment->file);
    if (written) written = spool::SyncDirectory(options_.dir);
    if (written) stats_.fsyncs += 2;
  }
  if (!written) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return written.error();
  }
  segment->size = header.size();
  Segment* raw = segment.get();
  segments_.emplace(number, std::move(segment));
  active_[priority] = raw;
  return raw;
}

void DiskSpool::SealLocked(Segment* segment) {
  segment->sealed = true;
  active_.erase(segment->priority);
  if (options_.fsync.mode != FsyncPolicy::Mode::kNever && dirty_.erase(segment->number) != 0) {
    if (auto s = spool::SyncData(*segment->file); !s)
      spdlog::error("msg=\"spool: sync failed\" error=\"{}\"", s.error().message());
    else
      ++stats_.fsyncs;
  }
  if (segment->live.empty()) DeleteSegmentLocked(segment);
}

void DiskSpool::SyncLocked() {
  for (const auto& [n, file] : dirty_) {
    if (auto s = spool::SyncData(*file); !s)
      spdlog::error("msg=\"spool: sync failed\" error=\"{}\"", s.error().message());
    else
      ++stats_.fsyncs;
  }
  dirty_.clear();
}

void DiskSpool::FlushLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    flusher_wake_.wait_for(lock, options_.fsync.interval, [this] { return stopping_; });
    if (stopping_ || dirty_.empty()) continue;
    // Sync outside the lock: the collector and the uplink go on meanwhile (group commit).
    auto files = std::move(dirty_);
    dirty_.clear();
    lock.unlock();
    std::uint64_t synced = 0;
    for (const auto& [n, file] : files) {
      if (auto s = spool::SyncData(*file); !s)
        spdlog::error("msg=\"spool: sync failed\" error=\"{}\"", s.error().message());
      else
        ++synced;
    }
    lock.lock();
    stats_.fsyncs += synced;
  }
}

std::uint64_t DiskSpool::NextSeq() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

Status DiskSpool::Append(std::uint64_t seq, std::string payload, BatchPriority priority) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Error(Errc::kInvalidArgument, "spool: append after close");
    if (seq != next_seq_) {
      return Error(Errc::kInvalidArgument, "spool: append of seq " + std::to_string(seq) +
                                               ", expected " + std::to_string(next_seq_));
    }
    if (payload.size() > spool::kMaxPayloadBytes) {
      return Error(Errc::kInvalidArgument,
                   "spool: batch of " + std::to_string(payload.size()) + " bytes is too large");
    }
    // The seq is reserved in spool.meta before anything can send it.
    if (seq >= reserved_seq_) CANVOY_RETURN_IF_ERROR(WriteMetaLocked(seq + kSeqReservation));
    const std::uint64_t record_size = kRecordHeaderSize + payload.size();
    const std::uint64_t need = record_size + kAckRecordSize + kSegmentHeaderSize;
    if (need > options_.max_bytes || !MakeRoomLocked(priority, need)) {
      // Everything left is more important: this batch is the one evicted.
      ++stats_.evicted_batches;
      stats_.evicted_bytes += payload.size();
      spdlog::warn(
          "msg=\"spool full: evicted the arriving batch, everything held is more important\" "
          "seq={} "
          "priority={} bytes={} evicted_batches_total={} max_bytes={}",
          seq, priority, payload.size(), stats_.evicted_batches, options_.max_bytes);
      next_seq_ = seq + 1;
      return OkStatus();
    }
    CANVOY_ASSIGN_OR_RETURN(Segment * segment, WritableSegmentLocked(priority, record_size));
    const std::string record = spool::EncodeRecord(RecordType::kBatch, priority, seq, payload);
    if (auto written = spool::WriteAt(*segment->file, segment->size, record); !written) {
      (void)spool::Truncate(*segment->file, segment->size);  // no torn record left behind
      return written.error();
    }
    index_.emplace(seq,
                   Location{segment, segment->size, static_cast<std::uint32_t>(payload.size())});
    segment->live.insert(seq);
    segment->size += record.size();
    dirty_[segment->number] = segment->file;
    next_seq_ = seq + 1;
    if (options_.fsync.mode == FsyncPolicy::Mode::kEveryAppend) SyncLocked();
  }
  Notify();
  return OkStatus();
}

void DiskSpool::Ack(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = index_.find(seq);
  if (it == index_.end()) return;  // evicted, dropped, or acknowledged before
  Segment* segment = it->second.segment;
  index_.erase(it);
  segment->live.erase(seq);
  if (segment->live.empty() && (segment->sealed || closed_)) {
    DeleteSegmentLocked(segment);  // its last batch: no ack record needed, the file goes
  } else {
    const std::string record = spool::EncodeRecord(RecordType::kAck, segment->priority, seq, {});
    if (auto written = spool::WriteAt(*segment->file, segment->size, record); !written) {
      ++stats_.ack_write_errors;
      (void)spool::Truncate(*segment->file, segment->size);
      spdlog::warn(
          "msg=\"spool: ack not recorded; the batch is resent after a restart\" seq={} "
          "error=\"{}\"",
          seq, written.error().message());
    } else {
      segment->size += record.size();
      dirty_[segment->number] = segment->file;
    }
  }
  if (closed_ && index_.empty()) drained_.notify_all();
}

std::optional<std::pair<std::uint64_t, std::string>> DiskSpool::NextAfter(std::uint64_t after) {
  std::lock_guard lock(mu_);
  for (auto it = index_.upper_bound(after); it != index_.end(); it = index_.upper_bound(after)) {
    const std::uint64_t seq = it->first;
    const Location loc = it->second;
    std::string bytes;
    Status read =
        spool::ReadAt(*loc.segment->file, loc.offset, kRecordHeaderSize + loc.payload_size, &bytes);
    std::string_view payload;
    if (read) read = spool::CheckRecord(bytes, seq, &payload);
    if (read) {
      bytes.erase(0, kRecordHeaderSize);
      return std::make_pair(seq, std::move(bytes));
    }
    DropCorruptLocked(seq, read.error().message());
  }
  return std::nullopt;
}

void DiskSpool::DropCorruptLocked(std::uint64_t seq, const std::string& problem) {
  const Location loc = index_.at(seq);
  spdlog::error(
      "msg=\"spool: batch failed its check when read back, dropped\" file={} offset={} seq={} "
      "problem=\"{}\"",
      loc.segment->file->path().string(), loc.offset, seq, problem);
  ++stats_.corrupt_cuts;
  stats_.corrupt_bytes_cut += kRecordHeaderSize + loc.payload_size;
  index_.erase(seq);
  loc.segment->live.erase(seq);
  if (loc.segment->live.empty() && loc.segment->sealed) DeleteSegmentLocked(loc.segment);
  if (closed_ && index_.empty()) drained_.notify_all();
}

void DiskSpool::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    // No more appends: give back the rest of the reservation, so a clean restart goes on at
    // exactly next_seq_.
    if (reserved_seq_ != next_seq_) {
      if (auto s = WriteMetaLocked(next_seq_); !s)
        spdlog::warn("msg=\"spool: meta not updated\" error=\"{}\"", s.error().message());
    }
    std::vector<Segment*> dead;
    for (auto& [n, s] : segments_) {
      if (s->live.empty()) dead.push_back(s.get());
    }
    for (Segment* s : dead) DeleteSegmentLocked(s);
    if (options_.fsync.mode != FsyncPolicy::Mode::kNever) SyncLocked();
    if (index_.empty()) drained_.notify_all();
  }
  Notify();
}

bool DiskSpool::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::size_t DiskSpool::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

bool DiskSpool::WaitDrained(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return drained_.wait_until(lock, deadline, [this] { return closed_ && index_.empty(); });
}

void DiskSpool::SetListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

SpoolStats DiskSpool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s = stats_;
  s.batches = index_.size();
  s.bytes = BytesLocked();
  s.segments = segments_.size();
  return s;
}

void DiskSpool::Notify() {
  std::function<void()> listener;
  {
    std::lock_guard lock(mu_);
    listener = listener_;
  }
  if (listener) listener();
}

}  // namespace canvoy::agent
