#include "canvoy/common/ids.h"

#include <gtest/gtest.h>

namespace canvoy {
namespace {

TEST(VinTest, AcceptsIso3779Vin) {
  auto vin = Vin::Parse("1HGCM82633A004352");
  ASSERT_TRUE(vin) << vin.error().message();
  EXPECT_EQ(vin.value().str(), "1HGCM82633A004352");
}

TEST(VinTest, RejectsWrongLengthNamingIt) {
  auto vin = Vin::Parse("ABC");
  ASSERT_FALSE(vin);
  EXPECT_NE(vin.error().message().find("length 3"), std::string::npos);
}

TEST(VinTest, RejectsLetterONamingItsPosition) {
  auto vin = Vin::Parse("1HGCM82633AO04352");
  ASSERT_FALSE(vin);
  EXPECT_NE(vin.error().message().find("character 12"), std::string::npos) << vin.error().message();
}

TEST(StreamIdTest, RandomIdsDifferAndRoundTrip) {
  const StreamId a = StreamId::Random();
  const StreamId b = StreamId::Random();
  EXPECT_NE(a, b);
  auto copy = StreamId::FromBytes(a.bytes());
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy.value(), a);
  EXPECT_EQ(a.Hex().size(), 32u);
}

TEST(StreamIdTest, RejectsWrongSize) { EXPECT_FALSE(StreamId::FromBytes("short")); }

}  // namespace
}  // namespace canvoy
