#include "canvoy/simulators/fleet.h"

#include <gtest/gtest.h>

namespace canvoy::simulators {
namespace {

TEST(SimulatedVinTest, NumbersVehiclesWithinSeventeenCharacters) {
  auto first = SimulatedVin("CNVYS", 0);
  auto big = SimulatedVin("CNVYS", 41);
  ASSERT_TRUE(first && big);
  EXPECT_EQ(first.value(), "CNVYS000000000001");
  EXPECT_EQ(big.value(), "CNVYS000000000042");
}

TEST(SimulatedVinTest, RejectsPrefixWithLettersOutsideTheVinAlphabet) {
  auto vin = SimulatedVin("CVSIM", 0);  // I is not allowed in a VIN
  ASSERT_FALSE(vin);
  EXPECT_NE(vin.error().message().find("character 4"), std::string::npos) << vin.error().message();
}

TEST(SimulatedVinTest, RejectsPrefixTooLongForTheFleet) {
  EXPECT_FALSE(SimulatedVin("CNVYS12345678901", 10));
}

TEST(FleetOptionsTest, RejectsEmptyFleet) {
  FleetOptions o;
  o.vehicles = 0;
  o.pki_dir = "/tmp";
  EXPECT_FALSE(o.Validate());
}

}  // namespace
}  // namespace canvoy::simulators
