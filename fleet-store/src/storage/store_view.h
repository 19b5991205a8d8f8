// The StoreView over the RocksDB database.
#pragma once

#include <memory>

#include "canvoy/fleet_store/store.h"
#include "canvoy/fleet_store/store_view.h"
#include "storage/database.h"

namespace canvoy::fleet_store::storage {

std::unique_ptr<StoreView> NewStoreView(const Database& db, const RetentionOptions& retention);

}  // namespace canvoy::fleet_store::storage
