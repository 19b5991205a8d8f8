// Runs a plan: vehicles in VIN order through the source, the steps and the output, one at a time
// or, for plans that reduce rows, on several threads with the same answer (parallel.h).
#pragma once

#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/store_view.h"
#include "query/output.h"
#include "query/plan.h"

namespace canvoy::fleet_store::query {

// The table of one page. Errors as RunQuery's. Up to control.limits().threads threads call
// `view`'s const methods at once.
Result<Table> Execute(const StoreView& view, const Plan& plan, QueryControl& control);

// {"columns", "rows", "next"?, "stats"}
std::string Serialize(Table table, const QueryStats& stats);

}  // namespace canvoy::fleet_store::query
