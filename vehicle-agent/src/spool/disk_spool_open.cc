// DiskSpool: options, and opening a spool directory (recovery: torn tails, acknowledged
// segments, the seq reservation, the byte cap).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "spool/disk_spool.h"
#include "spool/spool_file.h"
#include "spool/spool_format.h"

namespace canvoy::agent {

using spool::File;
using spool::RecordType;

namespace {

constexpr std::uint64_t kMinSegmentBytes = 4096;
constexpr std::uint64_t kMaxSegmentBytes = 1u << 30;

}  // namespace

Status DiskSpoolOptions::Validate() const {
  if (dir.empty()) return Error(Errc::kInvalidArgument, "--spool-dir: required");
  if (segment_bytes < kMinSegmentBytes || segment_bytes > kMaxSegmentBytes) {
    return Error(Errc::kInvalidArgument, "--spool-segment-bytes " + std::to_string(segment_bytes) +
                                             ": expected 4096 to 1073741824");
  }
  // Eviction frees whole segments, so the cap must hold more than one.
  if (max_bytes < 2 * segment_bytes) {
    return Error(Errc::kInvalidArgument, "--spool-max-bytes " + std::to_string(max_bytes) +
                                             ": at least twice --spool-segment-bytes (" +
                                             std::to_string(segment_bytes) + ")");
  }
  if (fsync.mode == FsyncPolicy::Mode::kInterval &&
      (fsync.interval.count() < 1 || fsync.interval > std::chrono::hours(1))) {
    return Error(Errc::kInvalidArgument,
                 "--spool-fsync interval:" + std::to_string(fsync.interval.count()) +
                     ": expected 1 to 3600000 ms");
  }
  return OkStatus();
}

Result<std::unique_ptr<DiskSpool>> DiskSpool::Open(const DiskSpoolOptions& options) {
  CANVOY_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Error(Errc::kIo, "--spool-dir " + options.dir.string() + ": " + ec.message());
  const std::filesystem::path lock_path = options.dir / spool::kLockFileName;
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return spool::IoError(lock_path, "open", errno);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(lock_fd);
    if (err == EWOULDBLOCK) {
      return Error(Errc::kUnavailable,
                   "--spool-dir " + options.dir.string() + ": in use by another process");
    }
    return spool::IoError(lock_path, "flock", err);
  }
  // The stream id: from spool.meta; else (meta lost or damaged) from a segment; else a new one.
  std::string meta_problem;
  std::optional<spool::Meta> meta;
  const std::filesystem::path meta_path = options.dir / spool::kMetaFileName;
  if (std::filesystem::exists(meta_path)) {
    const int fd = ::open(meta_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ::close(lock_fd);
      return spool::IoError(meta_path, "open", errno);
    }
    const File file(fd, meta_path);
    std::string bytes;
    if (auto read = spool::ReadAt(file, 0, spool::kMetaSize + 1, &bytes); !read) {
      ::close(lock_fd);
      return read.error();
    }
    auto decoded = spool::DecodeMeta(bytes);
    if (decoded)
      meta = decoded.value();
    else
      meta_problem = decoded.error().message();
  }
  std::optional<StreamId> stream_id;
  if (meta) stream_id = meta->stream_id;
  bool had_segments = false;
  for (const auto& entry : std::filesystem::directory_iterator(options.dir, ec)) {
    if (spool::SegmentNumber(entry.path()) == 0) continue;
    had_segments = true;
    if (stream_id) break;
    if (auto scan = spool::ScanSegment(entry.path()); scan && scan.value().header_ok)
      stream_id = scan.value().stream_id;
  }
  if (!meta_problem.empty()) {
    spdlog::error("msg=\"spool: spool.meta is damaged\" file={} problem=\"{}\" stream_id_from={}",
                  meta_path.string(), meta_problem, stream_id ? "segment" : "new");
  }
  auto spool = std::unique_ptr<DiskSpool>(
      new DiskSpool(options, stream_id ? *stream_id : StreamId::Random(), lock_fd));
  {
    std::lock_guard lock(spool->mu_);
    spool->next_seq_ = meta ? meta->next_seq : 1;
    CANVOY_RETURN_IF_ERROR(spool->Load());
    // Without a trustworthy meta file nobody knows which seqs were handed out beyond the
    // segments' highest: skip a whole reservation.
    if (!meta && (had_segments || !meta_problem.empty())) spool->next_seq_ += kSeqReservation;
    CANVOY_RETURN_IF_ERROR(spool->WriteMetaLocked(spool->next_seq_ + kSeqReservation));
    spool->MakeRoomLocked(std::numeric_limits<BatchPriority>::max(), 0);
    const SpoolStats& s = spool->stats_;
    spdlog::info(
        "msg=\"spool opened\" dir={} stream_id={} next_seq={} batches={} segments={} bytes={} "
        "corrupt_cuts={} corrupt_bytes_cut={} fsync={}",
        options.dir.string(), spool->stream_id_.Hex(), spool->next_seq_, spool->index_.size(),
        spool->segments_.size(), spool->BytesLocked(), s.corrupt_cuts, s.corrupt_bytes_cut,
        options.fsync.ToString());
  }
  if (options.fsync.mode == FsyncPolicy::Mode::kInterval) {
    spool->flusher_ = std::thread([raw = spool.get()] { raw->FlushLoop(); });
  }
  return spool;
}

Status DiskSpool::Load() {
  std::vector<std::uint64_t> numbers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    if (const std::uint64_t n = spool::SegmentNumber(entry.path()); n != 0) numbers.push_back(n);
  }
  if (ec) return Error(Errc::kIo, "--spool-dir " + options_.dir.string() + ": " + ec.message());
  std::sort(numbers.begin(), numbers.end());
  std::uint64_t max_seq = 0;
  for (const std::uint64_t n : numbers) CANVOY_RETURN_IF_ERROR(LoadSegment(n, &max_seq));
  next_seq_ = std::max(next_seq_, max_seq + 1);
  next_segment_ = numbers.empty() ? 1 : numbers.back() + 1;
  std::vector<Segment*> dead;
  for (auto& [n, s] : segments_) {
    if (s->live.empty()) dead.push_back(s.get());
  }
  for (Segment* s : dead) DeleteSegmentLocked(s);
  return OkStatus();
}

Status DiskSpool::LoadSegment(std::uint64_t number, std::uint64_t* max_seq) {
  const std::filesystem::path path = spool::SegmentPath(options_.dir, number);
  CANVOY_ASSIGN_OR_RETURN(const spool::SegmentScan scan, spool::ScanSegment(path));
  const bool sync = options_.fsync.mode != FsyncPolicy::Mode::kNever;
  if (!scan.header_ok) {
    // Nothing in it can be trusted: every byte is cut. (An empty file is a segment whose creation
    // a crash interrupted; nothing was in it.)
    if (scan.file_size > 0) {
      spdlog::warn("msg=\"spool: cut corrupt segment\" file={} offset=0 bytes={} problem=\"{}\"",
                   path.string(), scan.file_size, scan.problem);
      ++stats_.corrupt_cuts;
      stats_.corrupt_bytes_cut += scan.file_size;
    }
    std::filesystem::remove(path);
    return OkStatus();
  }
  if (scan.stream_id != stream_id_) {
    return Error(Errc::kInvalidArgument, path.string() + ": belongs to stream " +
                                             scan.stream_id.Hex() + ", not to this spool's " +
                                             stream_id_.Hex());
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return spool::IoError(path, "open", errno);
  auto segment = std::make_unique<Segment>();
  segment->number = number;
  segment->priority = scan.priority;
  segment->file = std::make_shared<File>(fd, path);
  segment->size = scan.good_end;
  segment->sealed = true;
  if (scan.good_end < scan.file_size) {
    spdlog::warn("msg=\"spool: cut corrupt tail\" file={} offset={} bytes={} problem=\"{}\"",
                 path.string(), scan.good_end, scan.file_size - scan.good_end, scan.problem);
    ++stats_.corrupt_cuts;
    stats_.corrupt_bytes_cut += scan.file_size - scan.good_end;
    CANVOY_RETURN_IF_ERROR(spool::Truncate(*segment->file, scan.good_end));
    if (sync) {
      CANVOY_RETURN_IF_ERROR(spool::SyncData(*segment->file));
      ++stats_.fsyncs;
    }
  }
  for (const spool::ScannedRecord& r : scan.records) {
    *max_seq = std::max(*max_seq, r.seq);
    if (r.type == RecordType::kAck) {
      auto it = index_.find(r.seq);
      if (it != index_.end() && it->second.segment == segment.get()) {
        index_.erase(it);
        segment->live.erase(r.seq);
      }
      continue;
    }
    if (!index_.emplace(r.seq, Location{segment.get(), r.offset, r.payload_size}).second) {
      spdlog::warn(
          "msg=\"spool: seq stored twice, the later copy is ignored\" file={} offset={} seq={}",
          path.string(), r.offset, r.seq);
      continue;
    }
    segment->live.insert(r.seq);
  }
  segments_.emplace(number, std::move(segment));
  return OkStatus();
}

}  // namespace canvoy::agent
