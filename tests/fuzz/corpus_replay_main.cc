// Runs a libFuzzer target's function over files, without libFuzzer: a plain main() that the
// normal (gcc) build links with one fuzz target so that its seed corpus and every input that
// once crashed it run as a regression test. Arguments are files or directories (read one level
// deep; a missing directory is skipped, as git keeps no empty regressions/ folder); exits 1 when
// a file cannot be read or no input ran.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path.string() << ": cannot open\n";
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  // A copy of exactly the input's size, so that ASan sees reads past its end.
  std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t files = 0;
  bool failed = false;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> paths;
    if (!std::filesystem::exists(arg)) {
      std::cout << arg.string() << ": does not exist, skipped\n";
      continue;
    }
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) paths.push_back(entry.path());
      }
      std::sort(paths.begin(), paths.end());
    } else {
      paths.push_back(arg);
    }
    for (const auto& path : paths) {
      if (RunFile(path)) {
        ++files;
      } else {
        failed = true;
      }
    }
  }
  std::cout << "ran " << files << " inputs\n";
  return files > 0 && !failed ? 0 : 1;
}
