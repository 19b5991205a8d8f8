// Helpers for the disk spool tests: a fresh directory per test, opening with small segments,
// reading what the spool holds, capturing log lines, and waiting on a condition with a deadline.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "spool/disk_spool.h"
#include "spool/spool_format.h"

namespace canvoy::agent::testing {

// A directory of its own, removed at the end unless the test failed.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("canvoy-spool-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (!::testing::Test::HasFailure())
      std::filesystem::remove_all(path_);
    else
      std::cerr << "kept " << path_ << " for inspection\n";
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline DiskSpoolOptions SmallSpool(const std::filesystem::path& dir) {
  DiskSpoolOptions o;
  o.dir = dir;
  o.segment_bytes = 4096;
  o.max_bytes = 1u << 20;
  o.fsync.mode = FsyncPolicy::Mode::kNever;
  return o;
}

inline std::unique_ptr<DiskSpool> OpenOrDie(const DiskSpoolOptions& options) {
  auto spool = DiskSpool::Open(options);
  EXPECT_TRUE(spool) << (spool ? "" : spool.error().message());
  return spool ? std::move(spool).value() : nullptr;
}

// A payload that names its seq, so a mixed-up batch shows.
inline std::string Payload(std::uint64_t seq, std::size_t size = 100) {
  std::string p = "batch " + std::to_string(seq) + " ";
  while (p.size() < size) p.push_back(static_cast<char>('a' + (p.size() + seq) % 26));
  p.resize(size);
  return p;
}

// Appends a batch at NextSeq(); returns its seq.
inline std::uint64_t AppendOrDie(Spool& spool, std::size_t size = 100,
                                 BatchPriority priority = 100) {
  const std::uint64_t seq = spool.NextSeq();
  const Status s = spool.Append(seq, Payload(seq, size), priority);
  EXPECT_TRUE(s) << (s ? "" : s.error().message());
  return seq;
}

// Every held batch, walking NextAfter as the uplink does.
inline std::map<std::uint64_t, std::string> Held(Spool& spool) {
  std::map<std::uint64_t, std::string> held;
  std::uint64_t after = 0;
  while (auto next = spool.NextAfter(after)) {
    after = next->first;
    held.emplace(next->first, std::move(next->second));
  }
  return held;
}

inline std::vector<std::filesystem::path> SegmentFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (spool::SegmentNumber(e.path()) != 0) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::uint64_t SegmentBytesOnDisk(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& f : SegmentFiles(dir)) total += std::filesystem::file_size(f);
  return total;
}

inline void FlipBit(const std::filesystem::path& file, std::uint64_t offset, int bit = 0) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ (1 << bit));
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f.good()) << file;
}

// Log lines written while it lives (the default logger is swapped and restored).
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)),
        previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
    spdlog::default_logger()->set_pattern("%v");
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string Text() const {
    std::string text;
    for (const auto& line : sink_->last_formatted()) text += line;
    return text;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Polls `condition` until it holds or `timeout` passes (waiting on a condition, not sleeping
// for a guessed time).
template <class Condition>
bool WaitFor(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace canvoy::agent::testing
