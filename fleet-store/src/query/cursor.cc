// Cursors are opaque to clients: base64url of a small JSON object that names the query it
// belongs to (its fingerprint) and the last row of the page.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "query/json.h"
#include "query/plan.h"

namespace canvoy::fleet_store::query {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> FromBase64Url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const auto index = kAlphabet.find(c);
    if (index == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Error NotACursor() {
  return Error(Errc::kInvalidArgument, "not a cursor of this API; pass a page's \"next\" as it is");
}

}  // namespace

std::string EncodeCursor(const Cursor& cursor, std::string_view fingerprint) {
  json::object o{{"q", fingerprint}, {"t", cursor.t}};
  if (!cursor.vin.empty()) {
    o["v"] = cursor.vin;
    o["k"] = cursor.k;
  } else {
    json::array keys;
    for (const auto& k : cursor.keys) keys.push_back(k ? json::value(*k) : json::value(nullptr));
    o["g"] = std::move(keys);
  }
  return Base64Url(json::serialize(o));
}

Result<Cursor> DecodeCursor(std::string_view text, std::string_view fingerprint) {
  auto raw = FromBase64Url(text);
  if (!raw) return NotACursor();
  boost::system::error_code ec;
  auto value = ParseJson(*raw, ec);
  if (ec || !value.is_object()) return NotACursor();
  const auto& o = value.get_object();
  const auto* q = o.if_contains("q");
  const auto* t = o.if_contains("t");
  if (q == nullptr || !q->is_string() || t == nullptr || !t->is_int64()) return NotACursor();
  if (q->get_string() != fingerprint)
    return Error(Errc::kInvalidArgument, "the cursor belongs to another query");
  Cursor cursor;
  cursor.t = t->get_int64();
  if (const auto* v = o.if_contains("v")) {
    const auto* k = o.if_contains("k");
    if (!v->is_string() || v->get_string().empty() || k == nullptr) return NotACursor();
    if (k->is_uint64()) {
      cursor.k = k->get_uint64();
    } else if (k->is_int64() && k->get_int64() >= 0) {
      cursor.k = static_cast<std::uint64_t>(k->get_int64());
    } else {
      return NotACursor();
    }
    cursor.vin = std::string(v->get_string());
    return cursor;
  }
  const auto* g = o.if_contains("g");
  if (g == nullptr || !g->is_array()) return NotACursor();
  for (const auto& key : g->get_array()) {
    if (key.is_null()) {
      cursor.keys.emplace_back();
    } else if (key.is_string()) {
      cursor.keys.emplace_back(std::string(key.get_string()));
    } else {
      return NotACursor();
    }
  }
  return cursor;
}

}  // namespace canvoy::fleet_store::query
