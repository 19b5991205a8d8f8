// The signal catalog: which DBC signals the agent collects, under which ids, names and types.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "canvoy/agent/dbc.h"
#include "canvoy/common/error.h"
#include "canvoy/common/ids.h"
#include "canvoy/telemetry/v1/telemetry.pb.h"

namespace canvoy::agent {

// Optional renames, one per line: `Message.Signal = Vehicle.Speed`; '#' starts a comment.
class NameMapping {
 public:
  // Errors read "name:line: what".
  [[nodiscard]] static Result<NameMapping> Parse(std::string_view text, const std::string& name);
  [[nodiscard]] static Result<NameMapping> LoadFile(const std::string& path);

  // The new name for "<Message>.<Signal>", or nullptr.
  const std::string* Find(const std::string& dbc_name) const;
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, std::string> names_;
};

// (message, signal index) -> catalog SignalId, as flat vectors for the decode path.
class SignalIdMap {
 public:
  static constexpr SignalId kNone = 0;  // catalog ids start at 1

  // The id of messages[ref].signals[signal_index], or kNone when it is not in the catalog.
  SignalId Find(MessageRef ref, std::uint32_t signal_index) const {
    if (ref.database >= ids_.size() || ref.message >= ids_[ref.database].size()) return kNone;
    const auto& signals = ids_[ref.database][ref.message];
    return signal_index < signals.size() ? signals[signal_index] : kNone;
  }

 private:
  friend class CatalogBuilder;
  std::vector<std::vector<std::vector<SignalId>>> ids_;  // [database][message][signal]
};

struct BuiltCatalog {
  telemetry::v1::Catalog catalog;
  SignalIdMap ids;
  std::string hash;  // CatalogHash(catalog): 32 raw bytes
};

// Builds the catalog of every signal of the selected messages (SelectMessages: first database
// wins a frame id): ids 1..N in database, message and signal order; names "<Message>.<Signal>"
// unless `mapping` renames them (a message name that repeats gets "_0x<ID>" after its second
// appearance); types per PhysicalKindOf; units from the DBC; policy every_sample.
// Fails when two signals end up with one name.
[[nodiscard]] Result<BuiltCatalog> BuildCatalog(std::span<const DbcDatabase> databases,
                                                const NameMapping* mapping = nullptr);

// SHA-256 over the catalog's deterministic serialization: 32 raw bytes.
std::string CatalogHash(const telemetry::v1::Catalog& catalog);

}  // namespace canvoy::agent
