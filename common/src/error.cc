#include "canvoy/common/error.h"

namespace canvoy {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "canvoy"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::kInvalidArgument: return "invalid argument";
      case Errc::kParse: return "parse error";
      case Errc::kIo: return "i/o error";
      case Errc::kNotFound: return "not found";
      case Errc::kTls: return "tls error";
      case Errc::kKafka: return "kafka error";
      case Errc::kStorage: return "storage error";
      case Errc::kUnavailable: return "unavailable";
      case Errc::kRejected: return "rejected";
      case Errc::kInternal: return "internal error";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& CanvoyCategory() {
  static const Category category;
  return category;
}

std::string Error::ToString() const {
  return CanvoyCategory().message(static_cast<int>(code_)) + ": " + message_;
}

Error Error::WithContext(const std::string& context) const {
  return Error(code_, context + ": " + message_);
}

}  // namespace canvoy
