// The statement parser: one function per DBC keyword.
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_set>

#include "canvoy/agent/can_frame.h"
#include "canvoy/agent/dbc.h"
#include "dbc/dbc_lexer.h"
#include "dbc/dbc_number.h"
#include "dbc/dbc_parsed.h"

namespace canvoy::agent {
namespace dbc {
namespace {

constexpr std::uint32_t kExtendedFlag = 0x80000000U;
constexpr std::string_view kIndependentSignals = "VECTOR__INDEPENDENT_SIG_MSG";

// Statements the agent has no use for; they are skipped up to their ';'.
bool IsSkippedKeyword(std::string_view word) {
  static const std::unordered_set<std::string_view> kSkipped = {
      "BA_DEF_",        "BA_DEF_REL_", "BA_REL_",          "BA_DEF_DEF_REL_",
      "BA_DEF_SGTYPE_", "BA_SGTYPE_",  "SIG_TYPE_REF_",    "SGTYPE_",
      "SGTYPE_VAL_",    "SIG_GROUP_",  "SIGTYPE_VALTYPE_", "EV_",
      "ENVVAR_DATA_",   "BO_TX_BU_",   "CAT_DEF_",         "CAT_",
      "FILTER",         "EV_DATA_",    "NS_DESC_",         "BU_SG_REL_",
      "BU_EV_REL_",     "BU_BO_REL_"};
  return kSkipped.contains(word);
}

bool IsKeyword(std::string_view word) {
  static const std::unordered_set<std::string_view> kKeywords = {
      "VERSION", "NS_",        "BS_",          "BU_",         "BO_", "SG_",        "CM_",
      "VAL_",    "VAL_TABLE_", "SIG_VALTYPE_", "SG_MUL_VAL_", "BA_", "BA_DEF_DEF_"};
  return kKeywords.contains(word) || IsSkippedKeyword(word);
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of file";
    case TokenKind::kString:
      return "a string";
    default:
      return "'" + std::string(token.text) + "'";
  }
}

class Parser {
 public:
  Parser(std::string_view text, std::string name) : lexer_(text), latin1_(!IsValidUtf8(text)) {
    parsed_.db.name = std::move(name);
  }

  Result<DbcDatabase> Parse() {
    while (lexer_.Peek().kind != TokenKind::kEnd) CANVOY_RETURN_IF_ERROR(ParseStatement());
    if (!lexer_.error().empty()) return ErrorAt(lexer_.Peek(), lexer_.error());
    CANVOY_RETURN_IF_ERROR(FinishDbc(&parsed_));
    return std::move(parsed_.db);
  }

 private:
  Error ErrorAt(const Token& at, const std::string& what) const {
    return Error(Errc::kParse, parsed_.db.name + ":" + std::to_string(at.line) + ":" +
                                   std::to_string(at.column) + ": " + what);
  }
  Error Unexpected(const Token& at, const std::string& expected) const {
    if (at.kind == TokenKind::kEnd && !lexer_.error().empty()) return ErrorAt(at, lexer_.error());
    return ErrorAt(at, "expected " + expected + ", found " + Describe(at));
  }

  Result<Token> Word(const std::string& what) {
    if (lexer_.Peek().kind != TokenKind::kWord) return Unexpected(lexer_.Peek(), what);
    return lexer_.Next();
  }
  Result<std::string> String(const std::string& what) {
    if (lexer_.Peek().kind != TokenKind::kString) return Unexpected(lexer_.Peek(), what);
    return Unquote(lexer_.Next().text, latin1_);
  }
  Status Punct(char c, const std::string& context) {
    if (!lexer_.Peek().Is(c)) {
      return Unexpected(lexer_.Peek(), "'" + std::string(1, c) + "' " + context);
    }
    lexer_.Next();
    return OkStatus();
  }
  bool TakePunct(char c) {
    if (!lexer_.Peek().Is(c)) return false;
    lexer_.Next();
    return true;
  }
  Result<std::uint64_t> Unsigned(const std::string& what, std::uint64_t max) {
    CANVOY_ASSIGN_OR_RETURN(const Token token, Word(what));
    const auto value = ParseUnsigned(token.text);
    if (!value || *value > max) {
      return ErrorAt(token, what + " '" + std::string(token.text) + "' is not an integer 0.." +
                                std::to_string(max));
    }
    return *value;
  }
  Result<std::int64_t> Key(const std::string& what) {
    CANVOY_ASSIGN_OR_RETURN(const Token token, Word(what));
    const auto value = ParseKey(token.text);
    if (!value)
      return ErrorAt(token, what + " '" + std::string(token.text) + "' is not an integer");
    return *value;
  }
  Result<DbcNumber> Number(const std::string& what) {
    CANVOY_ASSIGN_OR_RETURN(const Token token, Word(what));
    const auto value = ParseNumber(token.text);
    if (!value) return ErrorAt(token, what + " '" + std::string(token.text) + "' is not a number");
    return *value;
  }
  Result<SignalRef> MessageRefAt(const Token& at) {
    CANVOY_ASSIGN_OR_RETURN(const std::uint64_t id, Unsigned("message id", 0xFFFFFFFFU));
    return SignalRef{{at.line, at.column}, static_cast<std::uint32_t>(id), {}};
  }

  // True when the next token starts a new statement on a later line than `start`: a keyword in
  // column 1. Used to survive a statement whose ';' is missing (seen in opendbc files).
  bool AtNextStatement(const Token& start) const {
    const Token& next = lexer_.Peek();
    return next.kind == TokenKind::kWord && next.column == 1 && next.line != start.line &&
           IsKeyword(next.text);
  }
  void WarnMissingSemicolon(const Token& start) {
    parsed_.db.warnings.push_back(parsed_.db.name + ":" + std::to_string(start.line) + ":" +
                                  std::to_string(start.column) + ": " + std::string(start.text) +
                                  " has no ';' before the next statement");
  }

  // Skips to the ';' that ends the statement `keyword` started.
  Status SkipStatement(const Token& keyword) {
    while (!TakePunct(';')) {
      if (lexer_.Peek().kind == TokenKind::kEnd) {
        return Unexpected(lexer_.Peek(), "';' to end " + std::string(keyword.text));
      }
      if (AtNextStatement(keyword)) {
        WarnMissingSemicolon(keyword);
        break;
      }
      lexer_.Next();
    }
    return OkStatus();
  }
  void SkipLine(std::uint32_t line) {
    while (lexer_.Peek().kind != TokenKind::kEnd && lexer_.Peek().line == line) lexer_.Next();
  }

  Status ParseStatement() {
    CANVOY_ASSIGN_OR_RETURN(const Token keyword, Word("a DBC keyword"));
    const std::string_view k = keyword.text;
    if (k == "VERSION") return ParseVersion();
    if (k == "NS_") return ParseNewSymbols();
    if (k == "BS_") {
      SkipLine(keyword.line);
      return OkStatus();
    }
    if (k == "BU_") return ParseNodes(keyword);
    if (k == "BO_") return ParseMessage(keyword);
    if (k == "SG_") return ParseSignal(keyword);
    if (k == "CM_") return ParseComment(keyword);
    if (k == "VAL_") return ParseLabels(keyword);
    if (k == "VAL_TABLE_") return ParseValueTable(keyword);
    if (k == "SIG_VALTYPE_") return ParseValueType(keyword);
    if (k == "SG_MUL_VAL_") return ParseMuxValues(keyword);
    if (k == "BA_DEF_DEF_") return ParseAttributeDefault();
    if (k == "BA_") return ParseAttribute(keyword);
    if (IsSkippedKeyword(k)) return SkipStatement(keyword);
    return ErrorAt(keyword, "unknown keyword '" + std::string(k) + "'");
  }

  Status ParseVersion() {
    CANVOY_ASSIGN_OR_RETURN(parsed_.db.version, String("a version string"));
    return OkStatus();
  }

  // NS_ : followed by indented symbol names; ends at the first word in column 1.
  Status ParseNewSymbols() {
    TakePunct(':');
    while (lexer_.Peek().kind == TokenKind::kWord && lexer_.Peek().column > 1 &&
           !lexer_.Peek().IsWord("BS_") && !lexer_.Peek().IsWord("BU_") &&
           !lexer_.Peek().IsWord("BO_")) {
      lexer_.Next();
    }
    return OkStatus();
  }

  Status ParseNodes(const Token& keyword) {
    CANVOY_RETURN_IF_ERROR(Punct(':', "after BU_"));
    while (lexer_.Peek().kind == TokenKind::kWord && lexer_.Peek().line == keyword.line) {
      parsed_.db.nodes.emplace_back(lexer_.Next().text);
    }
    return OkStatus();
  }

  // BO_ <id> <name>: <length> <transmitter>
  Status ParseMessage(const Token& keyword) {
    CANVOY_ASSIGN_OR_RETURN(const std::uint64_t raw_id, Unsigned("message id", 0xFFFFFFFFU));
    CANVOY_ASSIGN_OR_RETURN(const Token name, Word("message name"));
    CANVOY_RETURN_IF_ERROR(Punct(':', "after the message name"));
    CANVOY_ASSIGN_OR_RETURN(const std::uint64_t length, Unsigned("message length", kMaxFdLen));
    DbcMessage message;
    message.name = std::string(name.text);
    message.length = static_cast<std::uint32_t>(length);
    message.line = keyword.line;
    if (lexer_.Peek().kind == TokenKind::kWord && lexer_.Peek().line == keyword.line) {
      message.transmitter = std::string(lexer_.Next().text);
    }
    const auto id = static_cast<std::uint32_t>(raw_id);
    if (name.text == kIndependentSignals) {  // a container for unplaced signals, not a frame
      parsed_.ignored_raw_ids.push_back(id);
      current_message_ = nullptr;
      in_ignored_message_ = true;
      return OkStatus();
    }
    message.extended = (id & kExtendedFlag) != 0;
    message.id = id & ~kExtendedFlag;
    if (message.id > kMaxExtendedId) {
      return ErrorAt(keyword, "message id " + std::to_string(raw_id) + " has bits 29-30 set");
    }
    if (message.id > kMaxStandardId) message.extended = true;  // 29-bit ids written without bit 31
    parsed_.db.messages.push_back(std::move(message));
    parsed_.raw_ids.push_back(id);
    current_message_ = &parsed_.db.messages.back();
    in_ignored_message_ = false;
    return OkStatus();
  }

  // SG_ <name> [M|mN|mNM] : <start>|<length>@<order><sign> (<factor>,<offset>) [<min>|<max>]
  //     "<unit>" <receiver>[,<receiver>...]
  Status ParseSignal(const Token& keyword) {
    if (current_message_ == nullptr && !in_ignored_message_) {
      return ErrorAt(keyword, "SG_ before any BO_");
    }
    DbcSignal signal;
    signal.line = keyword.line;
    CANVOY_ASSIGN_OR_RETURN(const Token name, Word("signal name"));
    signal.name = std::string(name.text);
    if (lexer_.Peek().kind == TokenKind::kWord) {
      const Token mux = lexer_.Next();
      if (!ParseMuxSpec(mux.text, &signal)) {
        return ErrorAt(mux, "multiplexer mark '" + std::string(mux.text) + "' is not M, mN or mNM");
      }
    }
    CANVOY_RETURN_IF_ERROR(Punct(':', "after the signal name"));
    CANVOY_ASSIGN_OR_RETURN(const std::uint64_t start, Unsigned("start bit", kMaxFdLen * 8 - 1));
    CANVOY_RETURN_IF_ERROR(Punct('|', "after the start bit"));
    CANVOY_ASSIGN_OR_RETURN(const std::uint64_t length, Unsigned("signal length", 64));
    CANVOY_RETURN_IF_ERROR(Punct('@', "after the signal length"));
    CANVOY_ASSIGN_OR_RETURN(const Token order, Word("byte order and sign, e.g. 1+"));
    if (order.text.size() != 2 || (order.text[0] != '0' && order.text[0] != '1') ||
        (order.text[1] != '+' && order.text[1] != '-')) {
      return ErrorAt(
          order, "byte order and sign '" + std::string(order.text) + "' is not 0+, 0-, 1+ or 1-");
    }
    signal.start_bit = static_cast<std::uint16_t>(start);
    signal.length = static_cast<std::uint16_t>(length);
    signal.byte_order = order.text[0] == '1' ? ByteOrder::kLittleEndian : ByteOrder::kBigEndian;
    signal.is_signed = order.text[1] == '-';
    CANVOY_RETURN_IF_ERROR(Punct('(', "before the factor"));
    CANVOY_ASSIGN_OR_RETURN(signal.factor, Number("factor"));
    CANVOY_RETURN_IF_ERROR(Punct(',', "after the factor"));
    CANVOY_ASSIGN_OR_RETURN(signal.offset, Number("offset"));
    CANVOY_RETURN_IF_ERROR(Punct(')', "after the offset"));
    CANVOY_RETURN_IF_ERROR(Punct('[', "before the minimum"));
    CANVOY_ASSIGN_OR_RETURN(const DbcNumber minimum, Number("minimum"));
    CANVOY_RETURN_IF_ERROR(Punct('|', "after the minimum"));
    CANVOY_ASSIGN_OR_RETURN(const DbcNumber maximum, Number("maximum"));
    CANVOY_RETURN_IF_ERROR(Punct(']', "after the maximum"));
    signal.minimum = minimum.value;
    signal.maximum = maximum.value;
    const Token unit = lexer_.Peek();
    CANVOY_ASSIGN_OR_RETURN(signal.unit, String("the unit string"));
    // Receivers: the rest of the unit's line, separated by commas or blanks.
    while (lexer_.Peek().line == unit.line &&
           (lexer_.Peek().kind == TokenKind::kWord || lexer_.Peek().Is(','))) {
      const Token receiver = lexer_.Next();
      if (receiver.kind == TokenKind::kWord) signal.receivers.emplace_back(receiver.text);
    }
    if (current_message_ != nullptr) current_message_->signals.push_back(std::move(signal));
    return OkStatus();
  }

  static bool ParseMuxSpec(std::string_view text, DbcSignal* signal) {
    if (text == "M") {
      signal->is_multiplexer = true;
      return true;
    }
    if (text.size() < 2 || text[0] != 'm') return false;
    std::string_view digits = text.substr(1);
    if (digits.back() == 'M') {
      signal->is_multiplexer = true;
      digits.remove_suffix(1);
    }
    const auto value = ParseUnsigned(digits);
    if (!value) return false;
    signal->multiplexer_value = *value;
    return true;
  }

  // CM_ [BU_ <node> | BO_ <id> | SG_ <id> <signal> | EV_ <name>] "<text>";
  Status ParseComment(const Token& keyword) {
    const Token kind = lexer_.Peek();
    if (kind.IsWord("BO_") || kind.IsWord("SG_")) {
      lexer_.Next();
      CANVOY_ASSIGN_OR_RETURN(SignalRef ref, MessageRefAt(kind));
      if (kind.IsWord("SG_")) {
        CANVOY_ASSIGN_OR_RETURN(const Token signal, Word("signal name"));
        ref.signal = std::string(signal.text);
      }
      CANVOY_ASSIGN_OR_RETURN(std::string text, String("the comment string"));
      parsed_.comments.push_back({std::move(ref), std::move(text)});
      return Punct(';', "after the comment");
    }
    return SkipStatement(keyword);  // comments on the file, nodes or environment variables
  }

  // VAL_ <id> <signal> (<raw> "<label>")* ;   (VAL_ <env var> ... ; is skipped)
  Status ParseLabels(const Token& keyword) {
    if (lexer_.Peek().kind != TokenKind::kWord || !ParseUnsigned(lexer_.Peek().text)) {
      return SkipStatement(keyword);
    }
    PendingLabels pending;
    CANVOY_ASSIGN_OR_RETURN(pending.ref, MessageRefAt(keyword));
    CANVOY_ASSIGN_OR_RETURN(const Token signal, Word("signal name"));
    pending.ref.signal = std::string(signal.text);
    CANVOY_ASSIGN_OR_RETURN(pending.labels, LabelPairs(keyword));
    parsed_.labels.push_back(std::move(pending));
    return OkStatus();
  }

  // VAL_TABLE_ <name> (<raw> "<label>")* ;
  Status ParseValueTable(const Token& keyword) {
    CANVOY_ASSIGN_OR_RETURN(const Token name, Word("value table name"));
    CANVOY_ASSIGN_OR_RETURN(auto labels, LabelPairs(keyword));
    parsed_.db.value_tables[std::string(name.text)] = std::move(labels);
    return OkStatus();
  }

  Result<std::vector<std::pair<std::int64_t, std::string>>> LabelPairs(const Token& keyword) {
    std::vector<std::pair<std::int64_t, std::string>> labels;
    while (!TakePunct(';')) {
      if (AtNextStatement(keyword)) {
        WarnMissingSemicolon(keyword);
        break;
      }
      CANVOY_ASSIGN_OR_RETURN(const std::int64_t raw, Key("raw value"));
      CANVOY_ASSIGN_OR_RETURN(std::string label, String("a label string"));
      labels.emplace_back(raw, std::move(label));
    }
    return labels;
  }

  // SIG_VALTYPE_ <id> <signal> : <0|1|2> ;
  Status ParseValueType(const Token& keyword) {
    PendingValueType pending;
    CANVOY_ASSIGN_OR_RETURN(pending.ref, MessageRefAt(keyword));
    CANVOY_ASSIGN_OR_RETURN(const Token signal, Word("signal name"));
    pending.ref.signal = std::string(signal.text);
    TakePunct(':');
    CANVOY_ASSIGN_OR_RETURN(const std::uint64_t type, Unsigned("value type", 2));
    pending.type = static_cast<std::uint32_t>(type);
    parsed_.value_types.push_back(std::move(pending));
    return Punct(';', "after the value type");
  }

  // SG_MUL_VAL_ <id> <signal> <switch> <low>-<high>[, <low>-<high>...] ;
  Status ParseMuxValues(const Token& keyword) {
    PendingMux pending;
    CANVOY_ASSIGN_OR_RETURN(pending.ref, MessageRefAt(keyword));
    CANVOY_ASSIGN_OR_RETURN(const Token signal, Word("signal name"));
    pending.ref.signal = std::string(signal.text);
    CANVOY_ASSIGN_OR_RETURN(const Token switch_name, Word("multiplexer switch name"));
    pending.switch_name = std::string(switch_name.text);
    do {
      CANVOY_ASSIGN_OR_RETURN(const Token range, Word("a value range like 1-3"));
      const std::size_t dash = range.text.find('-', 1);
      const auto low = ParseUnsigned(range.text.substr(0, dash));
      const auto high =
          dash == std::string_view::npos ? low : ParseUnsigned(range.text.substr(dash + 1));
      if (!low || !high || *low > *high) {
        return ErrorAt(range, "value range '" + std::string(range.text) + "' is not <low>-<high>");
      }
      pending.ranges.push_back({*low, *high});
    } while (TakePunct(','));
    parsed_.muxes.push_back(std::move(pending));
    return Punct(';', "after the value ranges");
  }

  // BA_DEF_DEF_ "<name>" <value> ;
  Status ParseAttributeDefault() {
    CANVOY_ASSIGN_OR_RETURN(std::string name, String("an attribute name string"));
    CANVOY_ASSIGN_OR_RETURN(std::string value, AttributeValue());
    parsed_.db.attribute_defaults.emplace_back(std::move(name), std::move(value));
    return Punct(';', "after the attribute default");
  }

  // BA_ "<name>" [BU_ <node> | BO_ <id> | SG_ <id> <signal> | EV_ <name>] <value> ;
  // Database and message attributes are kept; the others are skipped.
  Status ParseAttribute(const Token& keyword) {
    CANVOY_ASSIGN_OR_RETURN(std::string name, String("an attribute name string"));
    const Token& next = lexer_.Peek();
    const bool names_object =
        next.IsWord("BU_") || next.IsWord("BO_") || next.IsWord("SG_") || next.IsWord("EV_");
    if (next.kind == TokenKind::kString || (next.kind == TokenKind::kWord && !names_object)) {
      CANVOY_ASSIGN_OR_RETURN(std::string value, AttributeValue());
      parsed_.db.attributes.emplace_back(std::move(name), std::move(value));
      return Punct(';', "after the attribute value");
    }
    if (!next.IsWord("BO_")) return SkipStatement(keyword);
    const Token bo = lexer_.Next();
    PendingAttribute pending;
    CANVOY_ASSIGN_OR_RETURN(pending.ref, MessageRefAt(bo));
    pending.name = std::move(name);
    CANVOY_ASSIGN_OR_RETURN(pending.value, AttributeValue());
    parsed_.attributes.push_back(std::move(pending));
    return Punct(';', "after the attribute value");
  }

  Result<std::string> AttributeValue() {
    if (lexer_.Peek().kind == TokenKind::kString) return String("an attribute value");
    CANVOY_ASSIGN_OR_RETURN(const Token value, Word("an attribute value"));
    return std::string(value.text);
  }

  Lexer lexer_;
  bool latin1_;
  ParsedDbc parsed_;
  DbcMessage* current_message_ = nullptr;  // the last BO_, which SG_ statements extend
  bool in_ignored_message_ = false;
};

}  // namespace
}  // namespace dbc

Result<DbcDatabase> ParseDbc(std::string_view text, std::string name) {
  return dbc::Parser(text, std::move(name)).Parse();
}

Result<DbcDatabase> ParseDbcFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Error(Errc::kIo, path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::kIo, path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(Errc::kIo, path + ": read failed");
  return ParseDbc(text.str(), path);
}

}  // namespace canvoy::agent
