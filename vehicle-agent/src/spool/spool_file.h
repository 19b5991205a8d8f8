// POSIX file primitives for the disk spool: positional reads and writes that finish or fail,
// data syncs, atomic replacement. Errors name the file and the system's reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "canvoy/common/error.h"

namespace canvoy::agent::spool {

// Owns a file descriptor; closes it when destroyed. Shared between the spool and its flusher
// thread, so that a segment deleted meanwhile is still synced through a valid descriptor.
class File {
 public:
  File(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_;
  std::filesystem::path path_;
};

// "<path>: <what>: <strerror(err)>"
Error IoError(const std::filesystem::path& path, std::string_view what, int err);

// Writes all of `data` at `offset`.
[[nodiscard]] Status WriteAt(const File& file, std::uint64_t offset, std::string_view data);
// Reads up to `size` bytes at `offset` into *out (fewer only at the end of the file).
[[nodiscard]] Status ReadAt(const File& file, std::uint64_t offset, std::size_t size,
                            std::string* out);
[[nodiscard]] Status Truncate(const File& file, std::uint64_t size);
[[nodiscard]] Status SyncData(const File& file);
// fsync of a directory: makes file creations and renames in it durable.
[[nodiscard]] Status SyncDirectory(const std::filesystem::path& dir);
// Writes `data` to `path` through a temporary file and rename, so that readers see the old or the
// new content, never a mix. With `sync`, the data and the rename are durable on return.
[[nodiscard]] Status ReplaceFile(const std::filesystem::path& path, std::string_view data,
                                 bool sync);

}  // namespace canvoy::agent::spool
