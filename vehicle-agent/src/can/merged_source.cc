#include "canvoy/agent/merged_source.h"

#include <string>
#include <utility>

namespace canvoy::agent {

MergedSource::MergedSource(std::vector<std::unique_ptr<FrameSource>> inputs)
    : inputs_(std::move(inputs)), heads_(inputs_.size()) {}

Result<bool> MergedSource::Next(CanFrame* frame) {
  // A handful of buses: a linear scan over the heads beats a heap at this size.
  std::size_t best = heads_.size();
  for (std::size_t i = 0; i < heads_.size(); ++i) {
    Head& head = heads_[i];
    if (head.ended) continue;
    if (!head.ready) {
      auto more = inputs_[i]->Next(&head.frame);
      if (!more) {
        return Error(more.error().code(),
                     "bus input " + std::to_string(i) + ": " + more.error().message());
      }
      if (!more.value()) {
        head.ended = true;
        continue;
      }
      head.ready = true;
      head.frame.interface_index = static_cast<std::uint16_t>(i);
    }
    if (best == heads_.size() || head.frame.timestamp_us < heads_[best].frame.timestamp_us) best = i;
  }
  if (best == heads_.size()) return false;
  *frame = heads_[best].frame;
  heads_[best].ready = false;
  return true;
}

}  // namespace canvoy::agent
