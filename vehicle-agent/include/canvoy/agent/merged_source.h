// Several buses' frames through one reader: the frames of every input in timestamp order.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "canvoy/agent/frame_source.h"

namespace canvoy::agent {

// Merges sources (one per bus, each already in time order, like a candump log or a socket) into
// one stream ordered by timestamp, so that a single thread reads, decodes and collects every bus,
// as the agent does with SocketCanSource's poll over all its sockets. A frame's interface_index
// becomes its input's position. Ties go to the lower position, so the order is deterministic.
// An input's error is returned at once, naming the input; the other inputs stay readable.
// Not thread-safe, like every FrameSource.
class MergedSource final : public FrameSource {
 public:
  explicit MergedSource(std::vector<std::unique_ptr<FrameSource>> inputs);

  [[nodiscard]] Result<bool> Next(CanFrame* frame) override;

 private:
  struct Head {
    CanFrame frame;
    bool ready = false;  // `frame` holds the input's next frame
    bool ended = false;
  };
  std::vector<std::unique_ptr<FrameSource>> inputs_;
  std::vector<Head> heads_;
};

}  // namespace canvoy::agent
