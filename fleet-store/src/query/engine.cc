#include "query/engine.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "query/source.h"
#include "query/steps.h"

namespace canvoy::fleet_store::query {
namespace {

namespace json = boost::json;

// Vehicles are listed in batches, so that the view's vehicle scan is never open while samples
// are read.
constexpr std::size_t kVehicleBatch = 256;

class Runner {
 public:
  Runner(const StoreView& view, const Plan& plan, QueryControl& control)
      : view_(view), plan_(plan), control_(control) {
    if (plan.group) {
      group_ = std::make_unique<GroupSink>(plan);
      first_ = group_.get();
    } else {
      rows_ = std::make_unique<RowSink>(plan, control);
      first_ = rows_.get();
    }
    steps_.resize(plan.steps.size());
    for (std::size_t i = plan.steps.size(); i-- > 0;) {
      steps_[i] = MakeStep(plan.steps[i], plan.source, *first_);
      first_ = steps_[i].get();
    }
    BucketStep* rollups = plan.use_rollups ? static_cast<BucketStep*>(steps_[0].get()) : nullptr;
    reader_ = std::make_unique<SourceReader>(view, plan.source, control, *first_, rollups);
  }

  Status Run() {
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
      batch.clear();
      CANVOY_RETURN_IF_ERROR(view_.ForEachVehicle(
          [&](const VehicleInfo& v) {
            batch.push_back(v);
            return batch.size() < kVehicleBatch;
          },
          after));
      for (const auto& v : batch) {
        CANVOY_RETURN_IF_ERROR(Process(v));
        if (control_.stopped()) break;
      }
      if (batch.size() < kVehicleBatch) break;
      after = batch.back().summary.vin;
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
    if (!control_.CheckTime()) return OkStatus();
    ++control_.stats().vehicles;
    std::int64_t from = plan_.source.from_us;
    // Rows of filter and compute steps depend on their own sample only: a page that ends inside
    // a vehicle resumes reading at the cursor's timestamp.
    if (plan_.row_local && plan_.after && plan_.after->vin == vehicle.summary.vin.str())
      from = std::max(from, plan_.after->t);
    CANVOY_RETURN_IF_ERROR(first_->Begin(vehicle));
    CANVOY_RETURN_IF_ERROR(reader_->Read(vehicle, from));
    if (control_.stopped()) return OkStatus();
    return first_->Finish();
  }

  const StoreView& view_;
  const Plan& plan_;
  QueryControl& control_;
  std::unique_ptr<RowSink> rows_;
  std::unique_ptr<GroupSink> group_;
  std::vector<std::unique_ptr<FrameSink>> steps_;
  FrameSink* first_ = nullptr;
  std::unique_ptr<SourceReader> reader_;
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
                              {"elapsed_us", stats.elapsed_us}};
  return json::serialize(out);
}

}  // namespace canvoy::fleet_store::query

namespace canvoy::fleet_store {

Status QueryLimits::Validate() const {
  if (timeout.count() < 0)
    return Error(Errc::kInvalidArgument, "query timeout must not be negative");
  if (max_scanned_values == 0)
    return Error(Errc::kInvalidArgument, "max_scanned_values must be positive");
  if (default_page_rows == 0 || max_page_rows < default_page_rows)
    return Error(Errc::kInvalidArgument, "page rows: need 0 < default_page_rows <= max_page_rows");
  if (max_steps == 0) return Error(Errc::kInvalidArgument, "max_steps must be positive");
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
