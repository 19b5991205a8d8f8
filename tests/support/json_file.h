// A JSON file a child process wrote (an agent's or the fleet's summary), for cross-component tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

namespace canvoy::testing {

// The parsed file; null when it is missing or not JSON (the caller's assertion names which file).
inline boost::json::value ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text.str(), ec);
  return ec ? boost::json::value() : v;
}

}  // namespace canvoy::testing
