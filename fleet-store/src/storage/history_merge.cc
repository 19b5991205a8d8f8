// The history column family's merge operator (history_block.h): operands are blocks, folded
// by concatenation and compacted by CompactBlock.
#include <rocksdb/merge_operator.h>

#include <deque>
#include <string>
#include <utility>

#include "storage/history_block.h"

namespace canvoy::fleet_store::storage {
namespace {

class HistoryMergeOperator final : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "canvoy.history.v1"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::string& value = out->new_value;
    value.clear();
    std::size_t size = in.existing_value ? in.existing_value->size() : 0;
    for (const auto& operand : in.operand_list) size += operand.size();
    value.reserve(size);
    if (in.existing_value) value.append(in.existing_value->data(), in.existing_value->size());
    for (const auto& operand : in.operand_list) value.append(operand.data(), operand.size());
    const auto chunks = CountChunks(value);
    if (!chunks) return false;
    if (chunks.value() <= 1) return true;
    auto compacted = CompactBlock(value);
    if (!compacted) return false;
    value = std::move(compacted).value();
    return true;
  }

  bool PartialMerge(const rocksdb::Slice& /*key*/, const rocksdb::Slice& left,
                    const rocksdb::Slice& right, std::string* new_value,
                    rocksdb::Logger* /*logger*/) const override {
    new_value->assign(left.data(), left.size());
    new_value->append(right.data(), right.size());
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    new_value->clear();
    for (const auto& operand : operands) new_value->append(operand.data(), operand.size());
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewHistoryMergeOperator() {
  return std::make_shared<HistoryMergeOperator>();
}

}  // namespace canvoy::fleet_store::storage
