// Parsing of the JSON catalog file into CatalogFile (the shape and values; BuildCatalog checks
// the names against the DBC files).
#include "canvoy/agent/catalog_file.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <unordered_set>

#include <boost/json.hpp>

namespace canvoy::agent {
namespace {

namespace json = boost::json;
namespace tv1 = telemetry::v1;

constexpr std::int64_t kMaxWindowMs = 3'600'000;  // an hour; longer pre/post windows are a typo

class FileParser {
 public:
  explicit FileParser(const std::string& source) : source_(source) {}

  Result<CatalogFile> Parse(std::string_view text) {
    CANVOY_ASSIGN_OR_RETURN(json::value root, ParseJson(text));
    CatalogFile file;
    file.source = source_;
    file.default_policy.mutable_every_sample();
    const json::object* top = root.if_object();
    if (top == nullptr) return Fail("(top level)", "expected an object");
    CANVOY_RETURN_IF_ERROR(CheckKeys(*top, "", {"format", "default", "signals", "triggers"}));
    if (const json::value* format = top->if_contains("format")) {
      if (!format->is_string() || format->get_string() != "canvoy-catalog/1") {
        return Fail("format", "expected \"canvoy-catalog/1\"");
      }
    }
    if (const json::value* d = top->if_contains("default")) CANVOY_RETURN_IF_ERROR(ParseDefault(*d, &file));
    if (const json::value* s = top->if_contains("signals")) CANVOY_RETURN_IF_ERROR(ParseSignals(*s, &file));
    if (const json::value* t = top->if_contains("triggers")) CANVOY_RETURN_IF_ERROR(ParseTriggers(*t, &file));
    return file;
  }

 private:
  Error Fail(const std::string& path, const std::string& what) const {
    return Error(Errc::kParse, source_ + ": " + path + ": " + what);
  }

  Error FailAt(std::string_view text, std::size_t offset, const std::string& what) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Error(Errc::kParse, source_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  // JSON with // and /* */ comments and trailing commas allowed.
  Result<json::value> ParseJson(std::string_view text) const {
    json::parse_options options;
    options.allow_comments = true;
    options.allow_trailing_commas = true;
    json::stream_parser parser({}, options);
    boost::system::error_code ec;
    const std::size_t n = parser.write_some(text.data(), text.size(), ec);
    if (ec) return FailAt(text, n, "malformed JSON (" + ec.message() + ")");
    if (n < text.size()) {
      std::size_t at = n;
      while (at < text.size() && std::strchr(" \t\r\n", text[at]) != nullptr) ++at;
      if (at < text.size()) return FailAt(text, at, "unexpected text after the JSON object");
    }
    parser.finish(ec);
    if (ec) return FailAt(text, text.size(), "malformed JSON (" + ec.message() + ")");
    return parser.release();
  }

  Status CheckKeys(const json::object& object, const std::string& path, std::initializer_list<std::string_view> allowed) const {
    for (const auto& entry : object) {
      bool ok = false;
      std::string list;
      for (std::string_view a : allowed) {
        ok = ok || entry.key() == a;
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      if (!ok) {
        return Fail(path + (path.empty() ? "" : ".") + std::string(entry.key()), "unknown key (expected one of: " + list + ")");
      }
    }
    return OkStatus();
  }

  Result<bool> Bool(const json::value& v, const std::string& path) const {
    if (!v.is_bool()) return Fail(path, "expected true or false");
    return v.get_bool();
  }

  Result<std::string> String(const json::value& v, const std::string& path) const {
    if (!v.is_string()) return Fail(path, "expected a string");
    return std::string(v.get_string());
  }

  Result<double> Number(const json::value& v, const std::string& path) const {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    return Fail(path, "expected a number");
  }

  // A whole number of milliseconds in [0, kMaxWindowMs] (or [1, ...] when positive), as microseconds.
  Result<std::int64_t> Millis(const json::value& v, const std::string& path, bool positive) const {
    CANVOY_ASSIGN_OR_RETURN(double ms, Number(v, path));
    if (ms != std::floor(ms) || ms < (positive ? 1 : 0) || ms > kMaxWindowMs) {
      return Fail(path, std::string("expected a whole number of milliseconds from ") + (positive ? "1" : "0") +
                            " to " + std::to_string(kMaxWindowMs));
    }
    return static_cast<std::int64_t>(ms) * 1000;
  }

  // "every_sample" | "on_change" | {"every_sample": {}} | {"min_interval": {"ms": N}}
  // | {"on_change": {"deadband": X}}
  Result<tv1::CollectionPolicy> Policy(const json::value& v, const std::string& path) const {
    tv1::CollectionPolicy policy;
    std::string kind;
    const json::object* params = nullptr;
    if (v.is_string()) {
      kind = v.get_string();
    } else if (const json::object* o = v.if_object(); o != nullptr && o->size() == 1) {
      kind = o->begin()->key();
      params = o->begin()->value().if_object();
      if (params == nullptr) return Fail(path + "." + kind, "expected an object of parameters");
    } else {
      return Fail(path, "expected \"every_sample\", \"on_change\" or an object with one key: every_sample, "
                        "min_interval or on_change");
    }
    const std::string at = path + "." + kind;
    if (kind == "every_sample") {
      if (params != nullptr) CANVOY_RETURN_IF_ERROR(CheckKeys(*params, at, {}));
      policy.mutable_every_sample();
    } else if (kind == "min_interval") {
      if (params == nullptr) return Fail(path, "min_interval needs {\"ms\": N}");
      CANVOY_RETURN_IF_ERROR(CheckKeys(*params, at, {"ms"}));
      const json::value* ms = params->if_contains("ms");
      if (ms == nullptr) return Fail(at, "missing \"ms\"");
      CANVOY_ASSIGN_OR_RETURN(std::int64_t us, Millis(*ms, at + ".ms", true));
      policy.mutable_min_interval()->set_interval_us(us);
    } else if (kind == "on_change") {
      double deadband = 0;
      if (params != nullptr) {
        CANVOY_RETURN_IF_ERROR(CheckKeys(*params, at, {"deadband"}));
        if (const json::value* d = params->if_contains("deadband")) {
          CANVOY_ASSIGN_OR_RETURN(deadband, Number(*d, at + ".deadband"));
          if (!(deadband >= 0) || !std::isfinite(deadband)) return Fail(at + ".deadband", "expected a number >= 0");
        }
      }
      policy.mutable_on_change()->set_deadband(deadband);
    } else {
      return Fail(path, "unknown policy '" + kind + "' (expected every_sample, min_interval or on_change; "
                        "capture around events with \"triggers\")");
    }
    return policy;
  }

  Status ParseDefault(const json::value& v, CatalogFile* file) const {
    const json::object* o = v.if_object();
    if (o == nullptr) return Fail("default", "expected an object");
    CANVOY_RETURN_IF_ERROR(CheckKeys(*o, "default", {"collect", "policy"}));
    if (const json::value* c = o->if_contains("collect")) {
      CANVOY_ASSIGN_OR_RETURN(file->default_collect, Bool(*c, "default.collect"));
    }
    if (const json::value* p = o->if_contains("policy")) {
      CANVOY_ASSIGN_OR_RETURN(file->default_policy, Policy(*p, "default.policy"));
    }
    return OkStatus();
  }

  Status ParseSignals(const json::value& v, CatalogFile* file) const {
    const json::object* o = v.if_object();
    if (o == nullptr) return Fail("signals", "expected an object keyed by \"Message.Signal\"");
    for (const auto& entry : *o) {
      CatalogFile::Signal s;
      s.key = entry.key();
      s.path = "signals[\"" + s.key + "\"]";
      const std::size_t dot = s.key.find('.');
      if (dot == std::string::npos || dot == 0 || dot + 1 == s.key.size()) {
        return Fail(s.path, "expected a key \"Message.Signal\"");
      }
      const json::object* fields = entry.value().if_object();
      if (fields == nullptr) return Fail(s.path, "expected an object");
      CANVOY_RETURN_IF_ERROR(CheckKeys(*fields, s.path, {"name", "unit", "policy", "collect"}));
      if (const json::value* c = fields->if_contains("collect")) {
        CANVOY_ASSIGN_OR_RETURN(s.collect, Bool(*c, s.path + ".collect"));
      }
      if (const json::value* n = fields->if_contains("name")) {
        CANVOY_ASSIGN_OR_RETURN(s.name, String(*n, s.path + ".name"));
        if (s.name->empty()) return Fail(s.path + ".name", "must not be empty");
      }
      if (const json::value* u = fields->if_contains("unit")) {
        CANVOY_ASSIGN_OR_RETURN(s.unit, String(*u, s.path + ".unit"));
      }
      if (const json::value* p = fields->if_contains("policy")) {
        CANVOY_ASSIGN_OR_RETURN(s.policy, Policy(*p, s.path + ".policy"));
      }
      if (!s.collect && (s.name || s.unit || s.policy)) {
        return Fail(s.path, "\"collect\": false with a name, unit or policy (which one is meant?)");
      }
      file->signals.push_back(std::move(s));
    }
    return OkStatus();
  }

  Status ParseTriggers(const json::value& v, CatalogFile* file) const {
    const json::array* a = v.if_array();
    if (a == nullptr) return Fail("triggers", "expected an array");
    std::unordered_set<std::string> names;
    for (std::size_t i = 0; i < a->size(); ++i) {
      CatalogFile::Trigger t;
      t.path = "triggers[" + std::to_string(i) + "]";
      const json::object* o = (*a)[i].if_object();
      if (o == nullptr) return Fail(t.path, "expected an object");
      CANVOY_RETURN_IF_ERROR(CheckKeys(*o, t.path, {"name", "when", "pre_ms", "post_ms", "capture"}));
      for (const char* required : {"name", "when", "capture"}) {
        if (!o->contains(required)) return Fail(t.path, std::string("missing \"") + required + "\"");
      }
      CANVOY_ASSIGN_OR_RETURN(t.name, String(o->at("name"), t.path + ".name"));
      if (t.name.empty() || !names.insert(t.name).second) return Fail(t.path + ".name", "must be non-empty and unique");
      CANVOY_ASSIGN_OR_RETURN(t.when, String(o->at("when"), t.path + ".when"));
      if (const json::value* pre = o->if_contains("pre_ms")) {
        CANVOY_ASSIGN_OR_RETURN(t.pre_us, Millis(*pre, t.path + ".pre_ms", false));
      }
      if (const json::value* post = o->if_contains("post_ms")) {
        CANVOY_ASSIGN_OR_RETURN(t.post_us, Millis(*post, t.path + ".post_ms", false));
      }
      const json::array* capture = o->at("capture").if_array();
      if (capture == nullptr || capture->empty()) return Fail(t.path + ".capture", "expected a non-empty array of signal names");
      for (std::size_t k = 0; k < capture->size(); ++k) {
        CANVOY_ASSIGN_OR_RETURN(std::string name, String((*capture)[k], t.path + ".capture[" + std::to_string(k) + "]"));
        t.capture.push_back(std::move(name));
      }
      file->triggers.push_back(std::move(t));
    }
    return OkStatus();
  }

  const std::string& source_;
};

}  // namespace

Result<CatalogFile> CatalogFile::Parse(std::string_view text, const std::string& source) {
  return FileParser(source).Parse(text);
}

Result<CatalogFile> CatalogFile::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::kIo, path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

}  // namespace canvoy::agent
