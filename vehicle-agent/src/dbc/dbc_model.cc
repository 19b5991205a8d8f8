#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>

#include "canvoy/agent/can_frame.h"
#include "canvoy/agent/dbc.h"

namespace canvoy::agent {

const DbcMessage* DbcDatabase::FindMessage(std::uint32_t id, bool extended) const {
  for (const DbcMessage& message : messages) {
    if (message.id == id && message.extended == extended) return &message;
  }
  return nullptr;
}

namespace {

const std::string* FindAttribute(const std::vector<std::pair<std::string, std::string>>& list,
                                 std::string_view name) {
  for (const auto& [key, value] : list) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace

bool IsJ1939(const DbcDatabase& database, const DbcMessage& message) {
  if (!message.extended) return false;
  constexpr std::string_view kProtocol = "ProtocolType";
  const std::string* protocol = FindAttribute(message.attributes, kProtocol);
  if (protocol == nullptr) protocol = FindAttribute(database.attributes, kProtocol);
  if (protocol == nullptr) protocol = FindAttribute(database.attribute_defaults, kProtocol);
  return protocol != nullptr && *protocol == "J1939";
}

std::vector<MessageRef> SelectMessages(std::span<const DbcDatabase> databases,
                                       std::vector<std::string>* conflicts) {
  std::vector<MessageRef> selected;
  std::unordered_map<std::uint32_t, MessageRef> owner;  // frame key -> first definition
  for (std::uint32_t d = 0; d < databases.size(); ++d) {
    const auto& messages = databases[d].messages;
    for (std::uint32_t m = 0; m < messages.size(); ++m) {
      const DbcMessage& message = messages[m];
      const auto [it, inserted] =
          owner.emplace(FrameKey(message.id, message.extended), MessageRef{d, m});
      if (inserted) {
        selected.push_back({d, m});
        continue;
      }
      if (conflicts == nullptr) continue;
      const DbcDatabase& winner = databases[it->second.database];
      char id[16];
      std::snprintf(id, sizeof id, "0x%X", message.id);
      conflicts->push_back(databases[d].name + ": message " + message.name + " (id " + id +
                           ") is shadowed by " + winner.messages[it->second.message].name + " of " +
                           winner.name);
    }
  }
  return selected;
}

}  // namespace canvoy::agent
