#include "canvoy/agent/catalog.h"

#include <gtest/gtest.h>

#include "canvoy/agent/decoder.h"
#include "canvoy/common/hash.h"
#include "test_data.h"

namespace canvoy::agent {
namespace {

namespace tv1 = ::canvoy::telemetry::v1;
using testing::ParseOrDie;

constexpr std::string_view kDbc =
    "BO_ 10 Engine: 8 X\n"
    " SG_ Rpm : 0|16@1+ (1,0) [0|0] \"rpm\" X\n"
    " SG_ Temp : 16|8@1+ (0.5,-40) [0|0] \"\xB0"
    "C\" X\n"
    "BO_ 11 Odo: 8 X\n"
    " SG_ Total : 0|64@1+ (1,0) [0|0] \"m\" X\n";

BuiltCatalog BuildOrDie(const std::vector<DbcDatabase>& dbs, const NameMapping* mapping = nullptr) {
  auto built = BuildCatalog(dbs, mapping);
  EXPECT_TRUE(built) << built.error().message();
  return built ? std::move(built).value() : BuiltCatalog{};
}

TEST(CatalogTest, SignalsGetIdsOneToNInDbcOrderWithNamesTypesAndUnits) {
  const BuiltCatalog built = BuildOrDie({ParseOrDie(kDbc)});
  const auto& signals = built.catalog.signals();
  ASSERT_EQ(signals.size(), 3);
  EXPECT_EQ(signals[0].id(), 1u);
  EXPECT_EQ(signals[0].name(), "Engine.Rpm");
  EXPECT_EQ(signals[0].type(), tv1::SIGNAL_TYPE_INT64);
  EXPECT_EQ(signals[0].unit(), "rpm");
  EXPECT_EQ(signals[0].dbc_message(), "Engine");
  EXPECT_EQ(signals[0].dbc_signal(), "Rpm");
  EXPECT_TRUE(signals[0].policy().has_every_sample());
  EXPECT_EQ(signals[1].id(), 2u);
  EXPECT_EQ(signals[1].type(), tv1::SIGNAL_TYPE_DOUBLE);
  EXPECT_EQ(signals[1].unit(),
            "\xC2\xB0"
            "C");  // Latin-1 degree sign, now UTF-8
  EXPECT_EQ(signals[2].name(), "Odo.Total");
  EXPECT_EQ(signals[2].type(), tv1::SIGNAL_TYPE_UINT64);
}

TEST(CatalogTest, HashIsSha256OfTheDeterministicSerialization) {
  const BuiltCatalog built = BuildOrDie({ParseOrDie(kDbc)});
  EXPECT_EQ(built.hash.size(), 32u);
  EXPECT_EQ(built.hash, CatalogHash(built.catalog));
  std::string bytes;
  ASSERT_TRUE(built.catalog.SerializeToString(&bytes));
  EXPECT_EQ(built.hash, Sha256(bytes));  // no map fields: deterministic equals plain here
  EXPECT_EQ(BuildOrDie({ParseOrDie(kDbc)}).hash, built.hash);
}

TEST(CatalogTest, HashChangesWithAnyDescriptorField) {
  const BuiltCatalog built = BuildOrDie({ParseOrDie(kDbc)});
  tv1::Catalog changed = built.catalog;
  changed.mutable_signals(1)->set_unit("K");
  EXPECT_NE(CatalogHash(changed), built.hash);
  changed = built.catalog;
  changed.mutable_signals(0)->set_id(7);
  EXPECT_NE(CatalogHash(changed), built.hash);
}

TEST(CatalogTest, SignalIdMapFindsTheIdOfEveryDecodedSignal) {
  std::vector<DbcDatabase> dbs = {ParseOrDie(kDbc)};
  const BuiltCatalog built = BuildOrDie(dbs);
  auto decoder = Decoder::Create(dbs);
  ASSERT_TRUE(decoder);
  CanFrame frame;
  frame.id = 11;
  frame.len = 8;
  DecodedFrame out = decoder.value().MakeFrameBuffer();
  ASSERT_EQ(decoder.value().Decode(frame, &out), DecodeOutcome::kDecoded);
  EXPECT_EQ(built.ids.Find(out.message_ref(), out.signals()[0].signal_index), 3u);
  EXPECT_EQ(built.ids.Find({0, 0}, 1), 2u);
  EXPECT_EQ(built.ids.Find({0, 5}, 0), SignalIdMap::kNone);
  EXPECT_EQ(built.ids.Find({3, 0}, 0), SignalIdMap::kNone);
}

TEST(CatalogTest, ShadowedMessagesAreLeftOutAndRepeatedNamesGetTheirId) {
  std::vector<DbcDatabase> dbs = {
      ParseOrDie(kDbc, "a.dbc"),
      ParseOrDie("BO_ 10 Other: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] \"\" X\n"
                 "BO_ 12 Engine: 8 X\n SG_ Rpm : 0|8@1+ (1,0) [0|0] \"\" X\n",
                 "b.dbc")};
  const BuiltCatalog built = BuildOrDie(dbs);
  ASSERT_EQ(built.catalog.signals_size(), 4);
  EXPECT_EQ(built.catalog.signals(3).name(), "Engine_0xC.Rpm");
  EXPECT_EQ(built.ids.Find({1, 0}, 0), SignalIdMap::kNone);  // Other (id 10) loses to Engine
  EXPECT_EQ(built.ids.Find({1, 1}, 0), 4u);
}

TEST(CatalogTest, MappingFileRenamesSignals) {
  auto mapping = NameMapping::Parse("# VSS names\nEngine.Rpm = Vehicle.Powertrain.Engine.Speed\n\n",
                                    "map.txt");
  ASSERT_TRUE(mapping) << mapping.error().message();
  const BuiltCatalog built = BuildOrDie({ParseOrDie(kDbc)}, &mapping.value());
  EXPECT_EQ(built.catalog.signals(0).name(), "Vehicle.Powertrain.Engine.Speed");
  EXPECT_EQ(built.catalog.signals(0).dbc_signal(), "Rpm");
  EXPECT_EQ(built.catalog.signals(1).name(), "Engine.Temp");
}

TEST(CatalogTest, MappingErrorsNameTheLine) {
  auto mapping = NameMapping::Parse("Engine.Rpm = A\nnonsense\n", "map.txt");
  ASSERT_FALSE(mapping);
  EXPECT_EQ(mapping.error().message().rfind("map.txt:2: ", 0), 0u) << mapping.error().message();
  mapping = NameMapping::Parse("Engine.Rpm = A\nEngine.Rpm = B\n", "map.txt");
  ASSERT_FALSE(mapping);
  EXPECT_EQ(mapping.error().message().rfind("map.txt:2: ", 0), 0u);
}

TEST(CatalogTest, TwoSignalsMappedToOneNameIsAnError) {
  auto mapping = NameMapping::Parse("Engine.Rpm = X\nEngine.Temp = X\n", "map.txt");
  ASSERT_TRUE(mapping);
  auto built = BuildCatalog(std::vector<DbcDatabase>{ParseOrDie(kDbc)}, &mapping.value());
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().message().find("catalog name X"), std::string::npos);
}

TEST(CatalogTest, RavPowertrainCatalogCoversEverySignal) {
  const DbcDatabase db = testing::LoadDbcOrDie("opendbc_toyota_new_mc_pt_generated.dbc");
  std::size_t signals = 0;
  for (const auto& m : db.messages) signals += m.signals.size();
  const BuiltCatalog built = BuildOrDie({db});
  EXPECT_EQ(static_cast<std::size_t>(built.catalog.signals_size()), signals);
  EXPECT_EQ(built.catalog.signals(built.catalog.signals_size() - 1).id(), signals);
}

}  // namespace
}  // namespace canvoy::agent
