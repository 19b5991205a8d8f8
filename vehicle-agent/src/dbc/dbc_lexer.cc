#include "dbc/dbc_lexer.h"

#include <cstring>

namespace canvoy::agent::dbc {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool IsPunct(char c) { return c != '\0' && std::strchr(":;,|@()[]", c) != nullptr; }

void AppendUtf8(unsigned code, std::string* out) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

}  // namespace

Lexer::Lexer(std::string_view text) : text_(text) {
  // A UTF-8 byte order mark is not part of the first statement.
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  next_ = Scan();
}

Token Lexer::Next() {
  Token current = next_;
  if (current.kind != TokenKind::kEnd) next_ = Scan();
  return current;
}

void Lexer::Advance() {
  if (text_[pos_] == '\n') {
    ++line_;
    column_ = 1;
  } else {
    ++column_;
  }
  ++pos_;
}

Token Lexer::Scan() {
  while (pos_ < text_.size() && IsSpace(text_[pos_])) Advance();
  Token token;
  token.line = line_;
  token.column = column_;
  if (pos_ >= text_.size()) return token;
  const std::size_t begin = pos_;
  const char c = text_[pos_];
  if (c == '"') {
    Advance();
    const std::size_t content = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) Advance();
      Advance();
    }
    if (pos_ >= text_.size()) {
      error_ = "string starting here has no closing quote";
      return Token{TokenKind::kEnd, {}, token.line, token.column};
    }
    token.kind = TokenKind::kString;
    token.text = text_.substr(content, pos_ - content);
    Advance();
    return token;
  }
  if (IsPunct(c)) {
    Advance();
    token.kind = TokenKind::kPunct;
    token.text = text_.substr(begin, 1);
    return token;
  }
  while (pos_ < text_.size() && !IsSpace(text_[pos_]) && !IsPunct(text_[pos_]) &&
         text_[pos_] != '"') {
    Advance();
  }
  token.kind = TokenKind::kWord;
  token.text = text_.substr(begin, pos_ - begin);
  return token;
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80)
        return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string Unquote(std::string_view raw, bool latin1) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size() && (raw[i + 1] == '"' || raw[i + 1] == '\\')) c = raw[++i];
    if (latin1) {
      AppendUtf8(static_cast<unsigned char>(c), &out);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace canvoy::agent::dbc
