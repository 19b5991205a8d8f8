#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "canvoy/common/options.h"
#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/query_cli.h"
#include "canvoy/fleet_store/query_client.h"
#include "query/json.h"

namespace canvoy::fleet_store {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;
constexpr long kDefaultTimeoutMs = 30'000;

int Fail(int code, const Error& error) {
  std::cerr << "canvoy-fleet-store: " << error.message() << "\n";
  return code;
}

Error Usage(const std::string& message) { return Error(Errc::kInvalidArgument, message); }

// Percent-encodes all but RFC 3986's unreserved characters.
std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Options every subcommand has.
struct Common {
  std::string url;
  std::string format_text = "table";
  long timeout_ms = kDefaultTimeoutMs;
  OutputFormat format = OutputFormat::kTable;

  void Add(po::options_description& desc) {
    // clang-format off
    desc.add_options()
        ("url", po::value(&url)->required(), "the store's HTTP address, e.g. http://127.0.0.1:8080")
        ("format", po::value(&format_text)->default_value(format_text), "table, json or csv")
        ("timeout-ms", po::value(&timeout_ms)->default_value(timeout_ms), "give up after this long");
    // clang-format on
    AddCommonOptions(desc);
  }
  Status Check() {
    auto parsed = ParseOutputFormat(format_text);
    if (!parsed) return parsed.error().WithContext("option '--format'");
    format = parsed.value();
    if (timeout_ms <= 0) return Usage("option '--timeout-ms' must be positive");
    return OkStatus();
  }
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms); }
};

// Prints a table answer; a further page is announced on stderr.

// Adds the common options and parses argv into `vm`; an exit code when the command ends here
// (help shown, or a bad option).
std::optional<int> ParseCommand(int argc, const char* const* argv, po::options_description& desc,
                                Common& common, po::variables_map& vm) {
  common.Add(desc);
  auto outcome = ParseOptions(argc, argv, desc, vm, kQueryUsage);
  if (!outcome) return Fail(kUsageError, outcome.error());
  if (outcome.value() == ParseOutcome::kHelpShown) return 0;
  if (auto status = common.Check(); !status) return Fail(kUsageError, status.error());
  return std::nullopt;
}

int Print(const Result<HttpAnswer>& answer, OutputFormat format) {
  if (!answer) return Fail(kRuntimeError, answer.error());
  if (answer.value().status != 200) return Fail(kRuntimeError, AnswerError(answer.value()));
  auto text = FormatTable(answer.value().body, format);
  if (!text) return Fail(kRuntimeError, text.error());
  std::cout << text.value();
  boost::system::error_code ec;
  auto parsed = query::ParseJson(answer.value().body, ec);
  if (!ec && parsed.is_object()) {
    if (const auto* next = parsed.get_object().if_contains("next"); next && next->is_string())
      std::cerr << "more rows: add --after " << next->get_string().c_str() << "\n";
  }
  return 0;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::kIo, "file '" + path + "': cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int Run(int argc, const char* const* argv) {
  Common common;
  std::string file, document_text, after;
  std::vector<std::string> param_texts;
  long limit = 0;
  po::options_description desc("query run options");
  // clang-format off
  desc.add_options()
      ("file", po::value(&file), "the query document (JSON, see QUERIES.md)")
      ("json", po::value(&document_text), "the query document given inline")
      ("param", po::value(&param_texts)->composing(), "NAME=VALUE: replaces \"${NAME}\" in the document")
      ("limit", po::value(&limit), "rows per page")
      ("after", po::value(&after), "the cursor printed with the previous page");
  // clang-format on
  po::variables_map vm;
  if (auto code = ParseCommand(argc, argv, desc, common, vm)) return *code;
  if (file.empty() == document_text.empty())
    return Fail(kUsageError, Usage("give --file or --json"));
  if (!file.empty()) {
    auto text = ReadFile(file);
    if (!text) return Fail(kUsageError, text.error());
    document_text = std::move(text).value();
  }
  std::map<std::string, std::string> params;
  for (const auto& p : param_texts) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return Fail(kUsageError, Usage("option '--param': '" + p + "' is not NAME=VALUE"));
    params[p.substr(0, eq)] = p.substr(eq + 1);
  }
  auto substituted = SubstituteParams(document_text, params);
  if (!substituted) return Fail(kUsageError, substituted.error());
  boost::system::error_code ec;
  auto document = query::ParseJson(substituted.value(), ec);
  if (ec) return Fail(kUsageError, Usage("the query is not JSON: " + ec.message()));
  if (limit != 0 || !after.empty()) {
    if (!document.is_object()) return Fail(kUsageError, Usage("the query is not a JSON object"));
    if (limit != 0) document.get_object()["limit"] = limit;
    if (!after.empty()) document.get_object()["after"] = after;
  }
  return Print(HttpPost(common.url, "/v1/query", json::serialize(document), common.timeout()),
               common.format);
}

// samples and downsample: one signal of one vehicle.
int Signal(int argc, const char* const* argv, bool downsample) {
  Common common;
  std::string vin_text, signal, width = "1m", aggs = "avg,min,max", after;
  std::int64_t from = 0, to = 0;
  long limit = 0;
  po::options_description desc(downsample ? "query downsample options" : "query samples options");
  // clang-format off
  desc.add_options()
      ("vin", po::value(&vin_text)->required(), "the vehicle")
      ("signal", po::value(&signal)->required(), "the signal's name")
      ("from-us", po::value(&from), "from this time on (microseconds since the epoch)")
      ("to-us", po::value(&to), "up to, without, this time")
      ("limit", po::value(&limit), "rows per page")
      ("after", po::value(&after), "the cursor printed with the previous page");
  if (downsample) {
    desc.add_options()
        ("width", po::value(&width)->default_value(width), "bucket width: 10s, 1m, 1h, 1d, ...")
        ("aggs", po::value(&aggs)->default_value(aggs), "of avg, min, max, sum, count, first, last");
  }
  // clang-format on
  po::variables_map vm;
  if (auto code = ParseCommand(argc, argv, desc, common, vm)) return *code;
  auto vin = Vin::Parse(vin_text);
  if (!vin) return Fail(kUsageError, vin.error().WithContext("option '--vin'"));
  std::string target = "/v1/vehicles/" + vin.value().str() + "/signals/" + UrlEncode(signal) +
                       (downsample ? "/downsample" : "/samples");
  std::string query;
  auto add = [&query](const std::string& key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + key + "=" + UrlEncode(value);
  };
  if (vm.count("from-us") != 0) add("from_us", std::to_string(from));
  if (vm.count("to-us") != 0) add("to_us", std::to_string(to));
  if (limit != 0) add("limit", std::to_string(limit));
  if (!after.empty()) add("after", after);
  if (downsample) {
    add("width", width);
    add("aggs", aggs);
  }
  return Print(HttpGet(common.url, target + query, common.timeout()), common.format);
}

int Latest(int argc, const char* const* argv) {
  Common common;
  common.timeout_ms = 10'000;
  std::string vin_text;
  po::options_description desc("query latest options");
  desc.add_options()("vin", po::value(&vin_text)->required(), "the vehicle");
  po::variables_map vm;
  if (auto code = ParseCommand(argc, argv, desc, common, vm)) return *code;
  auto vin = Vin::Parse(vin_text);
  if (!vin) return Fail(kUsageError, vin.error().WithContext("option '--vin'"));
  auto text = QueryLatest(common.url, vin.value(), common.format, common.timeout());
  if (!text) return Fail(kRuntimeError, text.error());
  std::cout << text.value();
  return 0;
}

}  // namespace

int RunQueryCommand(int argc, const char* const* argv) {
  const std::string_view what = argc > 1 ? argv[1] : "";
  if (what == "run") return Run(argc - 1, argv + 1);
  if (what == "samples") return Signal(argc - 1, argv + 1, false);
  if (what == "downsample") return Signal(argc - 1, argv + 1, true);
  if (what == "latest") return Latest(argc - 1, argv + 1);
  return Fail(kUsageError, Usage("query '" + std::string(what) +
                                 "': expected run, samples, downsample or latest\n" + kQueryUsage));
}

}  // namespace canvoy::fleet_store
