#pragma once

#include <string>

#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy {

// The catalog's content hash: SHA-256 (32 raw bytes) over its deterministic serialization.
// Agent, ingest and fleet store all use this one definition.
std::string CatalogHash(const telemetry::v1::Catalog& catalog);

}  // namespace canvoy
