#include "canvoy/agent/candump_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

namespace canvoy::agent {
namespace {

constexpr std::uint32_t kErrorFlag = 0x20000000;
constexpr std::size_t kMaxFractionDigits = 6;  // candump writes microseconds
constexpr std::size_t kMaxSecondsDigits = 12;  // keeps seconds * 1e6 inside int64

Error Malformed(std::string what) { return Error(Errc::kParse, std::move(what)); }

std::optional<unsigned> HexNibble(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
  if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
  return std::nullopt;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// "(seconds.fraction)" -> microseconds, exactly: no floating point on the way.
Result<std::int64_t> ParseTimestamp(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || whole.size() > kMaxSecondsDigits) {
    return Malformed("timestamp '" + std::string(text) + "' needs 1 to 12 digits of seconds");
  }
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > kMaxFractionDigits)) {
    return Malformed("timestamp '" + std::string(text) + "' needs 1 to 6 fractional digits");
  }
  std::int64_t seconds = 0;
  for (char c : whole) {
    if (!IsDigit(c)) return Malformed("timestamp '" + std::string(text) + "' is not a number");
    seconds = seconds * 10 + (c - '0');
  }
  std::int64_t micros = 0;
  for (std::size_t i = 0; i < kMaxFractionDigits; ++i) {
    const char c = i < fraction.size() ? fraction[i] : '0';
    if (!IsDigit(c)) return Malformed("timestamp '" + std::string(text) + "' is not a number");
    micros = micros * 10 + (c - '0');
  }
  return seconds * 1'000'000 + micros;
}

// Hex bytes, optionally separated by '.', into frame->data; returns the count.
Result<std::size_t> ParseHexBytes(std::string_view text, std::size_t max_len, CanFrame* frame) {
  std::size_t len = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '.') {
      ++i;
      continue;
    }
    const auto hi = HexNibble(text[i]);
    if (!hi) return Malformed("'" + std::string(1, text[i]) + "' is not a hex digit in the data");
    if (i + 1 >= text.size()) return Malformed("odd number of hex digits in the data");
    const auto lo = HexNibble(text[i + 1]);
    if (!lo)
      return Malformed("'" + std::string(1, text[i + 1]) + "' is not a hex digit in the data");
    if (len == max_len) {
      return Malformed("more than " + std::to_string(max_len) + " data bytes");
    }
    frame->data[len++] = static_cast<std::uint8_t>(*hi << 4 | *lo);
    i += 2;
  }
  return len;
}

// The classic-CAN "raw DLC" suffix `_X` (X = 9..F) that candump -8 writes after 8 data bytes.
Status CheckRawDlcSuffix(std::string_view suffix, std::size_t len) {
  if (suffix.empty()) return OkStatus();
  const auto dlc = suffix.size() == 2 ? HexNibble(suffix[1]) : std::nullopt;
  if (len != kMaxClassicLen || suffix[0] != '_' || !dlc || *dlc < 9) {
    return Malformed("unexpected '" + std::string(suffix) + "' after the data");
  }
  return OkStatus();
}

Status ParseRemote(std::string_view rest, CanFrame* frame) {
  frame->remote = true;
  if (rest.empty()) return OkStatus();
  const auto len = HexNibble(rest[0]);
  if (!len || *len > kMaxClassicLen) {
    return Malformed("remote frame length '" + std::string(rest) + "' is not 0 to 8");
  }
  frame->len = static_cast<std::uint8_t>(*len);
  return CheckRawDlcSuffix(rest.substr(1), frame->len);
}

Status ParseFd(std::string_view rest, CanFrame* frame) {
  const auto flags = rest.empty() ? std::nullopt : HexNibble(rest[0]);
  if (!flags) return Malformed("CAN FD frame needs a flags nibble after '##'");
  frame->fd = true;
  frame->fd_flags = static_cast<std::uint8_t>(*flags);
  CANVOY_ASSIGN_OR_RETURN(const std::size_t len, ParseHexBytes(rest.substr(1), kMaxFdLen, frame));
  if (!IsValidCanFdLength(static_cast<unsigned>(len))) {
    return Malformed("CAN FD frame has " + std::to_string(len) + " data bytes, not a valid length");
  }
  frame->len = static_cast<std::uint8_t>(len);
  return OkStatus();
}

Status ParseClassic(std::string_view rest, CanFrame* frame) {
  const std::size_t underscore = rest.find('_');
  CANVOY_ASSIGN_OR_RETURN(const std::size_t len,
                          ParseHexBytes(rest.substr(0, underscore), kMaxClassicLen, frame));
  frame->len = static_cast<std::uint8_t>(len);
  if (underscore == std::string_view::npos) return OkStatus();
  return CheckRawDlcSuffix(rest.substr(underscore), len);
}

// "<id>#<data>", "<id>#R[len]" or "<id>##<flags><data>".
Status ParseFrameToken(std::string_view token, CanFrame* frame) {
  const std::size_t hash = token.find('#');
  if (hash != 3 && hash != 8) {
    return Malformed("frame '" + std::string(token) + "' needs a 3- or 8-digit hex id before '#'");
  }
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < hash; ++i) {
    const auto nibble = HexNibble(token[i]);
    if (!nibble) return Malformed("id '" + std::string(token.substr(0, hash)) + "' is not hex");
    id = id << 4 | *nibble;
  }
  if (hash == 3) {
    if (id > kMaxStandardId)
      return Malformed("11-bit id " + std::string(token.substr(0, 3)) + " > 7FF");
  } else if ((id & kErrorFlag) != 0) {
    frame->error = true;
    if (id > (kErrorFlag | kMaxExtendedId)) return Malformed("error frame id has unknown flags");
  } else if (id > kMaxExtendedId) {
    return Malformed("29-bit id " + std::string(token.substr(0, 8)) + " > 1FFFFFFF");
  } else {
    frame->extended = true;
  }
  frame->id = id & kMaxExtendedId;
  const std::string_view rest = token.substr(hash + 1);
  if (!rest.empty() && rest[0] == '#') {
    if (frame->error) return Malformed("error frame cannot be CAN FD");
    return ParseFd(rest.substr(1), frame);
  }
  if (!rest.empty() && (rest[0] == 'R' || rest[0] == 'r')) {
    if (frame->error) return Malformed("error frame cannot be a remote frame");
    return ParseRemote(rest.substr(1), frame);
  }
  return ParseClassic(rest, frame);
}

std::string_view NextWord(std::string_view line, std::size_t* pos) {
  while (*pos < line.size() && IsBlank(line[*pos])) ++*pos;
  const std::size_t begin = *pos;
  while (*pos < line.size() && !IsBlank(line[*pos])) ++*pos;
  return line.substr(begin, *pos - begin);
}

}  // namespace

Result<CandumpLogReader> CandumpLogReader::Open(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Error(Errc::kIo, path + ": is a directory");
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*in) {
    return Error(Errc::kIo, path + ": cannot open: " + std::strerror(errno));
  }
  return CandumpLogReader(std::move(in), path);
}

CandumpLogReader::CandumpLogReader(std::unique_ptr<std::istream> in, std::string name)
    : in_(std::move(in)), name_(std::move(name)) {}

Result<bool> CandumpLogReader::Next(CanFrame* frame) {
  while (std::getline(*in_, line_)) {
    ++line_number_;
    auto parsed = ParseLine(frame);
    if (!parsed) {
      RecordProblem(parsed.error().message());
      continue;
    }
    if (parsed.value()) return true;
  }
  if (in_->bad())
    return Error(Errc::kIo, name_ + ":" + std::to_string(line_number_) + ": read failed");
  return false;
}

Result<bool> CandumpLogReader::ParseLine(CanFrame* frame) {
  std::string_view line = line_;
  while (!line.empty() && (IsBlank(line.back()) || line.back() == '\r')) line.remove_suffix(1);
  std::size_t pos = 0;
  while (pos < line.size() && IsBlank(line[pos])) ++pos;
  if (pos == line.size()) return false;  // blank lines are not frames, nor problems

  if (line[pos] != '(') return Malformed("line does not start with '(timestamp)'");
  const std::size_t close = line.find(')', pos);
  if (close == std::string_view::npos) return Malformed("timestamp has no closing ')'");
  const std::string_view timestamp = line.substr(pos + 1, close - pos - 1);
  *frame = CanFrame{};
  CANVOY_ASSIGN_OR_RETURN(frame->timestamp_us, ParseTimestamp(timestamp));

  pos = close + 1;
  const std::string_view iface = NextWord(line, &pos);
  if (iface.empty()) return Malformed("missing interface name");
  const std::string_view token = NextWord(line, &pos);
  if (token.empty()) return Malformed("missing frame after interface '" + std::string(iface) + "'");
  CANVOY_RETURN_IF_ERROR(ParseFrameToken(token, frame));
  const std::string_view direction = NextWord(line, &pos);
  if (!direction.empty() && direction != "T" && direction != "R") {
    return Malformed("unexpected '" + std::string(direction) + "' after the frame");
  }
  if (!NextWord(line, &pos).empty()) return Malformed("unexpected text after the direction");

  CANVOY_ASSIGN_OR_RETURN(frame->interface_index, InterfaceIndex(iface));
  timestamp_begin_ = static_cast<std::size_t>(timestamp.data() - line_.data());
  timestamp_size_ = timestamp.size();
  return true;
}

Result<std::uint16_t> CandumpLogReader::InterfaceIndex(std::string_view name) {
  // Few interfaces per log: a linear scan beats hashing here.
  for (std::size_t i = 0; i < interfaces_.size(); ++i) {
    if (interfaces_[i] == name) return static_cast<std::uint16_t>(i);
  }
  if (interfaces_.size() == kMaxInterfaces) return Malformed("too many interfaces");
  interfaces_.emplace_back(name);
  return static_cast<std::uint16_t>(interfaces_.size() - 1);
}

void CandumpLogReader::RecordProblem(const std::string& reason) {
  ++malformed_lines_;
  if (problems_.size() < kMaxRecordedProblems) {
    problems_.push_back(name_ + ":" + std::to_string(line_number_) + ": " + reason);
  }
}

}  // namespace canvoy::agent
