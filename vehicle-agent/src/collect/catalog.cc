#include "canvoy/agent/catalog.h"

#include "canvoy/common/catalog_hash.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "canvoy/agent/catalog_file.h"
#include "canvoy/agent/decoder.h"
#include "canvoy/common/hash.h"
#include "collect/expression.h"

namespace canvoy::agent {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

telemetry::v1::SignalType TypeOf(const DbcSignal& signal) {
  switch (PhysicalKindOf(signal)) {
    case PhysicalKind::kInt64:
      return telemetry::v1::SIGNAL_TYPE_INT64;
    case PhysicalKind::kUint64:
      return telemetry::v1::SIGNAL_TYPE_UINT64;
    case PhysicalKind::kDouble:
      break;
  }
  return telemetry::v1::SIGNAL_TYPE_DOUBLE;
}

}  // namespace

Result<NameMapping> NameMapping::Parse(std::string_view text, const std::string& name) {
  NameMapping mapping;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::size_t eq = line.find('=');
    const std::string_view from = Trim(line.substr(0, eq));
    const std::string_view to = eq == std::string_view::npos ? "" : Trim(line.substr(eq + 1));
    const std::string where = name + ":" + std::to_string(line_number) + ": ";
    if (from.empty() || to.empty() || from.find('.') == std::string_view::npos) {
      return Error(Errc::kParse, where + "expected 'Message.Signal = New.Name'");
    }
    if (!mapping.names_.emplace(std::string(from), std::string(to)).second) {
      return Error(Errc::kParse, where + std::string(from) + " is mapped twice");
    }
  }
  return mapping;
}

Result<NameMapping> NameMapping::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::kIo, path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

const std::string* NameMapping::Find(const std::string& dbc_name) const {
  const auto it = names_.find(dbc_name);
  return it == names_.end() ? nullptr : &it->second;
}

// Assigns ids and names; a class so that it may fill SignalIdMap's private table.
class CatalogBuilder {
 public:
  CatalogBuilder(std::span<const DbcDatabase> databases, const NameMapping* mapping,
                 const CatalogFile* file = nullptr)
      : databases_(databases), mapping_(mapping), file_(file) {
    if (file_ != nullptr) {
      for (const CatalogFile::Signal& s : file_->signals) entries_.emplace(s.key, &s);
    }
  }

  Result<BuiltCatalog> Build() {
    BuiltCatalog built;
    auto& ids = built.ids.ids_;
    ids.resize(databases_.size());
    for (std::size_t d = 0; d < databases_.size(); ++d)
      ids[d].resize(databases_[d].messages.size());
    for (const MessageRef& ref : SelectMessages(databases_)) {
      const DbcMessage& message = databases_[ref.database].messages[ref.message];
      const std::string message_name = UniqueMessageName(message);
      auto& signal_ids = ids[ref.database][ref.message];
      for (const DbcSignal& signal : message.signals) {
        const std::string dbc_name = message_name + "." + signal.name;
        const CatalogFile::Signal* entry = Entry(dbc_name);
        if (file_ != nullptr && !(entry != nullptr ? entry->collect : file_->default_collect)) {
          signal_ids.push_back(SignalIdMap::kNone);
          continue;
        }
        auto* descriptor = built.catalog.add_signals();
        const auto id = static_cast<SignalId>(built.catalog.signals_size());
        CANVOY_ASSIGN_OR_RETURN(std::string name, NameFor(dbc_name, entry, message, signal));
        descriptor->set_id(id);
        descriptor->set_name(std::move(name));
        descriptor->set_type(TypeOf(signal));
        descriptor->set_unit(entry != nullptr && entry->unit ? *entry->unit : signal.unit);
        descriptor->set_dbc_message(message.name);
        descriptor->set_dbc_signal(signal.name);
        if (entry != nullptr && entry->policy) {
          *descriptor->mutable_policy() = *entry->policy;
        } else if (file_ != nullptr) {
          *descriptor->mutable_policy() = file_->default_policy;
        } else {
          descriptor->mutable_policy()->mutable_every_sample();
        }
        signal_ids.push_back(id);
      }
    }
    if (file_ != nullptr) {
      CANVOY_RETURN_IF_ERROR(CheckAllEntriesUsed());
      CANVOY_RETURN_IF_ERROR(AddTriggers(&built.catalog));
    }
    built.hash = CatalogHash(built.catalog);
    return built;
  }

 private:
  std::string UniqueMessageName(const DbcMessage& message) {
    if (message_names_.insert(message.name).second) return message.name;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "_0x%X", message.id);
    return message.name + suffix;
  }

  const CatalogFile::Signal* Entry(const std::string& dbc_name) {
    const auto it = entries_.find(dbc_name);
    if (it == entries_.end()) return nullptr;
    used_.insert(dbc_name);
    return it->second;
  }

  Status CheckAllEntriesUsed() const {
    for (const CatalogFile::Signal& s : file_->signals) {
      if (used_.count(s.key) == 0) {
        return Error(Errc::kInvalidArgument, file_->source + ": " + s.path +
                                                 ": no such signal in the DBC files (or its message is shadowed)");
      }
    }
    return OkStatus();
  }

  // Resolves each trigger's captures and condition against the catalog built so far; captured
  // signals get policy on_trigger.
  Status AddTriggers(telemetry::v1::Catalog* catalog) const {
    const Expression::Resolver resolve = CatalogResolver(*catalog);
    for (const CatalogFile::Trigger& t : file_->triggers) {
      const std::string where = file_->source + ": " + t.path;
      auto* trigger = catalog->add_triggers();
      trigger->set_name(t.name);
      trigger->set_condition(t.when);
      trigger->set_pre_us(t.pre_us);
      trigger->set_post_us(t.post_us);
      for (std::size_t k = 0; k < t.capture.size(); ++k) {
        const std::string at = where + ".capture[" + std::to_string(k) + "]";
        auto id = resolve(t.capture[k]);
        if (!id) return Error(Errc::kInvalidArgument, at + ": " + id.error().message());
        auto* descriptor = catalog->mutable_signals(static_cast<int>(id.value() - 1));
        const std::string key = descriptor->dbc_message() + "." + descriptor->dbc_signal();
        const auto entry = entries_.find(key);
        if (entry != entries_.end() && entry->second->policy) {
          return Error(Errc::kInvalidArgument,
                       at + ": " + t.capture[k] + " also has a policy in " + entry->second->path +
                           "; a captured signal is collected only inside capture windows, so drop one");
        }
        for (const std::uint32_t seen : trigger->capture_ids()) {
          if (seen == id.value()) return Error(Errc::kInvalidArgument, at + ": " + t.capture[k] + " is captured twice");
        }
        if (!descriptor->policy().has_on_trigger()) descriptor->mutable_policy()->mutable_on_trigger();
        descriptor->mutable_policy()->mutable_on_trigger()->add_triggers(t.name);
        trigger->add_capture_ids(id.value());
      }
      auto condition = Expression::Parse(t.when, resolve, where + ".when: expression");
      if (!condition) return Error(Errc::kInvalidArgument, condition.error().message());
    }
    return OkStatus();
  }

  Result<std::string> NameFor(const std::string& dbc_name, const CatalogFile::Signal* entry,
                              const DbcMessage& message, const DbcSignal& signal) {
    const std::string* mapped = entry != nullptr && entry->name ? &*entry->name
                                : mapping_ != nullptr        ? mapping_->Find(dbc_name)
                                                             : nullptr;
    std::string name = mapped != nullptr ? *mapped : dbc_name;
    const auto [it, inserted] = names_.emplace(name, dbc_name);
    if (!inserted) {
      return Error(Errc::kInvalidArgument, "catalog name " + name + " is given to both " +
                                               it->second + " and " + message.name + "." +
                                               signal.name);
    }
    return name;
  }

  std::span<const DbcDatabase> databases_;
  const NameMapping* mapping_;
  const CatalogFile* file_;
  std::unordered_map<std::string, const CatalogFile::Signal*> entries_;  // by "<Message>.<Signal>"
  std::unordered_set<std::string> used_;                                // entries matched so far
  std::unordered_set<std::string> message_names_;
  std::unordered_map<std::string, std::string> names_;  // catalog name -> what it came from
};

Result<BuiltCatalog> BuildCatalog(std::span<const DbcDatabase> databases,
                                  const NameMapping* mapping) {
  return CatalogBuilder(databases, mapping).Build();
}

Result<BuiltCatalog> BuildCatalog(std::span<const DbcDatabase> databases, const CatalogFile& file) {
  return CatalogBuilder(databases, nullptr, &file).Build();
}

std::string CatalogHash(const telemetry::v1::Catalog& catalog) {
  return canvoy::CatalogHash(catalog);  // one definition for agent, ingest and store
}

}  // namespace canvoy::agent
