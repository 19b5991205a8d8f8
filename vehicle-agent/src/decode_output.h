// Rows of the decode command: CSV or JSON lines, one per decoded signal.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "canvoy/agent/can_frame.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"

namespace canvoy::agent {

enum class OutputFormat { kCsv, kJsonl };

// Integers without a decimal point; doubles in the shortest form that reads back to the same
// double ("0.1", "1e+22", "-204.8"); "nan", "inf", "-inf" for non-finite floats.
void AppendPhysical(const PhysicalValue& value, std::string* out);
// Upper-case hex: 3 digits for 11-bit ids, 8 for 29-bit ids.
void AppendFrameId(std::uint32_t id, bool extended, std::string* out);

// Buffers rows and writes them to a FILE in large blocks. Not thread-safe.
class RowWriter {
 public:
  static constexpr std::size_t kFlushBytes = 64 * 1024;

  RowWriter(std::FILE* out, OutputFormat format) : out_(out), format_(format) {}

  void Header();  // CSV: timestamp,interface,frame_id,message,signal,raw,physical,label
  // `source_address`: a J1939 frame's sender, written as "source_address" in JSON lines (the CSV
  // columns are fixed).
  void Row(std::string_view timestamp, std::string_view interface_name, const CanFrame& frame,
           const DbcMessage& message, const DecodedSignal& signal,
           std::optional<std::uint8_t> source_address = std::nullopt);
  // Writes what is buffered; false when the stream reported an error.
  bool Flush();

  // The rows not yet flushed (for tests).
  const std::string& buffer() const { return buffer_; }

 private:
  void CsvRow(std::string_view timestamp, std::string_view interface_name, const CanFrame& frame,
              const DbcMessage& message, const DecodedSignal& signal);
  void JsonRow(std::string_view timestamp, std::string_view interface_name, const CanFrame& frame,
               const DbcMessage& message, const DecodedSignal& signal,
               std::optional<std::uint8_t> source_address);

  std::FILE* out_;
  OutputFormat format_;
  std::string buffer_;
};

}  // namespace canvoy::agent
