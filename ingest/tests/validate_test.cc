#include "validate.h"

#include <gtest/gtest.h>

namespace canvoy::ingest {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000'000;
constexpr const char* kVin = "CNVYS000000000001";

class ValidateBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    batch_.set_vin(kVin);
    batch_.set_stream_id(std::string(16, 's'));
    batch_.set_seq(7);
    batch_.set_catalog_hash(std::string(32, 'h'));
    batch_.set_base_time_us(kNow - 1000);
    auto* series = batch_.add_series();
    series->set_signal_id(3);
    series->add_time_deltas_us(0);
    series->add_time_deltas_us(10);
    series->mutable_int64s()->add_values(-5);
    series->mutable_int64s()->add_values(9);
  }
  Result<std::size_t> Check() {
    BatchLimits limits{kNow, 3'600'000'000, 300'000'000, 1000};
    return ValidateBatch(batch_, Connection{vin_, stream_id_, catalog_hash_}, limits, &rejection_);
  }
  const Vin vin_ = Vin::Parse(kVin).value();
  const std::string stream_id_ = std::string(16, 's');
  const std::string catalog_hash_ = std::string(32, 'h');
  telemetry::v1::Batch batch_;
  Rejection rejection_;
};

TEST_F(ValidateBatchTest, AcceptsWellFormedBatchAndCountsSamples) {
  auto n = Check();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n.value(), 2u);
}

TEST_F(ValidateBatchTest, RejectsOtherStream) {
  batch_.set_stream_id(std::string(16, 'x'));
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "stream");
}

TEST_F(ValidateBatchTest, RejectsValueCountMismatchNamingSeries) {
  batch_.mutable_series(0)->mutable_int64s()->add_values(1);
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "shape");
  EXPECT_NE(rejection_.message.find("series 0 (signal 3)"), std::string::npos) << rejection_.message;
}

TEST_F(ValidateBatchTest, RejectsTimestampFromTheFutureNamingSample) {
  batch_.mutable_series(0)->set_time_deltas_us(1, 400'000'000);
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "time");
  EXPECT_NE(rejection_.message.find("sample 1"), std::string::npos) << rejection_.message;
}

TEST_F(ValidateBatchTest, RejectsOverflowingDelta) {
  batch_.mutable_series(0)->set_time_deltas_us(1, INT64_MAX);
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "time");
}

TEST_F(ValidateBatchTest, RejectsSeqZero) {
  batch_.set_seq(0);
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "seq");
}

TEST_F(ValidateBatchTest, RejectsAnotherVinNamingBoth) {
  batch_.set_vin("CNVYS000000000002");
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "vin");
  EXPECT_NE(rejection_.message.find("CNVYS000000000002"), std::string::npos) << rejection_.message;
  EXPECT_NE(rejection_.message.find(kVin), std::string::npos) << rejection_.message;
}

TEST_F(ValidateBatchTest, RejectsEmptyVin) {
  batch_.clear_vin();
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.reason, "vin");
  EXPECT_NE(rejection_.message.find("no vin"), std::string::npos) << rejection_.message;
}

TEST_F(ValidateBatchTest, QuotesAClaimedVinEscapedAndCut) {
  batch_.set_vin(std::string("A\n\"") + std::string(100, 'B'));
  ASSERT_FALSE(Check());
  EXPECT_EQ(rejection_.message.find('\n'), std::string::npos) << rejection_.message;
  EXPECT_NE(rejection_.message.find("A\\x0a\\x22BBB"), std::string::npos) << rejection_.message;
  EXPECT_NE(rejection_.message.find("...'"), std::string::npos) << rejection_.message;
  EXPECT_LT(rejection_.message.size(), 150u) << rejection_.message;
}

TEST(PrintableTest, KeepsPrintableAsciiAndEscapesTheRest) {
  EXPECT_EQ(Printable("AB c"), "AB c");
  EXPECT_EQ(Printable(std::string("\x00\xff\\", 3)), "\\x00\\xff\\x5c");
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace canvoy::ingest
