#include "spool/memory_spool.h"

namespace canvoy::agent {

std::uint64_t MemorySpool::NextSeq() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

Status MemorySpool::Append(std::uint64_t seq, std::string payload, BatchPriority /*priority*/) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Error(Errc::kInvalidArgument, "spool: append after close");
    if (seq != next_seq_) {
      return Error(Errc::kInvalidArgument,
                   "spool: append of seq " + std::to_string(seq) + ", expected " + std::to_string(next_seq_));
    }
    batches_.emplace(seq, std::move(payload));
    next_seq_ = seq + 1;
  }
  Notify();
  return OkStatus();
}

void MemorySpool::Ack(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  batches_.erase(seq);
  if (closed_ && batches_.empty()) drained_.notify_all();
}

std::optional<std::pair<std::uint64_t, std::string>> MemorySpool::NextAfter(std::uint64_t after) {
  std::lock_guard lock(mu_);
  auto it = batches_.upper_bound(after);
  if (it == batches_.end()) return std::nullopt;
  return *it;
}

void MemorySpool::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    if (batches_.empty()) drained_.notify_all();
  }
  Notify();
}

bool MemorySpool::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::size_t MemorySpool::size() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

bool MemorySpool::WaitDrained(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return drained_.wait_until(lock, deadline, [this] { return closed_ && batches_.empty(); });
}

void MemorySpool::SetListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

SpoolStats MemorySpool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s;
  s.batches = batches_.size();
  return s;
}

void MemorySpool::Notify() {
  std::function<void()> listener;
  {
    std::lock_guard lock(mu_);
    listener = listener_;
  }
  if (listener) listener();
}

}  // namespace canvoy::agent
