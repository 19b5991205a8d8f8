#include "canvoy/common/options.h"

#include <fstream>
#include <iostream>

namespace canvoy {

namespace po = boost::program_options;

void AddCommonOptions(po::options_description& desc) {
  desc.add_options()("help,h", "print this help")(
      "config", po::value<std::string>(), "read options from FILE (key = value lines)");
}

Result<ParseOutcome> ParseOptions(int argc, const char* const* argv, const po::options_description& desc,
                                  po::variables_map& vm, std::string_view usage) {
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help") != 0) {
      std::cout << usage << "\n\n" << desc << "\n";
      return ParseOutcome::kHelpShown;
    }
    if (vm.count("config") != 0) {
      const auto path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) return Error(Errc::kInvalidArgument, "config '" + path + "': cannot be read");
      try {
        po::store(po::parse_config_file(in, desc), vm);
      } catch (const po::error& e) {
        return Error(Errc::kInvalidArgument, "config '" + path + "': " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return Error(Errc::kInvalidArgument, e.what());
  }
  return ParseOutcome::kRun;
}

}  // namespace canvoy
