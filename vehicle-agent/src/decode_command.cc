// canvoy-agent decode: a candump log through the DBC decoder, as CSV or JSON lines.
#include <cstdio>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/catalog_file.h"
#include "canvoy/agent/commands.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"
#include "canvoy/common/options.h"
#include "decode_output.h"

namespace canvoy::agent {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: canvoy-agent decode --dbc FILE [--dbc FILE ...] --log FILE [--iface NAME] "
    "[--catalog FILE] [--format csv|jsonl] [--short-frames decode|skip]\n"
    "Decodes a candump -l log with DBC files: one row per signal on stdout, counts on stderr.";
constexpr std::size_t kMaxWarningsShown = 5;

struct DecodeOptions {
  std::vector<std::string> dbc_paths;  // at least one; the first wins a frame id defined twice
  std::string log_path;
  std::string iface;  // empty: every interface
  std::string catalog_path;  // empty: every signal; else only the signals the catalog collects
  OutputFormat format = OutputFormat::kCsv;
  ShortFrames short_frames = ShortFrames::kDecodeSignalsInside;
};

struct Counts {
  std::uint64_t frames = 0;    // frames read from the log
  std::uint64_t filtered = 0;  // on another interface than --iface
  std::uint64_t decoded = 0;
  std::uint64_t unknown_id = 0;
  std::uint64_t not_data = 0;   // remote and error frames
  std::uint64_t too_short = 0;  // skipped whole (--short-frames skip)
  std::uint64_t signals = 0;
  std::uint64_t signals_outside = 0;  // not in a short frame's bytes
  std::set<std::uint32_t> unknown_ids;
};

Result<DecodeOptions> ParseDecodeOptions(int argc, char** argv, bool* help_shown) {
  po::options_description desc("decode options");
  AddCommonOptions(desc);
  std::string format;
  std::string short_frames;
  DecodeOptions options;
  // clang-format off
  desc.add_options()
      ("dbc", po::value(&options.dbc_paths)->required(), "DBC file (repeat for several)")
      ("log", po::value(&options.log_path)->required(), "candump -l log file")
      ("iface", po::value(&options.iface), "decode only frames of this interface")
      ("catalog", po::value(&options.catalog_path),
       "print only the signals this catalog file collects")
      ("format", po::value(&format)->default_value("csv"), "csv or jsonl")
      ("short-frames", po::value(&short_frames)->default_value("decode"),
       "frames shorter than the DBC length: decode the signals inside them (decode), "
       "or nothing (skip)");
  // clang-format on
  po::variables_map vm;
  CANVOY_ASSIGN_OR_RETURN(const ParseOutcome outcome, ParseOptions(argc, argv, desc, vm, kUsage));
  *help_shown = outcome == ParseOutcome::kHelpShown;
  if (*help_shown) return options;
  if (format == "jsonl") {
    options.format = OutputFormat::kJsonl;
  } else if (format != "csv") {
    return Error(Errc::kInvalidArgument, "--format '" + format + "' is not csv or jsonl");
  }
  if (short_frames == "skip") {
    options.short_frames = ShortFrames::kSkipFrame;
  } else if (short_frames != "decode") {
    return Error(Errc::kInvalidArgument,
                 "--short-frames '" + short_frames + "' is not decode or skip");
  }
  return options;
}

void PrintWarnings(const std::vector<std::string>& warnings, const std::string& what) {
  for (std::size_t i = 0; i < warnings.size() && i < kMaxWarningsShown; ++i) {
    std::cerr << "warning: " << warnings[i] << "\n";
  }
  if (warnings.size() > kMaxWarningsShown) {
    std::cerr << "warning: " << warnings.size() - kMaxWarningsShown << " more " << what
              << " not shown\n";
  }
}

Result<Decoder> LoadDecoder(const DecodeOptions& options, std::optional<SignalIdMap>* collected) {
  std::vector<DbcDatabase> databases;
  for (const std::string& path : options.dbc_paths) {
    CANVOY_ASSIGN_OR_RETURN(DbcDatabase database, ParseDbcFile(path));
    PrintWarnings(database.warnings, "warnings for " + path);
    databases.push_back(std::move(database));
  }
  if (!options.catalog_path.empty()) {
    CANVOY_ASSIGN_OR_RETURN(const CatalogFile file, CatalogFile::LoadFile(options.catalog_path));
    CANVOY_ASSIGN_OR_RETURN(BuiltCatalog built, BuildCatalog(databases, file));
    *collected = std::move(built.ids);
  }
  CANVOY_ASSIGN_OR_RETURN(Decoder decoder,
                          Decoder::Create(std::move(databases), {options.short_frames}));
  PrintWarnings(decoder.conflicts(), "shadowed messages");
  return decoder;
}

void Count(DecodeOutcome outcome, const CanFrame& frame, const DecodedFrame& decoded,
           Counts* counts) {
  switch (outcome) {
    case DecodeOutcome::kDecoded:
      ++counts->decoded;
      counts->signals += decoded.signals().size();
      counts->signals_outside += decoded.signals_outside_frame();
      break;
    case DecodeOutcome::kUnknownId:
      ++counts->unknown_id;
      counts->unknown_ids.insert(FrameKey(frame.id, frame.extended));
      break;
    case DecodeOutcome::kNotData:
      ++counts->not_data;
      break;
    case DecodeOutcome::kTooShort:
      ++counts->too_short;
      break;
  }
}

// Decodes every frame of the log; rows to `writer`, tallies to *counts.
Status DecodeLog(const Decoder& decoder, const DecodeOptions& options,
                 const std::optional<SignalIdMap>& collected, CandumpLogReader& reader,
                 RowWriter& writer, Counts* counts) {
  CanFrame frame;
  DecodedFrame decoded = decoder.MakeFrameBuffer();
  writer.Header();
  while (true) {
    CANVOY_ASSIGN_OR_RETURN(const bool more, reader.Next(&frame));
    if (!more) break;
    ++counts->frames;
    const std::string& iface = reader.interfaces()[frame.interface_index];
    if (!options.iface.empty() && iface != options.iface) {
      ++counts->filtered;
      continue;
    }
    const DecodeOutcome outcome = decoder.Decode(frame, &decoded);
    Count(outcome, frame, decoded, counts);
    if (outcome != DecodeOutcome::kDecoded) continue;
    for (const DecodedSignal& signal : decoded.signals()) {
      if (collected &&
          collected->Find(decoded.message_ref(), signal.signal_index) == SignalIdMap::kNone) {
        continue;
      }
      writer.Row(reader.last_timestamp_text(), iface, frame, *decoded.message(), signal,
                 decoded.source_address());
    }
  }
  if (!writer.Flush()) return Error(Errc::kIo, "stdout: write failed");
  return OkStatus();
}

void PrintSummary(const CandumpLogReader& reader, const Counts& counts) {
  PrintWarnings(reader.problems(), "malformed lines");
  std::cerr << "frames=" << counts.frames << " decoded_frames=" << counts.decoded
            << " unknown_id_frames=" << counts.unknown_id
            << " unknown_ids=" << counts.unknown_ids.size()
            << " not_data_frames=" << counts.not_data
            << " short_frames_skipped=" << counts.too_short
            << " filtered_frames=" << counts.filtered << " signals=" << counts.signals
            << " signals_outside_frame=" << counts.signals_outside
            << " malformed_lines=" << reader.malformed_lines() << "\n";
}

}  // namespace

int RunDecodeCommand(int argc, char** argv) {
  bool help_shown = false;
  auto options = ParseDecodeOptions(argc, argv, &help_shown);
  if (!options) {
    std::cerr << "canvoy-agent decode: " << options.error().message() << "\n" << kUsage << "\n";
    return 2;
  }
  if (help_shown) return 0;
  std::optional<SignalIdMap> collected;
  auto decoder = LoadDecoder(options.value(), &collected);
  if (!decoder) {
    std::cerr << "canvoy-agent decode: " << decoder.error().message() << "\n";
    return 1;
  }
  auto reader = CandumpLogReader::Open(options.value().log_path);
  if (!reader) {
    std::cerr << "canvoy-agent decode: " << reader.error().message() << "\n";
    return 1;
  }
  RowWriter writer(stdout, options.value().format);
  Counts counts;
  const Status status =
      DecodeLog(decoder.value(), options.value(), collected, reader.value(), writer, &counts);
  PrintSummary(reader.value(), counts);
  if (!status) {
    std::cerr << "canvoy-agent decode: " << status.error().message() << "\n";
    return 1;
  }
  const auto& interfaces = reader.value().interfaces();
  if (!options.value().iface.empty() &&
      std::find(interfaces.begin(), interfaces.end(), options.value().iface) == interfaces.end()) {
    std::cerr << "warning: interface " << options.value().iface << " does not appear in the log\n";
  }
  return 0;
}

}  // namespace canvoy::agent
