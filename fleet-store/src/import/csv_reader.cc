#include "import/csv_reader.h"

#include <csv.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace canvoy::fleet_store::import {
namespace {

struct ParseState {
  const std::function<bool(const CsvRecord&)>* fn = nullptr;
  std::vector<std::string> fields;
  std::uint64_t line = 1;         // the line the parser is on
  std::uint64_t record_line = 1;  // the line the current record started on
  bool in_record = false;
  bool stop = false;
};

void OnField(void* data, std::size_t size, void* user) {
  auto& state = *static_cast<ParseState*>(user);
  if (!state.in_record) {
    state.in_record = true;
    state.fields.clear();
  }
  state.fields.emplace_back(static_cast<const char*>(data), size);
}

void OnRecordEnd(int, void* user) {
  auto& state = *static_cast<ParseState*>(user);
  if (!state.in_record) state.fields.clear();  // an empty line is one empty field
  state.in_record = false;
  if (!state.stop && !(*state.fn)(CsvRecord{state.record_line, state.fields})) state.stop = true;
}

}  // namespace

Status ReadCsv(const std::filesystem::path& path, const std::function<bool(const CsvRecord&)>& fn,
               const std::function<void(std::string_view)>& on_bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) return Error(Errc::kIo, path.string() + ": " + std::strerror(errno));
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
    return Error(Errc::kInternal, "csv: out of memory");
  std::unique_ptr<csv_parser, void (*)(csv_parser*)> guard(&parser, csv_free);

  ParseState state;
  state.fn = &fn;
  std::vector<char> buffer(1 << 20);
  while (!state.stop) {
    const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (n == 0) break;
    if (on_bytes) on_bytes({buffer.data(), n});
    // libcsv reports records, not lines: feed it line by line so that each record knows where
    // it started (a quoted field may span lines).
    std::size_t begin = 0;
    while (begin < n && !state.stop) {
      const void* nl = std::memchr(buffer.data() + begin, '\n', n - begin);
      const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) -
                                                            buffer.data()) + 1
                                 : n;
      if (!state.in_record && parser.pstate == 0) state.record_line = state.line;
      if (csv_parse(&parser, buffer.data() + begin, end - begin, OnField, OnRecordEnd, &state) !=
          end - begin) {
        return Error(Errc::kParse, path.string() + ":" + std::to_string(state.line) + ": " +
                                       csv_strerror(csv_error(&parser)));
      }
      if (nl) ++state.line;
      begin = end;
    }
  }
  if (std::ferror(file.get())) return Error(Errc::kIo, path.string() + ": read error");
  if (!state.stop && csv_fini(&parser, OnField, OnRecordEnd, &state) != 0) {
    return Error(Errc::kParse, path.string() + ":" + std::to_string(state.line) + ": " +
                                   csv_strerror(csv_error(&parser)));
  }
  return OkStatus();
}

}  // namespace canvoy::fleet_store::import
