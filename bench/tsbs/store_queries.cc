// The fleet store's side of the TSBS IoT comparison: runs the 12 query documents of
// fleet-store/examples/tsbs/ against a store that `canvoy-fleet-store import` filled from the
// generator's samples.csv and attributes.csv, in-process (as duckdb_queries.py runs DuckDB),
// and writes each query's latency and rows as JSON for compare.py.
//
//   canvoy_tsbs_store_queries --db DIR --data DIR --examples DIR [--repeat 5] [--threads 1]
//       --results FILE
#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/store_view.h"

namespace {

namespace po = boost::program_options;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "tsbs_store_queries: cannot read " << path << "\n";
    std::exit(1);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, data, examples, results;
  int repeat = 5;
  unsigned threads = 1;
  po::options_description desc("canvoy_tsbs_store_queries");
  // clang-format off
  desc.add_options()
      ("db", po::value(&db)->required(), "the imported store")
      ("data", po::value(&data)->required(), "the generator's output (params.json)")
      ("examples", po::value(&examples)->required(), "fleet-store/examples/tsbs")
      ("repeat", po::value(&repeat)->default_value(repeat), "warm runs per query")
      ("threads", po::value(&threads)->default_value(threads), "threads one query may use")
      ("results", po::value(&results)->required(), "JSON output");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "tsbs_store_queries: " << e.what() << "\n" << desc;
    return 2;
  }
  const json::object params = json::parse(ReadFile(std::filesystem::path(data) / "params.json")).as_object();
  const json::object& per_query = params.at("queries").as_object();

  canvoy::fleet_store::StoreOptions options;
  options.path = db;
  options.read_only = true;
  options.create_if_missing = false;
  options.block_cache_bytes = std::size_t{2} << 30;  // as DuckDB, the data set in memory
  auto store = canvoy::fleet_store::Store::Open(options);
  if (!store) {
    std::cerr << "tsbs_store_queries: " << store.error().ToString() << "\n";
    return 1;
  }
  canvoy::fleet_store::QueryLimits limits;
  limits.timeout = std::chrono::minutes(5);
  limits.max_page_rows = limits.default_page_rows = 100'000;
  limits.threads = threads;
  if (auto valid = limits.Validate(); !valid) {
    std::cerr << "tsbs_store_queries: " << valid.error().ToString() << "\n";
    return 2;
  }

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(examples))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());

  json::object out;
  out["engine"] = "canvoy-fleet-store";
  out["threads"] = threads;
  json::object queries;
  for (const auto& file : files) {
    const std::string name = file.stem().string().substr(3);  // "01-last-loc" -> "last-loc"
    std::map<std::string, std::string> values;
    if (auto it = per_query.find(name); it != per_query.end()) {
      const auto& q = it->value().as_object();
      if (auto f = q.find("fleet"); f != q.end()) values["fleet"] = Text(f->value());
      if (auto f = q.find("start_us"); f != q.end()) values["from_us"] = Text(f->value());
      if (auto f = q.find("end_us"); f != q.end()) values["to_us"] = Text(f->value());
    }
    auto document = canvoy::fleet_store::SubstituteParams(ReadFile(file), values);
    if (!document) {
      std::cerr << "tsbs_store_queries: " << file << ": " << document.error().ToString() << "\n";
      return 1;
    }
    std::vector<double> runs;
    json::value answer;
    for (int r = 0; r <= repeat; ++r) {  // run 0 warms the cache and is not counted
      auto view = store.value()->View();
      const auto start = Clock::now();
      auto result = canvoy::fleet_store::RunQuery(*view, document.value(), limits);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (!result) {
        std::cerr << "tsbs_store_queries: " << name << ": " << result.error().ToString() << "\n";
        return 1;
      }
      if (r > 0) runs.push_back(ms);
      if (r == 0) answer = json::parse(result.value().body);
    }
    std::vector<double> sorted = runs;
    std::sort(sorted.begin(), sorted.end());
    json::object q;
    q["columns"] = answer.as_object().at("columns");
    q["rows"] = answer.as_object().at("rows");
    q["row_count"] = answer.as_object().at("rows").as_array().size();
    q["stats"] = answer.as_object().at("stats");
    json::array run_array(runs.begin(), runs.end());
    q["latency_ms"] = json::object{{std::to_string(threads),
                                    json::object{{"median", sorted[sorted.size() / 2]},
                                                      {"min", sorted.front()},
                                                      {"runs", run_array}}}};
    std::cerr << name << ": " << sorted[sorted.size() / 2] << " ms median, "
              << q["row_count"].as_uint64() << " rows\n";
    queries[name] = std::move(q);
  }
  out["queries"] = std::move(queries);
  std::ofstream(results) << json::serialize(out) << "\n";
  return 0;
}
