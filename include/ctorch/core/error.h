// Error types and check macros; each kind maps to the Python exception PyTorch raises.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include "ctorch/core/macros.h"

namespace ctorch {

enum class ErrorKind { Runtime, Index, Value, Type, NotImplemented, OutOfMemory };

class CTORCH_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

[[noreturn]] CTORCH_API void throw_error(ErrorKind kind, const std::string& msg);

}  // namespace ctorch

#define CTORCH_CHECK_KIND(kind, cond, ...) \
  do {                                     \
    if (!(cond)) ::ctorch::throw_error(kind, ::ctorch::str_cat(__VA_ARGS__)); \
  } while (0)
#define CTORCH_CHECK(cond, ...) CTORCH_CHECK_KIND(::ctorch::ErrorKind::Runtime, cond, __VA_ARGS__)
#define CTORCH_CHECK_INDEX(cond, ...) CTORCH_CHECK_KIND(::ctorch::ErrorKind::Index, cond, __VA_ARGS__)
#define CTORCH_CHECK_VALUE(cond, ...) CTORCH_CHECK_KIND(::ctorch::ErrorKind::Value, cond, __VA_ARGS__)
#define CTORCH_CHECK_TYPE(cond, ...) CTORCH_CHECK_KIND(::ctorch::ErrorKind::Type, cond, __VA_ARGS__)
#define CTORCH_FAIL(...) ::ctorch::throw_error(::ctorch::ErrorKind::Runtime, ::ctorch::str_cat(__VA_ARGS__))
