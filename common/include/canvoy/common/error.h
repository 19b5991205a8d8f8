// Errors are values: fallible functions return Result<T> (or Status), never bool plus a log line.
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <boost/outcome/result.hpp>

namespace canvoy {

// Error codes shared by every component. Messages name the input and the position.
enum class Errc {
  kInvalidArgument = 1,  // bad configuration or option
  kParse,                // malformed input: "file:line:col: what"
  kIo,                   // file or socket failure
  kNotFound,
  kTls,
  kKafka,
  kStorage,
  kUnavailable,          // retryable: a peer or dependency is not there yet
  kRejected,             // a peer refused what we sent
  kInternal,
};

const std::error_category& CanvoyCategory();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), CanvoyCategory()}; }

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>"
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <message>".
  Error WithContext(const std::string& context) const;

 private:
  Errc code_;
  std::string message_;
};

template <class T>
using Result = boost::outcome_v2::result<T, Error, boost::outcome_v2::policy::terminate>;
using Status = Result<void>;

inline Status OkStatus() { return boost::outcome_v2::success(); }

}  // namespace canvoy

template <>
struct std::is_error_code_enum<canvoy::Errc> : std::true_type {};

// Returns the error of `expr` (a Result) from the enclosing function; otherwise goes on.
#define CANVOY_RETURN_IF_ERROR(expr)              \
  do {                                            \
    auto canvoy_status_ = (expr);                 \
    if (!canvoy_status_) return canvoy_status_.error(); \
  } while (false)

#define CANVOY_CONCAT_INNER_(a, b) a##b
#define CANVOY_CONCAT_(a, b) CANVOY_CONCAT_INNER_(a, b)
// CANVOY_ASSIGN_OR_RETURN(auto x, Foo()); binds x to Foo()'s value or returns its error.
#define CANVOY_ASSIGN_OR_RETURN(lhs, expr) \
  CANVOY_ASSIGN_OR_RETURN_IMPL_(CANVOY_CONCAT_(canvoy_result_, __LINE__), lhs, expr)
#define CANVOY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return tmp.error();                       \
  lhs = std::move(tmp).value()
