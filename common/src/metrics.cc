#include "canvoy/common/metrics.h"

#include <prometheus/text_serializer.h>

namespace canvoy::metrics {

std::string Serialize(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace canvoy::metrics
