// `canvoy-fleet-store query ...`: the query subcommands of the executable, for main.cc.
#pragma once

namespace canvoy::fleet_store {

inline constexpr const char* kQueryUsage =
    "       canvoy-fleet-store query run --url http://HOST:PORT (--file Q.json | --json DOC)\n"
    "           [--param NAME=VALUE ...] [--limit N] [--after CURSOR] [--format table|json|csv]\n"
    "       canvoy-fleet-store query samples --url URL --vin VIN --signal NAME [--from-us T]\n"
    "           [--to-us T] [--limit N] [--after CURSOR] [--format ...]\n"
    "       canvoy-fleet-store query downsample --url URL --vin VIN --signal NAME [--from-us T]\n"
    "           [--to-us T] [--width 1m] [--aggs avg,min,max] [--format ...]\n"
    "       canvoy-fleet-store query latest --url URL --vin VIN [--format ...]\n"
    "       (each also takes --timeout-ms, default 30000)";

// argv[0] is "query", argv[1] the subcommand. Prints the answer to stdout, errors as one line on
// stderr, and a page's continuation (--after CURSOR) on stderr. Returns the exit code: 0, 1 for
// a failure at run time (server unreachable, non-200 answer), 2 for a bad command line.
int RunQueryCommand(int argc, const char* const* argv);

}  // namespace canvoy::fleet_store
