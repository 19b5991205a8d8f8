#include "spool/spool_format.h"

#include <fcntl.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "spool/spool_file.h"

namespace canvoy::agent::spool {
namespace {

constexpr std::string_view kMetaMagic = "CNVYMETA";
constexpr std::string_view kSegmentMagic = "CNVYSEG1";

void PutU32(std::string* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
std::uint32_t GetU32(std::string_view in, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}
std::uint64_t GetU64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

// The record header fields after the checksum; `bytes` holds at least kRecordHeaderSize bytes.
struct RecordHeader {
  std::uint32_t crc;
  std::uint32_t length;
  std::uint8_t type;
  std::uint8_t priority;
  std::uint64_t seq;
};
RecordHeader ParseRecordHeader(std::string_view bytes) {
  return {GetU32(bytes, 0), GetU32(bytes, 4), static_cast<std::uint8_t>(bytes[8]),
          static_cast<std::uint8_t>(bytes[9]), GetU64(bytes, 10)};
}

// The problem with a record header, or "" when its fields are plausible.
std::string HeaderProblem(const RecordHeader& h) {
  if (h.type != static_cast<std::uint8_t>(RecordType::kBatch) &&
      h.type != static_cast<std::uint8_t>(RecordType::kAck)) {
    return "unknown record type " + std::to_string(h.type);
  }
  if (h.type == static_cast<std::uint8_t>(RecordType::kAck) && h.length != 0)
    return "ack record with a payload";
  if (h.length > kMaxPayloadBytes)
    return "record length " + std::to_string(h.length) + " too large";
  if (h.seq == 0) return "record with seq 0";
  return "";
}

}  // namespace

std::uint32_t Crc32(std::string_view bytes) {
  const uLong init = crc32_z(0L, Z_NULL, 0);
  return static_cast<std::uint32_t>(
      crc32_z(init, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string EncodeMeta(const Meta& meta) {
  std::string out(kMetaMagic);
  PutU32(&out, kFormatVersion);
  PutU32(&out, 0);
  out.append(meta.stream_id.bytes());
  PutU64(&out, meta.next_seq);
  PutU32(&out, Crc32(out));
  return out;
}

Result<Meta> DecodeMeta(std::string_view bytes) {
  if (bytes.size() != kMetaSize) {
    return Error(Errc::kParse,
                 std::to_string(bytes.size()) + " bytes, expected " + std::to_string(kMetaSize));
  }
  if (bytes.substr(0, 8) != kMetaMagic) return Error(Errc::kParse, "bad magic");
  if (GetU32(bytes, 40) != Crc32(bytes.substr(0, 40)))
    return Error(Errc::kParse, "checksum mismatch");
  if (GetU32(bytes, 8) != kFormatVersion) {
    return Error(Errc::kParse,
                 "format version " + std::to_string(GetU32(bytes, 8)) + " is not supported");
  }
  CANVOY_ASSIGN_OR_RETURN(StreamId id, StreamId::FromBytes(bytes.substr(16, StreamId::kSize)));
  return Meta{id, GetU64(bytes, 32)};
}

std::string EncodeSegmentHeader(BatchPriority priority, const StreamId& stream_id) {
  std::string out(kSegmentMagic);
  PutU32(&out, kFormatVersion);
  out.push_back(static_cast<char>(priority));
  out.append(3, '\0');
  out.append(stream_id.bytes());
  PutU32(&out, Crc32(out));
  return out;
}

std::string EncodeRecord(RecordType type, BatchPriority priority, std::uint64_t seq,
                         std::string_view payload) {
  std::string out;
  out.reserve(kRecordHeaderSize + payload.size());
  PutU32(&out, 0);  // the checksum, filled in below
  PutU32(&out, static_cast<std::uint32_t>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(priority));
  PutU64(&out, seq);
  out.append(payload);
  const std::uint32_t crc = Crc32(std::string_view(out).substr(4));
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  return out;
}

std::filesystem::path SegmentPath(const std::filesystem::path& dir, std::uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(number));
  return dir / (std::string(name) + kSegmentSuffix);
}

std::uint64_t SegmentNumber(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  if (name.size() != 20 + std::strlen(kSegmentSuffix) || !name.ends_with(kSegmentSuffix)) return 0;
  std::uint64_t number = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    number = number * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return number;
}

Result<SegmentScan> ScanSegment(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(path, "open", errno);
  const File file(fd, path);
  SegmentScan scan;
  std::error_code ec;
  scan.file_size = std::filesystem::file_size(path, ec);
  if (ec) return Error(Errc::kIo, path.string() + ": size: " + ec.message());

  std::string buffer;
  CANVOY_RETURN_IF_ERROR(ReadAt(file, 0, kSegmentHeaderSize, &buffer));
  if (buffer.size() < kSegmentHeaderSize) {
    scan.problem = "segment header torn (" + std::to_string(buffer.size()) + " of " +
                   std::to_string(kSegmentHeaderSize) + " bytes)";
    return scan;
  }
  if (std::string_view(buffer).substr(0, 8) != kSegmentMagic) {
    scan.problem = "segment header: bad magic";
    return scan;
  }
  if (GetU32(buffer, 32) != Crc32(std::string_view(buffer).substr(0, 32))) {
    scan.problem = "segment header: checksum mismatch";
    return scan;
  }
  if (GetU32(buffer, 8) != kFormatVersion) {
    scan.problem =
        "segment header: format version " + std::to_string(GetU32(buffer, 8)) + " is not supported";
    return scan;
  }
  scan.header_ok = true;
  scan.priority = static_cast<BatchPriority>(buffer[12]);
  scan.stream_id =
      StreamId::FromBytes(std::string_view(buffer).substr(16, StreamId::kSize)).value();

  std::uint64_t offset = kSegmentHeaderSize;
  while (offset < scan.file_size) {
    const std::uint64_t left = scan.file_size - offset;
    if (left < kRecordHeaderSize) {
      scan.problem = "torn record header (" + std::to_string(left) + " bytes)";
      break;
    }
    CANVOY_RETURN_IF_ERROR(ReadAt(file, offset, kRecordHeaderSize, &buffer));
    const RecordHeader h = ParseRecordHeader(buffer);
    if (std::string problem = HeaderProblem(h); !problem.empty()) {
      scan.problem = problem;
      break;
    }
    if (kRecordHeaderSize + std::uint64_t{h.length} > left) {
      scan.problem = "torn record (" + std::to_string(left) + " of " +
                     std::to_string(kRecordHeaderSize + h.length) + " bytes)";
      break;
    }
    CANVOY_RETURN_IF_ERROR(ReadAt(file, offset, kRecordHeaderSize + h.length, &buffer));
    if (buffer.size() != kRecordHeaderSize + h.length) {
      scan.problem = "record shorter than the file said";
      break;
    }
    if (Crc32(std::string_view(buffer).substr(4)) != h.crc) {
      scan.problem = "record checksum mismatch";
      break;
    }
    scan.records.push_back({static_cast<RecordType>(h.type), h.priority, h.seq, offset, h.length});
    offset += kRecordHeaderSize + h.length;
  }
  scan.good_end = offset < scan.file_size ? offset : scan.file_size;
  return scan;
}

Status CheckRecord(std::string_view bytes, std::uint64_t expected_seq, std::string_view* payload) {
  if (bytes.size() < kRecordHeaderSize) return Error(Errc::kParse, "record cut short");
  const RecordHeader h = ParseRecordHeader(bytes);
  if (std::string problem = HeaderProblem(h); !problem.empty()) return Error(Errc::kParse, problem);
  if (h.type != static_cast<std::uint8_t>(RecordType::kBatch) || h.seq != expected_seq ||
      bytes.size() != kRecordHeaderSize + h.length) {
    return Error(Errc::kParse, "not the batch record of seq " + std::to_string(expected_seq));
  }
  if (Crc32(bytes.substr(4)) != h.crc) return Error(Errc::kParse, "record checksum mismatch");
  *payload = bytes.substr(kRecordHeaderSize);
  return OkStatus();
}

Result<SpoolContents> ReadSpoolDirectory(const std::filesystem::path& dir) {
  SpoolContents contents;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Error(Errc::kIo, dir.string() + ": " + ec.message());
  for (const auto& entry : it) {
    const std::uint64_t number = SegmentNumber(entry.path());
    if (number == 0) continue;
    CANVOY_ASSIGN_OR_RETURN(SegmentScan scan, ScanSegment(entry.path()));
    contents.segments.emplace(number, std::move(scan));
  }
  const std::filesystem::path meta_path = dir / kMetaFileName;
  if (std::filesystem::exists(meta_path)) {
    const int fd = ::open(meta_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError(meta_path, "open", errno);
    const File file(fd, meta_path);
    std::string bytes;
    CANVOY_RETURN_IF_ERROR(ReadAt(file, 0, kMetaSize + 1, &bytes));
    if (auto meta = DecodeMeta(bytes)) {
      contents.meta_ok = true;
      contents.meta = meta.value();
    }
  }
  for (const auto& [number, scan] : contents.segments) {
    if (!scan.header_ok) continue;
    const std::filesystem::path path = SegmentPath(dir, number);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError(path, "open", errno);
    const File file(fd, path);
    for (const ScannedRecord& r : scan.records) {
      if (r.type == RecordType::kAck) {
        contents.acked.insert(r.seq);
        continue;
      }
      std::string bytes;
      CANVOY_RETURN_IF_ERROR(ReadAt(file, r.offset + kRecordHeaderSize, r.payload_size, &bytes));
      contents.batches[r.seq] = std::move(bytes);
    }
  }
  return contents;
}

}  // namespace canvoy::agent::spool
