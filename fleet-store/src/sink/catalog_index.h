// A catalog indexed by signal id.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "canvoy/common/ids.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::fleet_store::sink {

struct SignalInfo {
  std::string name;
  telemetry::v1::SignalType type = telemetry::v1::SIGNAL_TYPE_UNSPECIFIED;
  std::string unit;
  bool ambiguous = false;  // the catalog lists the id more than once
};

class CatalogIndex {
 public:
  explicit CatalogIndex(const telemetry::v1::Catalog& catalog);
  // nullptr when the catalog has no signal `id`.
  const SignalInfo* Find(SignalId id) const;

 private:
  std::unordered_map<SignalId, SignalInfo> signals_;
};

}  // namespace canvoy::fleet_store::sink
