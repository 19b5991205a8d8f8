#include <cstdio>
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
