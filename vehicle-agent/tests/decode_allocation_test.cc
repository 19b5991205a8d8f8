// Decoding allocates nothing per frame. This file replaces the global operator new and delete
// with counting versions, so it is built as its own test executable.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "canvoy/agent/candump_log.h"
#include "canvoy/agent/decoder.h"
#include "test_data.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_allocations{0};

void* CountedAllocate(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void* CountedAllocateAligned(std::size_t size, std::align_val_t align) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  const auto alignment = static_cast<std::size_t>(align);
  const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  if (void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) { return CountedAllocate(size); }
void* operator new[](std::size_t size) { return CountedAllocate(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  return CountedAllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return CountedAllocateAligned(size, align);
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): under ASan, a nothrow
// new left to the sanitizer paired with the free() below would be reported as a mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAllocate(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  try {
    return CountedAllocateAligned(size, align);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t& tag) noexcept {
  return operator new(size, align, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace canvoy::agent {
namespace {

using testing::CanData;
using testing::LoadDbcOrDie;

// Counts the allocations made while it is alive (on any thread).
class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocations.store(0);
    g_counting.store(true);
  }
  ~AllocationCounter() { g_counting.store(false); }
  std::size_t count() const { return g_allocations.load(); }
};

struct Drive {
  Decoder decoder;
  std::vector<CanFrame> frames;
};

Drive LoadDrive(const char* dbc, const char* log) {
  std::vector<DbcDatabase> dbs;
  dbs.push_back(LoadDbcOrDie(dbc));
  auto decoder = Decoder::Create(std::move(dbs));
  EXPECT_TRUE(decoder) << decoder.error().message();
  Drive drive{std::move(decoder).value(), {}};
  auto reader = CandumpLogReader::Open(CanData(std::string("logs/") + log));
  EXPECT_TRUE(reader) << reader.error().message();
  CanFrame frame;
  while (reader) {
    auto more = reader.value().Next(&frame);
    if (!more || !more.value()) break;
    drive.frames.push_back(frame);
  }
  return drive;
}

// Decodes every frame; returns the number of decoded signal values.
std::size_t DecodeAll(const Drive& drive, DecodedFrame* out) {
  std::size_t values = 0;
  for (const CanFrame& frame : drive.frames) {
    if (drive.decoder.Decode(frame, out) == DecodeOutcome::kDecoded) {
      values += out->signals().size();
    }
  }
  return values;
}

TEST(DecodeAllocationTest, CounterSeesAnAllocation) {
  AllocationCounter counter;
  auto* p = new std::vector<int>(100);
  delete p;
  EXPECT_GE(counter.count(), 1u);
}

TEST(DecodeAllocationTest, Rav4PowertrainLogAfterWarmUpAllocatesNothing) {
  const Drive drive =
      LoadDrive("opendbc_toyota_new_mc_pt_generated.dbc", "comma2k19_rav4_2017_seg40_can0_pt.log");
  ASSERT_EQ(drive.frames.size(), 53800u);
  DecodedFrame out;  // grows during the warm-up pass
  const std::size_t warm_up_values = DecodeAll(drive, &out);
  std::size_t values = 0;
  std::size_t allocations = 0;
  {
    AllocationCounter counter;
    values = DecodeAll(drive, &out);
    allocations = counter.count();
  }
  EXPECT_EQ(values, 210706u);
  EXPECT_EQ(values, warm_up_values);
  EXPECT_EQ(allocations, 0u);
}

TEST(DecodeAllocationTest, RadarLogWithABufferFromMakeFrameBufferAllocatesNothing) {
  const Drive drive =
      LoadDrive("opendbc_toyota_adas.dbc", "comma2k19_rav4_2017_seg40_can1_radar.log");
  ASSERT_EQ(drive.frames.size(), 45000u);
  DecodedFrame out = drive.decoder.MakeFrameBuffer();
  std::size_t values = 0;
  std::size_t allocations = 0;
  {
    AllocationCounter counter;
    values = DecodeAll(drive, &out);
    allocations = counter.count();
  }
  EXPECT_GT(values, 0u);
  EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace canvoy::agent
