// Finds the Kafka broker that the CTest fixture `kafka` (tests/CMakeLists.txt) started for this run.
// Tests registered with canvoy_add_integration_tests get CANVOY_KAFKA_DIR in their environment;
// scripts/kafka.sh writes DIR/bootstrap last, so its presence means the broker and topics are ready.
// A missing broker fails the test: an integration test that silently skips proves nothing.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace canvoy::testing {

// The broker's directory (config, data/, broker.log, bootstrap), from CANVOY_KAFKA_DIR.
// Adds a test failure and returns an empty path when the variable is not set.
inline std::filesystem::path KafkaDir() {
  const char* dir = std::getenv("CANVOY_KAFKA_DIR");
  if (dir == nullptr || *dir == '\0') {
    ADD_FAILURE() << "CANVOY_KAFKA_DIR is not set: run this test through ctest (fixture `kafka`), "
                     "or start a broker with scripts/kafka.sh start --dir DIR and export "
                     "CANVOY_KAFKA_DIR=DIR";
    return {};
  }
  return dir;
}

// "127.0.0.1:PORT" of the running broker. Adds a test failure and returns "" when there is none;
// callers write `const std::string bootstrap = KafkaBootstrap(); ASSERT_FALSE(bootstrap.empty());`.
inline std::string KafkaBootstrap() {
  const std::filesystem::path dir = KafkaDir();
  if (dir.empty()) return {};
  const std::filesystem::path file = dir / "bootstrap";
  std::ifstream in(file);
  std::string bootstrap;
  if (!(in >> bootstrap) || bootstrap.empty()) {
    ADD_FAILURE() << "no Kafka broker is ready: " << file
                  << " is missing or empty (did the test `kafka.start` pass? see "
                  << (dir / "broker.log") << ")";
    return {};
  }
  return bootstrap;
}

// Topic names as scripts/kafka.sh creates them, including its environment overrides.
inline std::string TelemetryTopic() {
  const char* topic = std::getenv("CANVOY_TELEMETRY_TOPIC");
  return topic != nullptr && *topic != '\0' ? topic : "canvoy.telemetry.v1";
}

inline std::string CatalogTopic() {
  const char* topic = std::getenv("CANVOY_CATALOG_TOPIC");
  return topic != nullptr && *topic != '\0' ? topic : "canvoy.catalog.v1";
}

}  // namespace canvoy::testing
