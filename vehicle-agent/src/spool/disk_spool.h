// The crash-safe Spool: batches in checksummed segment files in a directory, until ingest
// acknowledges them. Format: spool_format.h; policies (fsync, byte cap, eviction, seq
// reservation): vehicle-agent/README.md, "Spool".
//
// Thread-safe: any thread may call any method. With FsyncPolicy::kInterval a flusher thread of
// its own syncs what was written; it ends with the spool. One process at a time per directory
// (an flock on spool.lock, which the kernel drops when the process dies).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "canvoy/agent/agent.h"
#include "spool/spool.h"
#include "spool/spool_file.h"

namespace canvoy::agent {

struct DiskSpoolOptions {
  std::filesystem::path dir;               // required; created when missing
  std::uint64_t max_bytes = 64u << 20;     // cap on the segments' bytes (README "Spool")
  std::uint64_t segment_bytes = 4u << 20;  // a segment rolls when a batch would pass this
  FsyncPolicy fsync;                       // default: interval of 1 s

  // Errors name the option (--spool-dir, --spool-max-bytes, --spool-segment-bytes, --spool-fsync).
  Status Validate() const;
};

class DiskSpool final : public Spool {
 public:
  // Seqs reserved ahead in spool.meta. After a crash the next seq is the end of the reservation,
  // so a seq that may have been sent before the crash is never given to other data.
  static constexpr std::uint64_t kSeqReservation = 1024;

  // Opens (or creates) the spool: checks every segment, cuts torn or corrupt tails (logged with
  // file and offset, counted in stats()), drops fully acknowledged segments, applies the byte cap.
  [[nodiscard]] static Result<std::unique_ptr<DiskSpool>> Open(const DiskSpoolOptions& options);
  ~DiskSpool() override;

  const StreamId& stream_id() const override { return stream_id_; }
  std::uint64_t NextSeq() const override;
  [[nodiscard]] Status Append(std::uint64_t seq, std::string payload,
                              BatchPriority priority) override;
  void Ack(std::uint64_t seq) override;
  std::optional<std::pair<std::uint64_t, std::string>> NextAfter(std::uint64_t after) override;
  void Close() override;
  bool closed() const override;
  std::size_t size() const override;
  bool WaitDrained(std::chrono::steady_clock::time_point deadline) const override;
  void SetListener(std::function<void()> listener) override;
  SpoolStats stats() const override;

 private:
  struct Segment {
    std::uint64_t number = 0;
    BatchPriority priority = 0;
    std::shared_ptr<spool::File> file;
    std::uint64_t size = 0;        // bytes in the file
    std::set<std::uint64_t> live;  // its held batches
    bool sealed = false;           // takes no more batches (rolled, or found on open)
  };
  struct Location {
    Segment* segment;
    std::uint64_t offset;
    std::uint32_t payload_size;
  };

  DiskSpool(DiskSpoolOptions options, StreamId stream_id, int lock_fd);

  // REQUIRES: mu_ held, for every *Locked method.
  Status Load();
  Status LoadSegment(std::uint64_t number, std::uint64_t* max_seq);
  Status WriteMetaLocked(std::uint64_t next_seq);
  std::uint64_t BytesLocked() const;
  // Makes room for `need` more bytes; false when only more important batches are left.
  bool MakeRoomLocked(BatchPriority incoming, std::uint64_t need);
  void EvictLocked(Segment* segment);
  void DeleteSegmentLocked(Segment* segment);
  Result<Segment*> WritableSegmentLocked(BatchPriority priority, std::uint64_t record_size);
  Result<Segment*> CreateSegmentLocked(BatchPriority priority);
  void SealLocked(Segment* segment);
  void SyncLocked();
  void DropCorruptLocked(std::uint64_t seq, const std::string& problem);
  void FlushLoop();
  void Notify();

  const DiskSpoolOptions options_;
  const StreamId stream_id_;
  const int lock_fd_;
  mutable std::mutex mu_;
  mutable std::condition_variable drained_;
  std::condition_variable flusher_wake_;
  // All GUARDED_BY(mu_):
  std::map<std::uint64_t, std::unique_ptr<Segment>> segments_;  // by number (creation order)
  std::map<BatchPriority, Segment*> active_;  // the segment each priority appends to
  std::map<std::uint64_t, Location> index_;   // held batches by seq
  std::map<std::uint64_t, std::shared_ptr<spool::File>>
      dirty_;  // written since the last sync, by number
  std::uint64_t next_seq_ = 1;
  std::uint64_t reserved_seq_ = 1;  // spool.meta's next_seq: seqs below it may be in use
  std::uint64_t next_segment_ = 1;
  bool closed_ = false;
  bool stopping_ = false;
  SpoolStats stats_;
  std::function<void()> listener_;
  std::thread flusher_;  // kInterval only
};

}  // namespace canvoy::agent
