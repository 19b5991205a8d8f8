// The agent's footprint on a busy vehicle: four buses at about 3,700 frames/s each (a saturated
// 500 kbit/s bus), every frame decoded, every signal collected into batches that are serialized
// as the spool would store them. Prints CPU share of one core and peak RSS; asserts nothing.
//
// Each bus replays the real RAV4 powertrain log in real time, sped up to the target frame rate.
// As the agent does (SocketCanSource polls every bus's socket from one thread), one reader thread
// takes every bus's frames in time order (MergedSource), waking at most every `wake_ms` to take
// the frames that arrived meanwhile, as a socket reader draining its queues does. With
// readers=per-bus each bus gets its own thread instead, for comparison.
//
// usage: canvoy_agent_load_bench [seconds=20] [buses=4] [frames_per_second_per_bus=3700]
//                                [wake_ms=5] [readers=one|per-bus]
// With frames_per_second_per_bus = 0 the logs are replayed unpaced (once each): the figures are
// then the pipeline's own cost per frame, without the pacing's sleeps and wake-ups, projected to
// four buses at 3,700 frames/s. Sealed batches are encoded as the agent spools them (zstd).
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "canvoy/agent/batch_builder.h"
#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/catalog.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"
#include "canvoy/agent/merged_source.h"
#include "canvoy/agent/replay_source.h"
#include "uplink/batch_codec.h"

namespace {

using namespace canvoy::agent;
const std::string kCan = CANVOY_SHARED_DATA_DIR "/can";
constexpr double kLogFramesPerSecond = 53800.0 / 60.0;  // the RAV4 powertrain log

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long PeakRssKiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "agent_load_bench: %s\n", what.c_str());
  std::exit(1);
}

// A classic frame as the kernel hands it over (struct can_frame is 16 bytes plus its timestamp),
// rather than the 88-byte CanFrame: the frames waiting in socket buffers are not the agent's
// memory, so the bench keeps its input about as small as they are.
struct StoredFrame {
  std::int64_t timestamp_us;
  std::uint32_t id;
  std::uint8_t len;
  bool extended;
  std::array<std::uint8_t, 8> data;
};

// The log's frames, parsed before the measurement starts: on a vehicle the frames come binary
// from the socket, so the text parsing of the candump log is not the agent's cost.
class MemoryFrames final : public FrameSource {
 public:
  // Every timestamp moves by `shift_us`, so that buses replaying the same log interleave.
  MemoryFrames(const std::vector<StoredFrame>& frames, std::int64_t shift_us) : frames_(frames), shift_us_(shift_us) {}
  canvoy::Result<bool> Next(CanFrame* frame) override {
    if (next_ == frames_.size()) return false;
    const StoredFrame& stored = frames_[next_++];
    frame->timestamp_us = stored.timestamp_us + shift_us_;
    frame->id = stored.id;
    frame->extended = stored.extended;
    frame->len = stored.len;
    std::copy(stored.data.begin(), stored.data.end(), frame->data.begin());
    return true;
  }

 private:
  const std::vector<StoredFrame>& frames_;
  const std::int64_t shift_us_;
  std::size_t next_ = 0;
};

std::vector<StoredFrame> LoadFrames() {
  auto reader = CandumpLogReader::Open(kCan + "/logs/comma2k19_rav4_2017_seg40_can0_pt.log");
  if (!reader) Die(reader.error().message());
  std::vector<StoredFrame> frames;
  CanFrame frame;
  for (;;) {
    auto more = reader.value().Next(&frame);
    if (!more) Die(more.error().message());
    if (!more.value()) break;
    if (frame.fd || frame.remote || frame.error || frame.len > 8) continue;  // none in this log
    StoredFrame stored{frame.timestamp_us, frame.id, frame.len, frame.extended, {}};
    std::copy_n(frame.data.begin(), 8, stored.data.begin());
    frames.push_back(stored);
  }
  frames.shrink_to_fit();
  return frames;
}

struct BusResult {
  std::uint64_t frames = 0, samples = 0, batches = 0, batch_bytes = 0, encoded_bytes = 0;
};

// Reads, decodes and batches the frames of buses [first, first + count) on the calling thread.
void RunReader(const Decoder& decoder, const BuiltCatalog& catalog, const std::vector<StoredFrame>& frames,
               int first, int count, double speed, std::chrono::milliseconds wake,
               std::chrono::steady_clock::time_point until, BusResult* result) {
  std::vector<std::unique_ptr<FrameSource>> buses;
  for (int b = first; b < first + count; ++b) buses.push_back(std::make_unique<MemoryFrames>(frames, 131 * b));
  auto replay = ReplaySource::Create(std::make_unique<MergedSource>(std::move(buses)), ReplayOptions{speed, wake});
  if (!replay) Die(replay.error().message());
  DecodedFrame out = decoder.MakeFrameBuffer();
  BatchBuilder builder(catalog.catalog);
  BatchEncoder encoder;
  const auto stream = canvoy::StreamId::Random();
  std::uint64_t seq = 0;
  CanFrame frame;
  while (std::chrono::steady_clock::now() < until) {
    auto more = replay.value().Next(&frame);
    if (!more) Die(more.error().message());
    if (!more.value()) break;  // the log ended before the time did
    ++result->frames;
    if (decoder.Decode(frame, &out) != DecodeOutcome::kDecoded) continue;
    for (const DecodedSignal& s : out.signals()) {
      const canvoy::SignalId id = catalog.ids.Find(out.message_ref(), s.signal_index);
      if (id == SignalIdMap::kNone) continue;
      if (!builder.Add(id, frame.timestamp_us, s.physical)) Die("batch builder refused a sample");
      ++result->samples;
    }
    if (builder.ShouldSeal(5000, 1'000'000, frame.timestamp_us)) {
      const auto batch = builder.Seal(stream, ++seq, catalog.hash);
      result->batch_bytes += batch.ByteSizeLong();
      result->encoded_bytes += encoder.Encode(batch).size();
      ++result->batches;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 20.0;
  const int buses = argc > 2 ? std::atoi(argv[2]) : 4;
  const double fps = argc > 3 ? std::atof(argv[3]) : 3700.0;
  const std::chrono::milliseconds wake(argc > 4 ? std::atoi(argv[4]) : 5);
  const std::string readers = argc > 5 ? argv[5] : "one";
  if (seconds <= 0 || seconds > 55 || buses < 1 || fps < 0 || (readers != "one" && readers != "per-bus")) {
    Die("usage: [seconds 1..55] [buses] [fps] [wake_ms] [one|per-bus]");
  }
  const double speed = fps / kLogFramesPerSecond;  // 0: unpaced
  if (seconds * speed > 60.0) Die("the 60 s log cannot last that long at that rate: lower seconds");

  auto db = ParseDbcFile(kCan + "/dbc/opendbc_toyota_new_mc_pt_generated.dbc");
  if (!db) Die(db.error().message());
  std::vector<DbcDatabase> dbs;
  dbs.push_back(std::move(db).value());
  auto catalog = BuildCatalog(dbs);
  if (!catalog) Die(catalog.error().message());
  auto decoder = Decoder::Create(std::move(dbs));
  if (!decoder) Die(decoder.error().message());

  const std::vector<StoredFrame> frames = LoadFrames();
  const double cpu_before = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(seconds));
  const int threads_n = readers == "one" ? 1 : buses;
  const int per_thread = buses / threads_n;
  std::vector<BusResult> results(static_cast<std::size_t>(threads_n));
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back(RunReader, std::cref(decoder.value()), std::cref(catalog.value()), std::cref(frames),
                         t * per_thread, per_thread, speed, wake, until, &results[static_cast<std::size_t>(t)]);
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_before;

  BusResult total;
  for (const auto& r : results) {
    total.frames += r.frames;
    total.samples += r.samples;
    total.batches += r.batches;
    total.batch_bytes += r.batch_bytes;
    total.encoded_bytes += r.encoded_bytes;
  }
  std::printf("readers=%s wake_ms=%lld\n", readers.c_str(), static_cast<long long>(wake.count()));
  std::printf("buses=%d seconds=%.1f frames_per_second=%.0f (per bus %.0f) samples_per_second=%.0f\n", buses,
              wall, static_cast<double>(total.frames) / wall,
              static_cast<double>(total.frames) / wall / buses, static_cast<double>(total.samples) / wall);
  const double samples_d = total.samples ? static_cast<double>(total.samples) : 1.0;
  std::printf("batches=%llu bytes_per_sample=%.2f (zstd: %.2f)\n", static_cast<unsigned long long>(total.batches),
              static_cast<double>(total.batch_bytes) / samples_d, static_cast<double>(total.encoded_bytes) / samples_d);
  std::printf("cpu_share_of_one_core=%.2f%% peak_rss=%.1f MiB\n", 100.0 * cpu / wall,
              static_cast<double>(PeakRssKiB()) / 1024.0);
  if (fps == 0) {
    const double cpu_per_frame = cpu / static_cast<double>(total.frames);
    std::printf("unpaced: cpu_per_frame=%.0f ns; at 4 buses x 3700 frames/s that is %.2f%% of one core\n",
                cpu_per_frame * 1e9, 100.0 * cpu_per_frame * 4 * 3700);
  }
  return 0;
}
