// The disk spool's bytes (vehicle-agent/README.md, "Spool", shows the same layout). All integers
// little-endian; every checksum is zlib's CRC-32.
//
// DIR/spool.meta: 44 bytes, replaced atomically (temporary file + rename):
//   "CNVYMETA" | u32 version | u32 0 | stream id (16) | u64 next_seq | u32 crc of [0,40)
// DIR/spool.lock: flock()ed while a process has the spool open.
// DIR/<20 digits>.seg: segments, numbered in creation order. A 36-byte header:
//   "CNVYSEG1" | u32 version | u8 priority | 3 x 0 | stream id (16) | u32 crc of [0,32)
// then records, each an 18-byte header and a payload:
//   u32 crc of [4,end) | u32 payload length | u8 type | u8 priority | u64 seq | payload
// Type 1 is a batch (payload: the batch); type 2 acknowledges the batch `seq` of the same
// segment (no payload).
//
// This file only encodes and decodes; it never changes a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "spool/spool.h"

namespace canvoy::agent::spool {

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kMetaSize = 44;
inline constexpr std::size_t kSegmentHeaderSize = 36;
inline constexpr std::size_t kRecordHeaderSize = 18;
inline constexpr std::size_t kAckRecordSize = kRecordHeaderSize;
// A record longer than this is taken for corruption (a batch frame is far smaller).
inline constexpr std::uint32_t kMaxPayloadBytes = 256u << 20;
inline constexpr const char* kMetaFileName = "spool.meta";
inline constexpr const char* kLockFileName = "spool.lock";
inline constexpr const char* kSegmentSuffix = ".seg";

enum class RecordType : std::uint8_t { kBatch = 1, kAck = 2 };

struct Meta {
  StreamId stream_id;
  // Every seq below this may have been handed out: the next Append after a restart uses it.
  std::uint64_t next_seq = 1;
};

std::uint32_t Crc32(std::string_view bytes);

std::string EncodeMeta(const Meta& meta);
// The error says what is wrong ("bad magic", "checksum mismatch", ...).
Result<Meta> DecodeMeta(std::string_view bytes);

std::string EncodeSegmentHeader(BatchPriority priority, const StreamId& stream_id);
// A record's bytes: header and payload (empty for acks).
std::string EncodeRecord(RecordType type, BatchPriority priority, std::uint64_t seq,
                         std::string_view payload);

std::filesystem::path SegmentPath(const std::filesystem::path& dir, std::uint64_t number);
// The number of a segment file name ("00000000000000000042.seg"), or 0 if it is not one.
std::uint64_t SegmentNumber(const std::filesystem::path& file);

struct ScannedRecord {
  RecordType type = RecordType::kBatch;
  BatchPriority priority = 0;
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;  // of the record header in the file
  std::uint32_t payload_size = 0;
};

// What a segment file holds, up to its first torn or corrupt byte.
struct SegmentScan {
  std::uint64_t file_size = 0;
  bool header_ok = false;
  BatchPriority priority = 0;
  StreamId stream_id;
  std::vector<ScannedRecord> records;  // the good ones, in file order
  std::uint64_t good_end = 0;          // where the good records end; < file_size: a bad tail
  std::string problem;                 // why the scan stopped before file_size
};

// Reads and checks a whole segment. Errors only for I/O; corruption is reported in the scan.
Result<SegmentScan> ScanSegment(const std::filesystem::path& file);

// Validates a record read back at `offset` (header and payload, `bytes`); the error names the
// problem. On success *payload views the payload inside `bytes`.
Status CheckRecord(std::string_view bytes, std::uint64_t expected_seq, std::string_view* payload);

// Everything a spool directory holds, read without changing it (for tests and inspection).
struct SpoolContents {
  bool meta_ok = false;
  Meta meta;
  std::map<std::uint64_t, SegmentScan> segments;  // by segment number
  std::map<std::uint64_t, std::string> batches;   // every good batch record, acked or not
  std::set<std::uint64_t> acked;                  // seqs of the good ack records
};
Result<SpoolContents> ReadSpoolDirectory(const std::filesystem::path& dir);

}  // namespace canvoy::agent::spool
