#include "sink/catalog_index.h"

namespace canvoy::fleet_store::sink {

CatalogIndex::CatalogIndex(const telemetry::v1::Catalog& catalog) {
  for (const auto& descriptor : catalog.signals()) {
    auto [it, inserted] = signals_.try_emplace(
        descriptor.id(),
        SignalInfo{descriptor.name(), descriptor.type(), descriptor.unit(), false});
    if (!inserted) it->second.ambiguous = true;
  }
}

const SignalInfo* CatalogIndex::Find(SignalId id) const {
  auto it = signals_.find(id);
  return it == signals_.end() ? nullptr : &it->second;
}

}  // namespace canvoy::fleet_store::sink
