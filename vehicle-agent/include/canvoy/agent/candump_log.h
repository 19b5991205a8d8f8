// Reads the log files that `candump -l` (can-utils) writes.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/agent/frame_source.h"

namespace canvoy::agent {

// A FrameSource over a candump log: one frame per line,
//   (1533197087.584930) can0 260#08FFFB0000001884
// with 3-digit (11-bit) or 8-digit (29-bit) ids, `#R[len]` remote frames, `##<flags><data>` CAN FD
// frames, error frames (id flag 0x20000000) and an optional trailing ` T`/` R` direction marker.
// Malformed lines are skipped and counted; the reasons of the first kMaxRecordedProblems are kept
// as "path:line: reason". Not thread-safe; owns its stream.
class CandumpLogReader : public FrameSource {
 public:
  static constexpr std::size_t kMaxRecordedProblems = 100;
  static constexpr std::size_t kMaxInterfaces = 65536;

  // Opens `path`; the error names the file and the reason.
  [[nodiscard]] static Result<CandumpLogReader> Open(const std::string& path);
  // Reads from `in`; `name` stands for the path in problem reports.
  CandumpLogReader(std::unique_ptr<std::istream> in, std::string name);

  CandumpLogReader(CandumpLogReader&&) = default;
  CandumpLogReader& operator=(CandumpLogReader&&) = default;

  [[nodiscard]] Result<bool> Next(CanFrame* frame) override;

  // Interface names in order of first appearance; CanFrame::interface_index indexes this table.
  const std::vector<std::string>& interfaces() const { return interfaces_; }
  // The timestamp of the last frame Next() returned, exactly as written (e.g. "46408.584930").
  // Valid until the next call to Next().
  std::string_view last_timestamp_text() const {
    return std::string_view(line_).substr(timestamp_begin_, timestamp_size_);
  }
  // 1-based line number of the last frame Next() returned.
  std::uint64_t last_line_number() const { return line_number_; }

  // Lines that were not blank and could not be parsed.
  std::uint64_t malformed_lines() const { return malformed_lines_; }
  // "path:line: reason" for the first kMaxRecordedProblems malformed lines.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  // Parses line_ into *frame, or returns the reason it is malformed.
  [[nodiscard]] Result<bool> ParseLine(CanFrame* frame);
  [[nodiscard]] Result<std::uint16_t> InterfaceIndex(std::string_view name);
  void RecordProblem(const std::string& reason);

  std::unique_ptr<std::istream> in_;
  std::string name_;
  std::string line_;                 // reused for every line
  std::size_t timestamp_begin_ = 0;  // of the last frame's timestamp within line_
  std::size_t timestamp_size_ = 0;
  std::uint64_t line_number_ = 0;
  std::uint64_t malformed_lines_ = 0;
  std::vector<std::string> interfaces_;
  std::vector<std::string> problems_;
};

}  // namespace canvoy::agent
