// What the statement parser hands to the finishing pass: the database so far, plus statements
// that refer to messages and signals by id and name, applied once the whole file is read
// (opendbc files interleave BO_, CM_ and VAL_ blocks).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "canvoy/agent/dbc.h"

namespace canvoy::agent::dbc {

struct Location {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// A reference to a message by the id as written in the file (bit 31 = extended), and optionally
// to one of its signals by name.
struct SignalRef {
  Location at;
  std::uint32_t raw_id = 0;
  std::string signal;  // empty: the message itself
};

struct PendingLabels {
  SignalRef ref;
  std::vector<std::pair<std::int64_t, std::string>> labels;
};

struct PendingComment {
  SignalRef ref;
  std::string text;
};

struct PendingValueType {
  SignalRef ref;
  std::uint32_t type = 0;  // 0 integer, 1 float, 2 double
};

struct PendingMux {
  SignalRef ref;
  std::string switch_name;
  std::vector<MuxRange> ranges;
};

struct PendingAttribute {
  SignalRef ref;
  std::string name;
  std::string value;
};

struct ParsedDbc {
  DbcDatabase db;
  std::vector<std::uint32_t> raw_ids;          // per db.messages entry, as written
  std::vector<std::uint32_t> ignored_raw_ids;  // VECTOR__INDEPENDENT_SIG_MSG and the like
  std::vector<PendingLabels> labels;
  std::vector<PendingComment> comments;
  std::vector<PendingValueType> value_types;
  std::vector<PendingMux> muxes;
  std::vector<PendingAttribute> attributes;
};

// Applies the pending statements, resolves multiplexing and checks every signal's layout.
// Errors and warnings read "<name>:line:col: what".
Status FinishDbc(ParsedDbc* parsed);

}  // namespace canvoy::agent::dbc
