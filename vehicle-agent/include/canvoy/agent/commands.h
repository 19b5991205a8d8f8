// The subcommands of canvoy-agent. Each takes its own argv (argv[0] is the subcommand's name)
// and returns the process exit code: 0 success, 1 failure, 2 bad command line.
#pragma once

namespace canvoy::agent {

// canvoy-agent decode --dbc FILE [--dbc FILE ...] --log FILE [--iface NAME] [--format csv|jsonl]
// Decodes a candump log to stdout, one row per signal; counts go to stderr.
int RunDecodeCommand(int argc, char** argv);

// canvoy-agent run --dbc FILE --log FILE --ca F --cert F --key F --ingest HOST:PORT [--summary F]
// Replays the log through the decoder into batches and sends them to ingest until all are acked.
int RunRunCommand(int argc, char** argv);

}  // namespace canvoy::agent
