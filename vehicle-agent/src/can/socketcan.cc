#include "canvoy/agent/socketcan.h"

#include <fcntl.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <utility>

namespace canvoy::agent {
namespace {

Error ItemError(std::size_t position, std::string_view item, const std::string& what) {
  return Error(Errc::kInvalidArgument, "can filter item " + std::to_string(position) + " \"" +
                                           std::string(item) + "\": " + what);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Hexadecimal with an optional 0x; *digits gets the number of digits written.
std::optional<std::uint32_t> ParseHex(std::string_view text, std::size_t* digits) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.empty()) return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  *digits = text.size();
  return value;
}

std::string ErrnoText(int error) { return std::strerror(error); }

Error SocketError(const std::string& interface, const std::string& what, int error) {
  return Error(Errc::kIo, "socketcan " + interface + ": " + what + ": " + ErrnoText(error));
}

std::int64_t SystemClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Opens, configures and binds one CAN_RAW socket; returns the descriptor.
Result<int> OpenBus(const SocketCanBus& bus, const SocketCanOptions& options) {
  const int fd = ::socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
  if (fd < 0) {
    const int error = errno;
    if (error == EAFNOSUPPORT || error == EPROTONOSUPPORT) {
      return Error(Errc::kUnavailable, "AF_CAN not available: socket(PF_CAN, SOCK_RAW, CAN_RAW): " +
                                           ErrnoText(error));
    }
    return SocketError(bus.interface, "socket", error);
  }
  auto fail = [&](Error error) -> Result<int> {
    ::close(fd);
    return error;
  };
  if (bus.interface.empty() || bus.interface.size() >= IFNAMSIZ) {
    return fail(Error(Errc::kInvalidArgument, "socketcan: bad interface name \"" + bus.interface +
                                                  "\""));
  }
  const unsigned if_index = ::if_nametoindex(bus.interface.c_str());
  if (if_index == 0) {
    return fail(Error(Errc::kNotFound,
                      "socketcan " + bus.interface + ": no such interface: " + ErrnoText(errno)));
  }
  if (options.fd_frames) {
    const int on = 1;
    if (::setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof(on)) != 0) {
      return fail(SocketError(bus.interface, "CAN_RAW_FD_FRAMES", errno));
    }
  }
  if (options.error_frames) {
    const can_err_mask_t mask = CAN_ERR_MASK;
    if (::setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &mask, sizeof(mask)) != 0) {
      return fail(SocketError(bus.interface, "CAN_RAW_ERR_FILTER", errno));
    }
  }
  if (!bus.filters.empty()) {
    std::vector<can_filter> filters;
    filters.reserve(bus.filters.size());
    for (const CanIdFilter& filter : bus.filters) {
      const KernelCanFilter kernel = ToKernelFilter(filter);
      filters.push_back(can_filter{kernel.can_id, kernel.can_mask});
    }
    if (::setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, filters.data(),
                     static_cast<socklen_t>(filters.size() * sizeof(can_filter))) != 0) {
      return fail(SocketError(bus.interface, "CAN_RAW_FILTER", errno));
    }
  }
  // Kernel receive timestamps: nanoseconds if the kernel offers them, else microseconds. When
  // both are refused, frames are stamped with the system clock (counted by the source).
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof(on));
  }
  sockaddr_can address{};
  address.can_family = AF_CAN;
  address.can_ifindex = static_cast<int>(if_index);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return fail(SocketError(bus.interface, "bind", errno));
  }
  return fd;
}

}  // namespace

Result<std::vector<CanIdFilter>> ParseCanFilterSpec(std::string_view spec) {
  std::vector<CanIdFilter> filters;
  if (Trim(spec).empty()) return filters;
  std::size_t position = 1;
  while (true) {
    const std::size_t comma = spec.find(',');
    const std::string_view item = Trim(spec.substr(0, comma));
    const std::size_t separator = item.find_first_of(":~");
    if (separator == std::string_view::npos) {
      return ItemError(position, item, "expected <id>:<mask> or <id>~<mask>");
    }
    CanIdFilter filter;
    filter.inverted = item[separator] == '~';
    std::size_t id_digits = 0;
    std::size_t mask_digits = 0;
    const auto id = ParseHex(Trim(item.substr(0, separator)), &id_digits);
    const auto mask = ParseHex(Trim(item.substr(separator + 1)), &mask_digits);
    if (!id) return ItemError(position, item, "id is not a hexadecimal number");
    if (!mask) return ItemError(position, item, "mask is not a hexadecimal number");
    filter.extended = id_digits == 8 || *id > kMaxStandardId;
    const std::uint32_t limit = filter.extended ? kMaxExtendedId : kMaxStandardId;
    if (*id > limit) return ItemError(position, item, "id is larger than 29 bits");
    if (*mask > limit) {
      return ItemError(position, item,
                       filter.extended ? "mask is larger than 29 bits"
                                       : "mask is larger than 11 bits (use an 8-digit id for "
                                         "29-bit frames)");
    }
    filter.id = *id;
    filter.mask = *mask;
    filters.push_back(filter);
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
    ++position;
  }
  return filters;
}

KernelCanFilter ToKernelFilter(const CanIdFilter& filter) {
  KernelCanFilter kernel;
  kernel.can_id = filter.id | (filter.extended ? CAN_EFF_FLAG : 0U) |
                  (filter.inverted ? CAN_INV_FILTER : 0U);
  kernel.can_mask = filter.mask | CAN_EFF_FLAG;
  return kernel;
}

bool KernelFilterPasses(const KernelCanFilter& filter, std::uint32_t can_id) {
  const bool inverted = (filter.can_id & CAN_INV_FILTER) != 0;
  const std::uint32_t mask = filter.can_mask & (CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_EFF_MASK);
  const bool matches = (can_id & mask) == (filter.can_id & ~CAN_INV_FILTER & mask);
  return matches != inverted;
}

Result<CanFrame> FrameFromKernel(const canfd_frame& kernel, std::size_t bytes_read,
                                 std::int64_t timestamp_us, std::uint16_t interface_index) {
  if (bytes_read != CAN_MTU && bytes_read != CANFD_MTU) {
    return Error(Errc::kIo, "socketcan: read " + std::to_string(bytes_read) +
                                " bytes, expected " + std::to_string(CAN_MTU) + " or " +
                                std::to_string(CANFD_MTU));
  }
  CanFrame frame;
  frame.timestamp_us = timestamp_us;
  frame.interface_index = interface_index;
  frame.fd = bytes_read == CANFD_MTU;
  frame.error = (kernel.can_id & CAN_ERR_FLAG) != 0;
  frame.remote = !frame.fd && !frame.error && (kernel.can_id & CAN_RTR_FLAG) != 0;
  frame.extended = !frame.error && (kernel.can_id & CAN_EFF_FLAG) != 0;
  if (frame.error) {
    frame.id = kernel.can_id & CAN_ERR_MASK;
  } else {
    frame.id = kernel.can_id & (frame.extended ? CAN_EFF_MASK : CAN_SFF_MASK);
  }
  const unsigned len = kernel.len;
  if (frame.fd ? !IsValidCanFdLength(len) || len > CANFD_MAX_DLEN : len > CAN_MAX_DLEN) {
    return Error(Errc::kIo, "socketcan: frame with id " + std::to_string(frame.id) + " has length " +
                                std::to_string(len));
  }
  frame.len = static_cast<std::uint8_t>(len);
  if (frame.fd) frame.fd_flags = kernel.flags & (CANFD_BRS | CANFD_ESI);
  if (!frame.remote) std::memcpy(frame.data.data(), kernel.data, len);
  return frame;
}

std::optional<std::int64_t> KernelTimestampUs(const msghdr& message) {
  for (const cmsghdr* control = CMSG_FIRSTHDR(&message); control != nullptr;
       control = CMSG_NXTHDR(const_cast<msghdr*>(&message), const_cast<cmsghdr*>(control))) {
    if (control->cmsg_level != SOL_SOCKET) continue;
    if (control->cmsg_type == SCM_TIMESTAMPNS && control->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec time{};
      std::memcpy(&time, CMSG_DATA(control), sizeof(time));
      return std::int64_t{time.tv_sec} * 1'000'000 + time.tv_nsec / 1000;
    }
    if (control->cmsg_type == SCM_TIMESTAMP && control->cmsg_len >= CMSG_LEN(sizeof(timeval))) {
      timeval time{};
      std::memcpy(&time, CMSG_DATA(control), sizeof(time));
      return std::int64_t{time.tv_sec} * 1'000'000 + time.tv_usec;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<SocketCanSource>> SocketCanSource::Open(SocketCanOptions options) {
  if (options.buses.empty()) {
    return Error(Errc::kInvalidArgument, "socketcan: no bus given");
  }
  if (options.buses.size() > 65536) {
    return Error(Errc::kInvalidArgument, "socketcan: more than 65536 buses");
  }
  if (options.read_timeout <= std::chrono::milliseconds::zero()) {
    return Error(Errc::kInvalidArgument, "socketcan: read_timeout must be positive");
  }
  std::unique_ptr<SocketCanSource> source(new SocketCanSource());
  for (const SocketCanBus& bus : options.buses) {
    CANVOY_ASSIGN_OR_RETURN(const int fd, OpenBus(bus, options));
    source->sockets_.push_back(fd);
    source->interfaces_.push_back(bus.interface);
  }
  source->ready_.assign(source->sockets_.size(), false);
  source->options_ = std::move(options);
  return source;
}

SocketCanSource::~SocketCanSource() {
  for (const int fd : sockets_) ::close(fd);
}

Result<bool> SocketCanSource::ReadFrom(std::size_t index, CanFrame* frame) {
  canfd_frame kernel{};
  iovec buffer{&kernel, sizeof(kernel)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) + CMSG_SPACE(sizeof(timeval))];
  msghdr message{};
  message.msg_iov = &buffer;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  const ssize_t received = ::recvmsg(sockets_[index], &message, MSG_DONTWAIT);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
    return SocketError(interfaces_[index], "recvmsg", errno);
  }
  std::optional<std::int64_t> timestamp = KernelTimestampUs(message);
  if (!timestamp) {
    timestamp = SystemClockUs();
    ++clock_timestamped_frames_;
  }
  auto converted = FrameFromKernel(kernel, static_cast<std::size_t>(received), *timestamp,
                                   static_cast<std::uint16_t>(index));
  if (!converted) return converted.error().WithContext(interfaces_[index]);
  *frame = converted.value();
  return true;
}

Result<SocketCanSource::ReceiveOutcome> SocketCanSource::Receive(
    CanFrame* frame, std::chrono::milliseconds timeout) {
  for (int round = 0; round < 2; ++round) {
    // Serve buses known to have frames, in turn, starting after the last one served.
    for (std::size_t step = 0; step < sockets_.size(); ++step) {
      const std::size_t index = (next_bus_ + step) % sockets_.size();
      if (!ready_[index]) continue;
      CANVOY_ASSIGN_OR_RETURN(const bool got, ReadFrom(index, frame));
      if (got) {
        next_bus_ = (index + 1) % sockets_.size();
        return ReceiveOutcome::kFrame;
      }
      ready_[index] = false;
    }
    if (round == 1) break;
    if (options_.drain_interval.count() > 0) {
      const auto earliest = last_wait_ + options_.drain_interval;
      if (std::chrono::steady_clock::now() < earliest) std::this_thread::sleep_until(earliest);
      last_wait_ = std::chrono::steady_clock::now();
    }
    std::vector<pollfd>& polls = polls_;
    polls.resize(sockets_.size());
    for (std::size_t i = 0; i < sockets_.size(); ++i) polls[i] = pollfd{sockets_[i], POLLIN, 0};
    const int ready = ::poll(polls.data(), polls.size(), static_cast<int>(timeout.count()));
    if (ready < 0) {
      if (errno == EINTR) return ReceiveOutcome::kTimeout;
      return Error(Errc::kIo, "socketcan: poll: " + ErrnoText(errno));
    }
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
      if ((polls[i].revents & (POLLERR | POLLNVAL)) != 0) {
        return Error(Errc::kIo, "socketcan " + interfaces_[i] + ": socket error (interface down?)");
      }
      ready_[i] = (polls[i].revents & POLLIN) != 0;
    }
  }
  return ReceiveOutcome::kTimeout;
}

Result<bool> SocketCanSource::Next(CanFrame* frame) {
  while (!stop_.load(std::memory_order_relaxed)) {
    CANVOY_ASSIGN_OR_RETURN(const ReceiveOutcome outcome, Receive(frame, options_.read_timeout));
    if (outcome == ReceiveOutcome::kFrame) return true;
  }
  return false;
}

}  // namespace canvoy::agent
