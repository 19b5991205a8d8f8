// Splits DBC text into words, quoted strings and punctuation, with their line and column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace canvoy::agent::dbc {

enum class TokenKind : std::uint8_t { kWord, kString, kPunct, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // a string's content without quotes, escapes not yet resolved
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  bool Is(char punct) const {
    return kind == TokenKind::kPunct && text.size() == 1 && text[0] == punct;
  }
  bool IsWord(std::string_view word) const { return kind == TokenKind::kWord && text == word; }
};

// A word is a run of characters other than blanks, quotes and `: ; , | @ ( ) [ ]`, so numbers
// ("-1.5E+03"), identifiers, byte-order marks ("1+") and ranges ("2-5") are single words.
class Lexer {
 public:
  explicit Lexer(std::string_view text);

  const Token& Peek() const { return next_; }
  Token Next();
  // The error, if any, that the lexer met (an unterminated string); reported at Peek().
  const std::string& error() const { return error_; }

 private:
  Token Scan();
  void Advance();

  std::string_view text_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t column_ = 1;
  Token next_;
  std::string error_;
};

// Resolves \" and \\ in a string token, and converts Latin-1 to UTF-8 when `latin1`.
std::string Unquote(std::string_view raw, bool latin1);
bool IsValidUtf8(std::string_view text);

}  // namespace canvoy::agent::dbc
