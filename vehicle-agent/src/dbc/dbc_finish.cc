// The finishing pass: applies statements that refer to messages and signals, resolves
// multiplexing and checks layouts.
#include <algorithm>
#include <unordered_map>

#include "dbc/bit_layout.h"
#include "dbc/dbc_parsed.h"

namespace canvoy::agent::dbc {
namespace {

class Finisher {
 public:
  explicit Finisher(ParsedDbc* parsed) : parsed_(*parsed), db_(parsed->db) {}

  Status Run() {
    CANVOY_RETURN_IF_ERROR(IndexMessages());
    CANVOY_RETURN_IF_ERROR(ApplyValueTypes());
    ApplyLabels();
    ApplyComments();
    ApplyAttributes();
    CANVOY_RETURN_IF_ERROR(ApplyMuxValues());
    for (DbcMessage& message : db_.messages) {
      CANVOY_RETURN_IF_ERROR(CheckSignals(message));
      CANVOY_RETURN_IF_ERROR(ResolvePlainMux(message));
      CANVOY_RETURN_IF_ERROR(CheckMuxCycles(message));
    }
    return OkStatus();
  }

 private:
  std::string Where(std::uint32_t line, std::uint32_t column) const {
    return db_.name + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  }
  Error ErrorAt(const Location& at, const std::string& what) const {
    return Error(Errc::kParse, Where(at.line, at.column) + what);
  }
  void Warn(const Location& at, const std::string& what) {
    db_.warnings.push_back(Where(at.line, at.column) + what);
  }

  Status IndexMessages() {
    for (std::size_t i = 0; i < db_.messages.size(); ++i) {
      const auto [it, inserted] = by_raw_id_.emplace(parsed_.raw_ids[i], i);
      if (!inserted) {
        return ErrorAt({db_.messages[i].line, 1},
                       "message id " + std::to_string(parsed_.raw_ids[i]) +
                           " already defined at line " +
                           std::to_string(db_.messages[it->second].line));
      }
    }
    return OkStatus();
  }

  // The message or signal `ref` names; nullptr (and a warning, unless the message is one the
  // parser ignores) when there is none.
  DbcMessage* FindMessage(const SignalRef& ref, const char* statement) {
    const auto it = by_raw_id_.find(ref.raw_id);
    if (it != by_raw_id_.end()) return &db_.messages[it->second];
    if (std::find(parsed_.ignored_raw_ids.begin(), parsed_.ignored_raw_ids.end(), ref.raw_id) ==
        parsed_.ignored_raw_ids.end()) {
      Warn(ref.at,
           std::string(statement) + " for unknown message id " + std::to_string(ref.raw_id));
    }
    return nullptr;
  }
  DbcSignal* FindSignal(DbcMessage* message, const SignalRef& ref, const char* statement) {
    if (message == nullptr) return nullptr;
    for (DbcSignal& signal : message->signals) {
      if (signal.name == ref.signal) return &signal;
    }
    Warn(ref.at,
         std::string(statement) + " for unknown signal " + message->name + "." + ref.signal);
    return nullptr;
  }
  DbcSignal* FindSignal(const SignalRef& ref, const char* statement) {
    return FindSignal(FindMessage(ref, statement), ref, statement);
  }

  Status ApplyValueTypes() {
    for (const PendingValueType& pending : parsed_.value_types) {
      DbcSignal* signal = FindSignal(pending.ref, "SIG_VALTYPE_");
      if (signal == nullptr) continue;
      static constexpr ValueType kTypes[] = {ValueType::kInteger, ValueType::kFloat32,
                                             ValueType::kFloat64};
      static constexpr std::uint16_t kLengths[] = {0, 32, 64};
      signal->value_type = kTypes[pending.type];
      if (pending.type != 0 && signal->length != kLengths[pending.type]) {
        return ErrorAt(pending.ref.at,
                       "signal " + signal->name + " has " + std::to_string(signal->length) +
                           " bits but SIG_VALTYPE_ " + std::to_string(pending.type) + " needs " +
                           std::to_string(kLengths[pending.type]));
      }
    }
    return OkStatus();
  }

  void ApplyLabels() {
    for (PendingLabels& pending : parsed_.labels) {
      DbcSignal* signal = FindSignal(pending.ref, "VAL_");
      if (signal == nullptr) continue;
      signal->labels = std::move(pending.labels);
      std::stable_sort(signal->labels.begin(), signal->labels.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
  }

  void ApplyComments() {
    for (PendingComment& pending : parsed_.comments) {
      DbcMessage* message = FindMessage(pending.ref, "CM_");
      if (pending.ref.signal.empty()) {
        if (message != nullptr) message->comment = std::move(pending.text);
      } else if (DbcSignal* signal = FindSignal(message, pending.ref, "CM_")) {
        signal->comment = std::move(pending.text);
      }
    }
  }

  void ApplyAttributes() {
    for (PendingAttribute& pending : parsed_.attributes) {
      if (DbcMessage* message = FindMessage(pending.ref, "BA_")) {
        message->attributes.emplace_back(std::move(pending.name), std::move(pending.value));
      }
    }
  }

  static std::optional<std::uint32_t> IndexOf(const DbcMessage& message, const std::string& name) {
    for (std::size_t i = 0; i < message.signals.size(); ++i) {
      if (message.signals[i].name == name) return static_cast<std::uint32_t>(i);
    }
    return std::nullopt;
  }

  Status ApplyMuxValues() {
    for (PendingMux& pending : parsed_.muxes) {
      DbcMessage* message = FindMessage(pending.ref, "SG_MUL_VAL_");
      DbcSignal* signal = FindSignal(message, pending.ref, "SG_MUL_VAL_");
      if (signal == nullptr) continue;
      const auto switch_index = IndexOf(*message, pending.switch_name);
      if (!switch_index) {
        return ErrorAt(pending.ref.at, "multiplexer " + pending.switch_name +
                                           " is not a signal of " + message->name);
      }
      signal->switch_index = *switch_index;
      signal->switch_ranges.insert(signal->switch_ranges.end(), pending.ranges.begin(),
                                   pending.ranges.end());
    }
    return OkStatus();
  }

  Status CheckSignals(const DbcMessage& message) {
    for (const DbcSignal& signal : message.signals) {
      auto layout = ComputeBitLayout(signal.start_bit, signal.length, signal.byte_order);
      if (const auto* problem = std::get_if<std::string>(&layout)) {
        return ErrorAt({signal.line, 1}, "signal " + signal.name + ": " + *problem);
      }
      if (std::get<BitLayout>(layout).bytes_needed > message.length) {
        Warn({signal.line, 1}, "signal " + signal.name + " reaches past the " +
                                   std::to_string(message.length) + "-byte message " +
                                   message.name);
      }
      if (IndexOf(message, signal.name) !=
          static_cast<std::uint32_t>(&signal - message.signals.data())) {
        return ErrorAt({signal.line, 1},
                       "signal " + signal.name + " appears twice in " + message.name);
      }
    }
    return OkStatus();
  }

  // A plain `mN` without SG_MUL_VAL_ is selected by the message's `M` signal having value N.
  Status ResolvePlainMux(DbcMessage& message) {
    std::optional<std::uint32_t> top;
    std::size_t tops = 0;
    for (std::size_t i = 0; i < message.signals.size(); ++i) {
      const DbcSignal& s = message.signals[i];
      if (s.is_multiplexer && !s.multiplexer_value) {
        top = static_cast<std::uint32_t>(i);
        ++tops;
      }
    }
    for (DbcSignal& signal : message.signals) {
      if (!signal.multiplexer_value || signal.switch_index) continue;
      if (tops != 1) {
        return ErrorAt({signal.line, 1}, "signal " + signal.name + " is multiplexed but " +
                                             message.name + " has " + std::to_string(tops) +
                                             " plain M switches, and no " +
                                             "SG_MUL_VAL_ names its switch");
      }
      signal.switch_index = top;
      signal.switch_ranges = {{*signal.multiplexer_value, *signal.multiplexer_value}};
    }
    return OkStatus();
  }

  Status CheckMuxCycles(const DbcMessage& message) {
    for (const DbcSignal& signal : message.signals) {
      const DbcSignal* s = &signal;
      for (std::size_t steps = 0; s->switch_index; ++steps) {
        if (steps > message.signals.size()) {
          return ErrorAt({signal.line, 1}, "signal " + signal.name + " is in a multiplexer cycle");
        }
        s = &message.signals[*s->switch_index];
      }
    }
    return OkStatus();
  }

  ParsedDbc& parsed_;
  DbcDatabase& db_;
  std::unordered_map<std::uint32_t, std::size_t> by_raw_id_;
};

}  // namespace

Status FinishDbc(ParsedDbc* parsed) { return Finisher(parsed).Run(); }

}  // namespace canvoy::agent::dbc
