// Decoding throughput on real frames held in memory: the RAV4 powertrain log with its DBC, and
// the radar log with the ADAS DBC. Reports decoded signal values per second ("items_per_second")
// and frames per second, on one core.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <string>
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

Input* Load(const std::string& dbc, const std::string& log) {
  auto db = ParseDbcFile(kCan + "/dbc/" + dbc);
  auto reader = CandumpLogReader::Open(kCan + "/logs/" + log);
  if (!db || !reader) {
    std::cerr << "bench: cannot read " << dbc << " or " << log << ": "
              << (!db ? db.error().message() : reader.error().message()) << "\n";
    std::exit(1);
  }
  std::vector<DbcDatabase> dbs;
  dbs.push_back(std::move(db).value());
  auto decoder = Decoder::Create(std::move(dbs));
  if (!decoder) {
    std::cerr << "bench: " << decoder.error().message() << "\n";
    std::exit(1);
  }
  auto* in = new Input{std::move(decoder).value(), {}};
  CanFrame frame;
  while (true) {
    auto more = reader.value().Next(&frame);
    if (!more || !more.value()) break;
    in->frames.push_back(frame);
  }
  return in;
}

const Input& Powertrain() {
  static const Input* input =
      Load("opendbc_toyota_new_mc_pt_generated.dbc", "comma2k19_rav4_2017_seg40_can0_pt.log");
  return *input;
}

const Input& Radar() {
  static const Input* input =
      Load("opendbc_toyota_adas.dbc", "comma2k19_rav4_2017_seg40_can1_radar.log");
  return *input;
}

// One iteration decodes the whole log, every frame (unknown ids included), with one buffer.
void DecodeLog(benchmark::State& state, const Input& in) {
  DecodedFrame out = in.decoder.MakeFrameBuffer();
  std::int64_t values = 0;
  for (auto _ : state) {
    for (const CanFrame& f : in.frames) {
      if (in.decoder.Decode(f, &out) == DecodeOutcome::kDecoded) {
        values += static_cast<std::int64_t>(out.signals().size());
        benchmark::DoNotOptimize(out.signals().data());
      }
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(values);
  state.counters["frames_per_second"] = benchmark::Counter(
      static_cast<double>(in.frames.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void BM_DecodeRav4Powertrain(benchmark::State& state) { DecodeLog(state, Powertrain()); }
BENCHMARK(BM_DecodeRav4Powertrain)->Unit(benchmark::kMillisecond);

void BM_DecodeRav4Radar(benchmark::State& state) { DecodeLog(state, Radar()); }
BENCHMARK(BM_DecodeRav4Radar)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
