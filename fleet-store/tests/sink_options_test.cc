// SinkOptions are validated once, before any Kafka client exists. (The sink's behaviour against a
// real broker is tested in tests/, with the shared broker fixture.)
#include <gtest/gtest.h>

#include "canvoy/fleet_store/sink.h"

namespace canvoy::fleet_store {
namespace {

SinkOptions Valid() {
  SinkOptions options;
  options.bootstrap = "127.0.0.1:9092";
  return options;
}

std::string Problem(const SinkOptions& options) {
  auto status = options.Validate();
  return status ? "" : status.error().message();
}

TEST(SinkOptionsTest, DefaultsWithABootstrapAreValid) {
  EXPECT_TRUE(Valid().Validate());
  EXPECT_EQ(Valid().telemetry_topic, "canvoy.telemetry.v1");
  EXPECT_EQ(Valid().catalog_topic, "canvoy.catalog.v1");
  EXPECT_TRUE(Valid().partitions.empty());  // the consumer group decides
}

TEST(SinkOptionsTest, EachProblemIsNamed) {
  auto o = Valid();
  o.bootstrap.clear();
  EXPECT_EQ(Problem(o), "sink: bootstrap servers are empty");
  o = Valid();
  o.catalog_topic = o.telemetry_topic;
  EXPECT_EQ(Problem(o), "sink: telemetry and catalog topic are both 'canvoy.telemetry.v1'");
  o = Valid();
  o.partitions = {0, -1};
  EXPECT_EQ(Problem(o), "sink: partition -1 is negative");
  o = Valid();
  o.max_poll_records = 0;
  EXPECT_EQ(Problem(o), "sink: max poll records is 0");
  o = Valid();
  o.catalog_wait = std::chrono::milliseconds(0);
  EXPECT_EQ(Problem(o), "sink: catalog wait must be positive");
}

}  // namespace
}  // namespace canvoy::fleet_store
