// Errors are values here too (CONVENTIONS.md): the generator's fallible steps return Result<T>.
// A local alias rather than canvoy::common, so this tool links nothing but Boost.
#pragma once

#include <boost/outcome/result.hpp>
#include <string>

namespace canvoy::bench::tsbs {

// The message names the input and what is wrong with it, e.g. "--start '2016-13-01': month 13".
template <class T>
using Result = boost::outcome_v2::result<T, std::string, boost::outcome_v2::policy::terminate>;
using Status = Result<void>;

inline Status Ok() { return boost::outcome_v2::success(); }

}  // namespace canvoy::bench::tsbs
