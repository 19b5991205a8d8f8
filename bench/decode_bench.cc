// Decoding throughput on real frames: the RAV4 powertrain log with its DBC, held in memory.
// Reports decoded signal values per second ("items_per_second") on one core.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <vector>

#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"

namespace {

using namespace canvoy::agent;

const std::string kCan = CANVOY_SHARED_DATA_DIR "/can";

struct Input {
  Decoder decoder;
  std::vector<CanFrame> frames;
};

Input& LoadInput() {
  static Input* input = [] {
    auto db = ParseDbcFile(kCan + "/dbc/opendbc_toyota_new_mc_pt_generated.dbc");
    auto reader = CandumpLogReader::Open(kCan + "/logs/comma2k19_rav4_2017_seg40_can0_pt.log");
    if (!db || !reader) {
      std::cerr << "bench: cannot read the RAV4 data: "
                << (!db ? db.error().message() : reader.error().message()) << "\n";
      std::exit(1);
    }
    std::vector<DbcDatabase> dbs;
    dbs.push_back(std::move(db).value());
    auto decoder = Decoder::Create(std::move(dbs));
    if (!decoder) std::exit(1);
    auto* in = new Input{std::move(decoder).value(), {}};
    CanFrame frame;
    while (true) {
      auto more = reader.value().Next(&frame);
      if (!more || !more.value()) break;
      in->frames.push_back(frame);
    }
    return in;
  }();
  return *input;
}

void BM_DecodeRav4Powertrain(benchmark::State& state) {
  Input& in = LoadInput();
  DecodedFrame out = in.decoder.MakeFrameBuffer();
  std::int64_t values = 0;
  for (auto _ : state) {
    for (const CanFrame& f : in.frames) {
      if (in.decoder.Decode(f, &out) == DecodeOutcome::kDecoded) {
        values += static_cast<std::int64_t>(out.signals().size());
        benchmark::DoNotOptimize(out.signals().data());
      }
    }
  }
  state.SetItemsProcessed(values);
  state.counters["frames_per_second"] = benchmark::Counter(
      static_cast<double>(in.frames.size()) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeRav4Powertrain)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
