#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <vector>

#include "canvoy/fleet_store/query_client.h"
#include "query/json.h"

namespace canvoy::fleet_store {
namespace {

constexpr std::array<std::string_view, 5> kColumns = {"name", "type", "value", "unit",
                                                      "timestamp_us"};
using Row = std::array<std::string, kColumns.size()>;

// A JSON scalar as a person reads it: strings unquoted, doubles in their shortest exact form.
std::string Text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_double()) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v.get_double());
    if (ec == std::errc()) return std::string(buffer, end);
  }
  return boost::json::serialize(v);
}

Result<std::vector<Row>> Rows(const boost::json::object& answer) {
  const auto* signals = answer.if_contains("signals");
  if (signals == nullptr || !signals->is_array())
    return Error(Errc::kParse, "answer: no \"signals\" array");
  std::vector<Row> rows;
  for (std::size_t i = 0; i < signals->get_array().size(); ++i) {
    const auto* signal = signals->get_array()[i].if_object();
    if (signal == nullptr)
      return Error(Errc::kParse, "answer: signals[" + std::to_string(i) + "] is not an object");
    Row row;
    for (std::size_t c = 0; c < kColumns.size(); ++c) {
      const auto* field = signal->if_contains(kColumns[c]);
      if (field == nullptr) {
        return Error(Errc::kParse, "answer: signals[" + std::to_string(i) + "] has no \"" +
                                       std::string(kColumns[c]) + "\"");
      }
      row[c] = Text(*field);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Csv(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string RenderCsv(const std::vector<Row>& rows) {
  std::string out;
  auto line = [&out](const auto& fields) {
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (c > 0) out.push_back(',');
      out += Csv(fields[c]);
    }
    out.push_back('\n');
  };
  line(kColumns);
  for (const auto& row : rows) line(row);
  return out;
}

std::string RenderTable(const boost::json::object& answer, const std::vector<Row>& rows) {
  std::string out;
  for (std::string_view key : {"vin", "sample_count", "batch_count", "last_seen_us"}) {
    if (const auto* v = answer.if_contains(key)) out += std::string(key) + ": " + Text(*v) + "\n";
  }
  std::array<std::size_t, kColumns.size()> width{};
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    width[c] = kColumns[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const auto& fields) {
    std::string text;
    for (std::size_t c = 0; c < fields.size(); ++c) {
      std::string_view field = fields[c];
      text.append(field);
      if (c + 1 < fields.size()) text.append(width[c] - field.size() + 2, ' ');
    }
    out += text + "\n";
  };
  std::array<std::string, kColumns.size()> header;
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    header[c] = std::string(kColumns[c]);
    std::transform(header[c].begin(), header[c].end(), header[c].begin(),
                   [](char ch) { return ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch; });
  }
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

// The cells of a query answer as text; null is empty in CSV and "null" in a table.
Result<std::vector<std::vector<std::string>>> TableCells(const boost::json::object& answer,
                                                         OutputFormat format) {
  const auto* columns = answer.if_contains("columns");
  const auto* rows = answer.if_contains("rows");
  if (columns == nullptr || !columns->is_array() || rows == nullptr || !rows->is_array())
    return Error(Errc::kParse, "answer: no \"columns\" and \"rows\" arrays");
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> header;
  for (const auto& c : columns->get_array()) header.push_back(Text(c));
  out.push_back(std::move(header));
  for (std::size_t i = 0; i < rows->get_array().size(); ++i) {
    const auto* row = rows->get_array()[i].if_array();
    if (row == nullptr || row->size() != out[0].size()) {
      return Error(Errc::kParse, "answer: rows[" + std::to_string(i) + "] is not an array of " +
                                     std::to_string(out[0].size()) + " cells");
    }
    std::vector<std::string> cells;
    for (const auto& v : *row)
      cells.push_back(v.is_null() ? (format == OutputFormat::kCsv ? "" : "null") : Text(v));
    out.push_back(std::move(cells));
  }
  return out;
}

}  // namespace

Error AnswerError(const HttpAnswer& answer) {
  std::string message = answer.body;
  boost::system::error_code ec;
  auto parsed = query::ParseJson(answer.body, ec);
  if (!ec && parsed.is_object()) {
    if (const auto* error = parsed.get_object().if_contains("error"); error && error->is_string())
      message = std::string(error->get_string());
  }
  const auto code = answer.status == 404   ? Errc::kNotFound
                    : answer.status == 503 ? Errc::kUnavailable
                                           : Errc::kRejected;
  return Error(code, "server answered " + std::to_string(answer.status) + ": " + message);
}

Result<std::string> FormatTable(std::string_view body, OutputFormat format) {
  if (format == OutputFormat::kJson) return std::string(body) + "\n";
  boost::system::error_code ec;
  auto parsed = query::ParseJson(body, ec);
  if (ec) return Error(Errc::kParse, "answer: " + ec.message());
  if (!parsed.is_object()) return Error(Errc::kParse, "answer: not a JSON object");
  CANVOY_ASSIGN_OR_RETURN(auto cells, TableCells(parsed.get_object(), format));
  std::string out;
  if (format == OutputFormat::kCsv) {
    for (const auto& row : cells) {
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c > 0) out.push_back(',');
        out += Csv(row[c]);
      }
      out += "\n";
    }
    return out;
  }
  std::vector<std::size_t> width(cells[0].size(), 0);
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "csv") return OutputFormat::kCsv;
  return Error(Errc::kInvalidArgument,
               "format '" + std::string(text) + "': expected table, json or csv");
}

Result<std::string> FormatLatest(std::string_view body, OutputFormat format) {
  if (format == OutputFormat::kJson) return std::string(body) + "\n";
  boost::system::error_code ec;
  auto parsed = query::ParseJson(body, ec);
  if (ec) return Error(Errc::kParse, "answer: " + ec.message());
  if (!parsed.is_object()) return Error(Errc::kParse, "answer: not a JSON object");
  CANVOY_ASSIGN_OR_RETURN(auto rows, Rows(parsed.get_object()));
  return format == OutputFormat::kCsv ? RenderCsv(rows) : RenderTable(parsed.get_object(), rows);
}

Result<std::string> QueryLatest(std::string_view base_url, const Vin& vin, OutputFormat format,
                                std::chrono::milliseconds timeout) {
  CANVOY_ASSIGN_OR_RETURN(auto answer,
                          HttpGet(base_url, "/v1/vehicles/" + vin.str() + "/latest", timeout));
  if (answer.status != 200) return AnswerError(answer);
  return FormatLatest(answer.body, format);
}

}  // namespace canvoy::fleet_store
