// Helpers for the collector tests: a sink that records, and hand-made catalogs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "canvoy/telemetry/v1/telemetry.pb.h"
#include "collect/collector.h"

namespace canvoy::agent::testing {

struct Emitted {
  SignalId id = 0;
  std::int64_t t = 0;
  PhysicalValue value;
  bool operator==(const Emitted&) const = default;
};

class RecordingSink : public SampleSink {
 public:
  Status Emit(SignalId id, std::int64_t t, const PhysicalValue& value) override {
    emitted.push_back({id, t, value});
    return OkStatus();
  }
  std::vector<std::int64_t> Times(SignalId id) const {
    std::vector<std::int64_t> times;
    for (const auto& e : emitted) {
      if (e.id == id) times.push_back(e.t);
    }
    return times;
  }
  std::vector<Emitted> emitted;
};

inline telemetry::v1::SignalDescriptor* AddSignal(telemetry::v1::Catalog& catalog, const std::string& name,
                                                  telemetry::v1::SignalType type = telemetry::v1::SIGNAL_TYPE_DOUBLE) {
  auto* s = catalog.add_signals();
  s->set_id(static_cast<SignalId>(catalog.signals_size()));
  s->set_name(name);
  s->set_type(type);
  const auto dot = name.find('.');
  s->set_dbc_message(name.substr(0, dot));
  s->set_dbc_signal(dot == std::string::npos ? name : name.substr(dot + 1));
  s->mutable_policy()->mutable_every_sample();
  return s;
}

inline Collector CreateOrDie(const telemetry::v1::Catalog& catalog) {
  auto c = Collector::Create(catalog);
  if (!c) ADD_FAILURE() << c.error().message();
  return std::move(c).value();
}

}  // namespace canvoy::agent::testing
