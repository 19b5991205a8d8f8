// canvoy-agent: dispatches to a subcommand; each lives in its own file under src/.
#include <cstring>
#include <iostream>
#include <string_view>

#include "canvoy/agent/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: canvoy-agent <command> [options]\n"
    "commands:\n"
    "  decode   decode a candump log with DBC files (canvoy-agent decode --help)\n"
    "  run      replay a candump log and send it to ingest over TLS (canvoy-agent run --help)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "decode") return canvoy::agent::RunDecodeCommand(argc - 1, argv + 1);
  if (command == "run") return canvoy::agent::RunRunCommand(argc - 1, argv + 1);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "canvoy-agent: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
