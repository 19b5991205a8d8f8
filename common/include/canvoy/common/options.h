// Command lines and config files, through Boost.Program_options.
#pragma once

#include <string_view>

#include <boost/program_options.hpp>

#include "canvoy/common/error.h"

namespace canvoy {

enum class ParseOutcome { kRun, kHelpShown };

// Parses argv into `vm`; when --config FILE is given (add it to `desc` with AddConfigOption),
// also FILE's `key = value` lines, where the command line wins. Prints help for --help.
// Errors name the option or the file and its problem.
Result<ParseOutcome> ParseOptions(int argc, const char* const* argv,
                                  const boost::program_options::options_description& desc,
                                  boost::program_options::variables_map& vm, std::string_view usage);

// Adds --help and --config to `desc`.
void AddCommonOptions(boost::program_options::options_description& desc);

}  // namespace canvoy
