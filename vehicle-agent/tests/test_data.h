// Paths of the shared CAN data (data/can/ in the shared folder) and small helpers for tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "canvoy/agent/dbc.h"

namespace canvoy::agent::testing {

inline std::string CanData(std::string_view relative) {
  return std::string(CANVOY_SHARED_DATA_DIR) + "/can/" + std::string(relative);
}

inline std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline DbcDatabase ParseOrDie(std::string_view text, std::string name = "test.dbc") {
  auto parsed = ParseDbc(text, std::move(name));
  EXPECT_TRUE(parsed) << parsed.error().message();
  return parsed ? std::move(parsed).value() : DbcDatabase{};
}

inline DbcDatabase LoadDbcOrDie(std::string_view file) {
  auto parsed = ParseDbcFile(CanData("dbc/" + std::string(file)));
  EXPECT_TRUE(parsed) << parsed.error().message();
  return parsed ? std::move(parsed).value() : DbcDatabase{};
}

inline const DbcMessage* FindMessageByName(const DbcDatabase& db, std::string_view name) {
  for (const DbcMessage& message : db.messages) {
    if (message.name == name) return &message;
  }
  return nullptr;
}

inline const DbcSignal* FindSignal(const DbcMessage& message, std::string_view name) {
  for (const DbcSignal& signal : message.signals) {
    if (signal.name == name) return &signal;
  }
  return nullptr;
}

}  // namespace canvoy::agent::testing
