// DBC files (Vector's CAN database format): the model and its parser.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "canvoy/common/error.h"

namespace canvoy::agent {

enum class ByteOrder : std::uint8_t {
  kLittleEndian,  // Intel, "@1": start bit is the least significant bit
  kBigEndian,     // Motorola, "@0": start bit is the most significant bit (sawtooth numbering)
};

enum class ValueType : std::uint8_t {
  kInteger,  // the default
  kFloat32,  // SIG_VALTYPE_ 1: IEEE 754 single, 32 bits
  kFloat64,  // SIG_VALTYPE_ 2: IEEE 754 double, 64 bits
};

// A decimal number as written in the file (factor and offset keep their exact value this way).
struct DbcNumber {
  double value = 0;
  std::int64_t mantissa = 0;  // value == mantissa * 10^exponent, when `exact`
  std::int32_t exponent = 0;
  bool exact = false;  // false when the text has more digits than an int64 holds

  bool IsInteger() const;  // an integer of at most 2^53 in magnitude
};

// Inclusive range of multiplexer values that selects a multiplexed signal.
struct MuxRange {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
};

struct DbcSignal {
  std::string name;
  std::uint16_t start_bit = 0;
  std::uint16_t length = 0;  // 1..64 bits
  ByteOrder byte_order = ByteOrder::kLittleEndian;
  bool is_signed = false;
  ValueType value_type = ValueType::kInteger;
  DbcNumber factor{1, 1, 0, true};
  DbcNumber offset{0, 0, 0, true};
  double minimum = 0;  // informative only: values are never clamped ([0|0] is common)
  double maximum = 0;
  std::string unit;  // UTF-8 (Latin-1 files are converted)
  std::vector<std::string> receivers;
  std::string comment;

  // Multiplexing. A switch is marked `M` (or `mNM` when itself multiplexed).
  bool is_multiplexer = false;
  std::optional<std::uint64_t> multiplexer_value;  // N of `mN` / `mNM`
  // Index (in the message) of the switch that selects this signal, and the values that do.
  // Set by the parser from SG_MUL_VAL_, or for plain `mN` to the message's `M` signal and [N, N].
  std::optional<std::uint32_t> switch_index;
  std::vector<MuxRange> switch_ranges;

  // Value table (VAL_): raw value -> label, sorted by raw value. Keys are raw values as int64
  // (negative keys for signed signals; unsigned keys above INT64_MAX wrap).
  std::vector<std::pair<std::int64_t, std::string>> labels;

  std::uint32_t line = 0;  // where the SG_ statement is, for messages about it
};

struct DbcMessage {
  std::uint32_t id = 0;   // 11 or 29 bits, without the extended flag
  bool extended = false;  // bit 31 of the DBC id, or an id above 0x7FF
  std::string name;
  std::uint32_t length = 0;  // bytes (up to 64 for CAN FD)
  std::string transmitter;
  std::string comment;
  std::vector<DbcSignal> signals;
  // BA_ values for this message, as written ("GenMsgCycleTime" -> "100").
  std::vector<std::pair<std::string, std::string>> attributes;
  std::uint32_t line = 0;
};

struct DbcDatabase {
  std::string name;  // the path or name it was parsed from
  std::string version;
  std::vector<std::string> nodes;
  std::vector<DbcMessage> messages;  // in file order
  // VAL_TABLE_ name -> entries (kept for tools; signals use their own VAL_ tables).
  std::unordered_map<std::string, std::vector<std::pair<std::int64_t, std::string>>> value_tables;
  // BA_DEF_DEF_ defaults ("GenMsgCycleTime" -> "0").
  std::vector<std::pair<std::string, std::string>> attribute_defaults;
  // Database-level BA_ values, as written ("ProtocolType" -> "J1939").
  std::vector<std::pair<std::string, std::string>> attributes;
  // Things the parser tolerated ("file:line:col: ..."), e.g. a VAL_ for an unknown signal.
  std::vector<std::string> warnings;

  // The message with this frame id, or nullptr.
  const DbcMessage* FindMessage(std::uint32_t id, bool extended) const;
};

// SAE J1939 on 29-bit ids: priority (bits 26-28), PGN (bits 8-25: EDP, DP, PF, PS) and source
// address (bits 0-7). When PF < 240 (PDU1) the PS byte is a destination address, not part of the
// PGN; from 240 on (PDU2) it is.
inline constexpr std::uint32_t J1939Pgn(std::uint32_t id) {
  const std::uint32_t pgn = (id >> 8) & 0x3FFFF;
  return ((pgn >> 8) & 0xFF) < 240 ? (pgn & 0x3FF00) : pgn;
}
inline constexpr std::uint8_t J1939SourceAddress(std::uint32_t id) {
  return static_cast<std::uint8_t>(id & 0xFF);
}

// Whether frames match `message` by PGN (any priority, source and, for PDU1, destination): it
// has a 29-bit id and its "ProtocolType" is "J1939", taken from the message's own BA_, else the
// database's BA_, else the BA_DEF_DEF_ default.
bool IsJ1939(const DbcDatabase& database, const DbcMessage& message);

// Parses DBC text. Errors read "name:line:col: what". Thread-safe (no shared state).
[[nodiscard]] Result<DbcDatabase> ParseDbc(std::string_view text, std::string name);
// Reads and parses a file; errors name the path.
[[nodiscard]] Result<DbcDatabase> ParseDbcFile(const std::string& path);

// Identifies a message across several databases: databases[database].messages[message].
struct MessageRef {
  std::uint32_t database = 0;
  std::uint32_t message = 0;
};

// The messages a set of databases contributes, in database then file order. When several
// databases define the same frame id, the first one wins; each loser is described in *conflicts
// (if given) as "dbc B: message X (id 0x123) is shadowed by dbc A".
std::vector<MessageRef> SelectMessages(std::span<const DbcDatabase> databases,
                                       std::vector<std::string>* conflicts = nullptr);

}  // namespace canvoy::agent
