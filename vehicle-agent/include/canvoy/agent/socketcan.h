// Live CAN frames from Linux SocketCAN raw sockets (CAN_RAW), one socket per bus.
#pragma once

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/agent/frame_source.h"

struct canfd_frame;  // <linux/can.h>
struct msghdr;       // <sys/socket.h>

namespace canvoy::agent {

// One receive filter: a frame passes when (frame id & mask) == (id & mask) and its id format
// (11/29 bit) is the filter's, or, for an inverted filter, when that is not so.
struct CanIdFilter {
  std::uint32_t id = 0;
  std::uint32_t mask = 0;
  bool extended = false;  // matches 29-bit frames (otherwise 11-bit frames)
  bool inverted = false;  // passes what does not match
};

// Parses a filter list: comma-separated items `<id>:<mask>` (match) or `<id>~<mask>` (inverted),
// both hexadecimal with an optional `0x`. An id written with 8 hex digits, or above 0x7FF, is a
// 29-bit id; otherwise 11-bit. Example: "0x123:0x7FF,18FF0000:1FFFFF00,0x100~0x700".
// An empty spec gives an empty list (no filtering). Errors name the item and its position.
[[nodiscard]] Result<std::vector<CanIdFilter>> ParseCanFilterSpec(std::string_view spec);

// The kernel's form of a filter (struct can_filter): can_id and can_mask with CAN_EFF_FLAG
// (and CAN_INV_FILTER) set as CAN_RAW expects; the mask always includes CAN_EFF_FLAG so 11- and
// 29-bit frames never match each other's filters.
struct KernelCanFilter {
  std::uint32_t can_id = 0;
  std::uint32_t can_mask = 0;
};
KernelCanFilter ToKernelFilter(const CanIdFilter& filter);
// Whether the kernel lets a frame with this can_id (flags included) through `filter`, by the rule
// of net/can/af_can.c. For tests and tools: the socket applies the filters itself.
bool KernelFilterPasses(const KernelCanFilter& filter, std::uint32_t can_id);

// Converts what read()/recvmsg() returned on a CAN_RAW socket into a CanFrame. `bytes_read` is
// CAN_MTU (classic frame in the canfd_frame's layout) or CANFD_MTU. Remote and error frames are
// flagged (for error frames `id` is the error class, CAN_ERR_MASK bits). Fails on any other size
// or a length the frame type cannot have.
[[nodiscard]] Result<CanFrame> FrameFromKernel(const canfd_frame& kernel, std::size_t bytes_read,
                                               std::int64_t timestamp_us,
                                               std::uint16_t interface_index);

// The receive time in a message's control data: SCM_TIMESTAMPNS (struct timespec) or
// SCM_TIMESTAMP (struct timeval), in microseconds since the epoch; nullopt when neither is there.
std::optional<std::int64_t> KernelTimestampUs(const msghdr& message);

struct SocketCanBus {
  std::string interface;             // e.g. "can0", "vcan1"
  std::vector<CanIdFilter> filters;  // empty: every frame
};

struct SocketCanOptions {
  std::vector<SocketCanBus> buses;  // required, one socket each; index == CanFrame::interface_index
  bool fd_frames = true;            // CAN_RAW_FD_FRAMES: receive CAN FD frames too (64 bytes)
  bool error_frames = true;         // CAN_RAW_ERR_FILTER = CAN_ERR_MASK: receive error frames
  // Longest time one wait inside Next()/Receive() blocks, so a stop request is seen this late.
  std::chrono::milliseconds read_timeout{100};
  // Once every socket has run dry, the next wait starts no sooner than this long after the last
  // one began: the reader then wakes about once per interval and drains each queue, instead of
  // once per frame. Frames wait in the kernel's queue meanwhile and keep their kernel receive
  // time, so no timing is lost; at 3,700 frames/s per bus 10 ms is 37 frames a bus, far below a
  // socket's default receive buffer. 0 waits for each frame.
  std::chrono::microseconds drain_interval{10'000};
};

// A FrameSource over several CAN buses at once, multiplexed with poll(); buses with frames ready
// are served in turn so a busy bus cannot starve another. Timestamps are the kernel's receive
// times (SO_TIMESTAMPNS, else SO_TIMESTAMP); only when a frame arrives without one is the system
// clock read instead, and such frames are counted (clock_timestamped_frames()).
// One thread calls Next()/Receive(); RequestStop() may be called from any thread.
class SocketCanSource : public FrameSource {
 public:
  // Opens and binds one socket per bus. Errc::kUnavailable when the kernel has no AF_CAN
  // ("AF_CAN not available: ..."), Errc::kNotFound for an unknown interface, Errc::kIo otherwise.
  [[nodiscard]] static Result<std::unique_ptr<SocketCanSource>> Open(SocketCanOptions options);
  ~SocketCanSource() override;
  SocketCanSource(const SocketCanSource&) = delete;
  SocketCanSource& operator=(const SocketCanSource&) = delete;

  // Blocks until a frame arrives (true) or RequestStop() was called (false).
  [[nodiscard]] Result<bool> Next(CanFrame* frame) override;

  enum class ReceiveOutcome : std::uint8_t { kFrame, kTimeout };
  // Waits at most `timeout` for one frame.
  [[nodiscard]] Result<ReceiveOutcome> Receive(CanFrame* frame, std::chrono::milliseconds timeout);

  // Makes Next() return false within read_timeout. Thread-safe.
  void RequestStop() { stop_.store(true, std::memory_order_relaxed); }

  // Interface names; CanFrame::interface_index indexes this table.
  const std::vector<std::string>& interfaces() const { return interfaces_; }
  // Frames stamped with the system clock because the kernel sent no timestamp.
  std::uint64_t clock_timestamped_frames() const { return clock_timestamped_frames_; }

 private:
  SocketCanSource() = default;
  // Reads one frame from bus `index` without blocking; false when it had none.
  [[nodiscard]] Result<bool> ReadFrom(std::size_t index, CanFrame* frame);

  SocketCanOptions options_;
  std::vector<int> sockets_;
  std::vector<std::string> interfaces_;
  std::vector<bool> ready_;  // bus had POLLIN at the last poll and has not run dry since
  std::vector<pollfd> polls_;
  std::chrono::steady_clock::time_point last_wait_{};
  std::size_t next_bus_ = 0;  // round-robin start
  std::uint64_t clock_timestamped_frames_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace canvoy::agent
