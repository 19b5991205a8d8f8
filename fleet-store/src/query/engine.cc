#include "query/engine.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "query/parallel.h"

namespace canvoy::fleet_store::query {
namespace {

namespace json = boost::json;

// Vehicles are listed in batches, so that the view's vehicle scan is never open while samples
// are read; a batch is also what the threads of a parallel query share.
constexpr std::size_t kVehicleBatch = 256;

class Runner {
 public:
  Runner(const StoreView& view, const Plan& plan, QueryControl& control)
      : view_(view), plan_(plan), control_(control) {
    if (plan.group) {
      group_ = std::make_unique<GroupSink>(plan, control.limits().max_groups);
      last_ = group_.get();
    } else {
      rows_ = std::make_unique<RowSink>(plan, control);
      last_ = rows_.get();
    }
    pipeline_ = std::make_unique<Pipeline>(view, plan, control, *last_,
                                           group_ ? &group_->folder() : nullptr);
  }

  Status Run() {
    if (ReadsInParallel(plan_, control_.limits().threads)) return RunParallel();
    const Cursor* cursor = plan_.after && !plan_.after->vin.empty() ? &*plan_.after : nullptr;
    if (plan_.vehicles.vins) {
      for (const auto& vin : *plan_.vehicles.vins) {
        if (cursor && vin.str() < cursor->vin) continue;
        CANVOY_RETURN_IF_ERROR(One(vin));
        if (control_.stopped()) break;
      }
      return OkStatus();
    }
    std::optional<Vin> after;
    if (cursor) {
      auto vin = Vin::Parse(cursor->vin);
      if (!vin) return vin.error().WithContext("after");
      CANVOY_RETURN_IF_ERROR(One(vin.value()));
      after = std::move(vin).value();
    }
    std::vector<VehicleInfo> batch;
    while (!control_.stopped()) {
      CANVOY_ASSIGN_OR_RETURN(const bool full, ListBatch(after, batch));
      for (const auto& v : batch) {
        CANVOY_RETURN_IF_ERROR(Process(v));
        if (control_.stopped()) break;
      }
      if (!full) break;
    }
    return OkStatus();
  }

  Table TakeTable() { return group_ ? group_->TakeTable() : rows_->TakeTable(); }

 private:
  Status One(const Vin& vin) {
    CANVOY_ASSIGN_OR_RETURN(auto info, view_.GetVehicle(vin));
    if (!info) return OkStatus();
    return Process(*info);
  }

  Status Process(const VehicleInfo& vehicle) {
    if (!plan_.vehicles.Matches(vehicle.attributes)) return OkStatus();
    return pipeline_->Run(vehicle);
  }

  // The serial run's vehicles, in its order and batches, read by a ParallelReader. Errors of
  // listing come where the serial run meets them.
  Status RunParallel() {
    std::vector<VehicleInfo> batch;  // declared first: `parallel`'s threads read it
    ParallelReader parallel(view_, plan_, control_, *pipeline_, *last_, group_.get());
    const Cursor* cursor = plan_.after && !plan_.after->vin.empty() ? &*plan_.after : nullptr;
    if (plan_.vehicles.vins) {
      const auto& vins = *plan_.vehicles.vins;
      std::size_t i = 0;
      while (i < vins.size() && !control_.stopped()) {
        batch.clear();
        Status listed = OkStatus();
        for (std::size_t n = 0; i < vins.size() && n < kVehicleBatch && listed; ++i) {
          if (cursor && vins[i].str() < cursor->vin) continue;
          ++n;
          auto info = view_.GetVehicle(vins[i]);
          if (!info) {
            listed = info.error();
          } else if (info.value() && plan_.vehicles.Matches(info.value()->attributes)) {
            batch.push_back(std::move(*info.value()));
          }
        }
        CANVOY_RETURN_IF_ERROR(parallel.Read(batch, i < vins.size()));
        if (control_.stopped()) break;
        CANVOY_RETURN_IF_ERROR(listed);
      }
      return OkStatus();
    }
    std::optional<Vin> after;
    if (cursor) {
      auto vin = Vin::Parse(cursor->vin);
      if (!vin) return vin.error().WithContext("after");
      CANVOY_ASSIGN_OR_RETURN(auto info, view_.GetVehicle(vin.value()));
      if (info && plan_.vehicles.Matches(info->attributes)) {
        batch.push_back(std::move(*info));
        CANVOY_RETURN_IF_ERROR(parallel.Read(batch, true));
      }
      after = std::move(vin).value();
    }
    while (!control_.stopped()) {
      CANVOY_ASSIGN_OR_RETURN(const bool full, ListBatch(after, batch));
      CANVOY_RETURN_IF_ERROR(parallel.Read(batch, full));
      if (!full) break;
    }
    return OkStatus();
  }

  // Lists the next kVehicleBatch vehicles after `after` and keeps those the selector matches
  // (only they are copied). True when the batch was full, and then `after` is its last vehicle.
  Result<bool> ListBatch(std::optional<Vin>& after, std::vector<VehicleInfo>& batch) {
    batch.clear();
    std::size_t seen = 0;
    std::optional<Vin> last;
    CANVOY_RETURN_IF_ERROR(view_.ForEachVehicle(
        [&](const VehicleInfo& v) {
          if (plan_.vehicles.Matches(v.attributes)) batch.push_back(v);
          if (++seen < kVehicleBatch) return true;
          last = v.summary.vin;
          return false;
        },
        after));
    if (!last) return false;
    after = std::move(last);
    return true;
  }

  const StoreView& view_;
  const Plan& plan_;
  QueryControl& control_;
  std::unique_ptr<RowSink> rows_;
  std::unique_ptr<GroupSink> group_;
  FrameSink* last_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace

Result<Table> Execute(const StoreView& view, const Plan& plan, QueryControl& control) {
  Runner runner(view, plan, control);
  CANVOY_RETURN_IF_ERROR(runner.Run());
  if (control.error()) return *control.error();
  return runner.TakeTable();
}

std::string Serialize(Table table, const QueryStats& stats) {
  json::array columns;
  for (const auto& c : table.columns) columns.push_back(json::string(c));
  json::object out;
  out["columns"] = std::move(columns);
  out["rows"] = std::move(table.rows);
  if (table.next) out["next"] = *table.next;
  out["stats"] = json::object{{"vehicles", stats.vehicles},
                              {"samples", stats.samples},
                              {"rollups", stats.rollups},
                              {"threads", stats.threads},
                              {"elapsed_us", stats.elapsed_us}};
  return json::serialize(out);
}

}  // namespace canvoy::fleet_store::query

namespace canvoy::fleet_store {

unsigned QueryThreadBudget::Take(unsigned wanted) {
  unsigned free = free_.load();
  unsigned granted = 0;
  do {
    granted = std::min(free, wanted);
  } while (!free_.compare_exchange_weak(free, free - granted));
  return granted;
}

Status QueryLimits::Validate() const {
  if (timeout.count() < 0)
    return Error(Errc::kInvalidArgument, "query timeout must not be negative");
  if (max_scanned_values == 0)
    return Error(Errc::kInvalidArgument, "max_scanned_values must be positive");
  if (default_page_rows == 0 || max_page_rows < default_page_rows)
    return Error(Errc::kInvalidArgument, "page rows: need 0 < default_page_rows <= max_page_rows");
  if (max_steps == 0) return Error(Errc::kInvalidArgument, "max_steps must be positive");
  if (threads == 0) return Error(Errc::kInvalidArgument, "threads must be positive");
  if (max_groups == 0) return Error(Errc::kInvalidArgument, "max_groups must be positive");
  return OkStatus();
}

Result<QueryAnswer> RunQuery(const StoreView& view, std::string_view document,
                             const QueryLimits& limits) {
  const auto start = std::chrono::steady_clock::now();
  CANVOY_ASSIGN_OR_RETURN(auto plan, query::ParsePlan(document, limits));
  query::QueryControl control(limits, start);
  CANVOY_ASSIGN_OR_RETURN(auto table, query::Execute(view, plan, control));
  QueryAnswer answer;
  answer.kind = plan.kind();
  answer.stats = control.stats();
  answer.stats.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  answer.body = query::Serialize(std::move(table), answer.stats);
  return answer;
}

}  // namespace canvoy::fleet_store
