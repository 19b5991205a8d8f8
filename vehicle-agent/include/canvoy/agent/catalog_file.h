// The signal catalog file (JSON, see the vehicle-agent README): which DBC signals the agent
// collects, under which names and units, with which collection policy, and which condition
// triggers capture which signals around an event.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canvoy/agent/catalog.h"
#include "canvoy/agent/dbc.h"
#include "canvoy/common/error.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::agent {

// A parsed catalog file. Plain data; Parse checks the shape and values, BuildCatalog checks it
// against the DBC files. Errors name the file and either line:col (malformed JSON) or the JSON
// path of the bad entry (`rav4_catalog.json: signals["SPEED.SPEED"].policy: ...`).
struct CatalogFile {
  struct Signal {
    std::string key;   // "<Message>.<Signal>" as in the DBC (a repeated message name: "<Message>_0x<ID>")
    std::string path;  // `signals["<key>"]`, for errors
    bool collect = true;
    std::optional<std::string> name;  // e.g. "Vehicle.Speed"
    std::optional<std::string> unit;
    std::optional<telemetry::v1::CollectionPolicy> policy;
  };
  struct Trigger {
    std::string path;  // `triggers[<i>]`, for errors
    std::string name;
    std::string when;  // condition expression text
    std::int64_t pre_us = 0;
    std::int64_t post_us = 0;
    std::vector<std::string> capture;  // catalog or DBC names
  };

  std::string source;  // the file name, for errors
  bool default_collect = true;
  telemetry::v1::CollectionPolicy default_policy;  // every_sample unless the file says otherwise
  std::vector<Signal> signals;                     // in file order
  std::vector<Trigger> triggers;

  [[nodiscard]] static Result<CatalogFile> Parse(std::string_view text, const std::string& source);
  [[nodiscard]] static Result<CatalogFile> LoadFile(const std::string& path);
};

// Like BuildCatalog(databases, mapping), but names, units, policies and exclusions come from the
// file; signals with "collect": false get no id (ids stay 1..N over the collected signals).
// Signals named in a trigger's "capture" get policy on_trigger; the triggers go into the catalog.
// Fails when the file names a signal the DBC files lack, two signals get one name, a capture or
// condition names an uncollected signal, or a condition does not parse.
[[nodiscard]] Result<BuiltCatalog> BuildCatalog(std::span<const DbcDatabase> databases,
                                                const CatalogFile& file);

}  // namespace canvoy::agent
