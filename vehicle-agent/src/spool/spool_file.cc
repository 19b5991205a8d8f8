#include "spool/spool_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace canvoy::agent::spool {

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

Error IoError(const std::filesystem::path& path, std::string_view what, int err) {
  return Error(Errc::kIo, path.string() + ": " + std::string(what) + ": " + std::strerror(err));
}

Status WriteAt(const File& file, std::uint64_t offset, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(file.fd(), data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(file.path(), "write", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return OkStatus();
}

Status ReadAt(const File& file, std::uint64_t offset, std::size_t size, std::string* out) {
  out->resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(file.fd(), out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(file.path(), "read", errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out->resize(done);
  return OkStatus();
}

Status Truncate(const File& file, std::uint64_t size) {
  if (::ftruncate(file.fd(), static_cast<off_t>(size)) != 0)
    return IoError(file.path(), "truncate", errno);
  return OkStatus();
}

Status SyncData(const File& file) {
  if (::fdatasync(file.fd()) != 0) return IoError(file.path(), "fdatasync", errno);
  return OkStatus();
}

Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(dir, "open directory", errno);
  const File handle(fd, dir);
  if (::fsync(fd) != 0) return IoError(dir, "fsync", errno);
  return OkStatus();
}

Status ReplaceFile(const std::filesystem::path& path, std::string_view data, bool sync) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(tmp, "create", errno);
  {
    const File file(fd, tmp);
    CANVOY_RETURN_IF_ERROR(WriteAt(file, 0, data));
    if (sync) CANVOY_RETURN_IF_ERROR(SyncData(file));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError(path, "rename", errno);
  if (sync) CANVOY_RETURN_IF_ERROR(SyncDirectory(path.parent_path()));
  return OkStatus();
}

}  // namespace canvoy::agent::spool
