// Runs a plan: vehicles one at a time through the source, the steps and the output.
#pragma once

#include "canvoy/fleet_store/query.h"
#include "canvoy/fleet_store/store_view.h"
#include "query/output.h"
#include "query/plan.h"

namespace canvoy::fleet_store::query {

// The table of one page. Errors as RunQuery's.
Result<Table> Execute(const StoreView& view, const Plan& plan, QueryControl& control);

// {"columns", "rows", "next"?, "stats"}
std::string Serialize(Table table, const QueryStats& stats);

}  // namespace canvoy::fleet_store::query
