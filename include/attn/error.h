// attn/error.h — the error hierarchy and ATTN_CHECK.
//
//   ATTN_CHECK(q.dim() == 4, ShapeError, "attention: q must be [B,H,T,D], got {}", shape_str(q.shape()));
//
// The public API throws only attn::Error subclasses. A message names the object and both values
// ("decoder.layers.0.q_proj.weight: file has [768,2304], model wants [768,768]"). ATTN_CHECK is always
// on; ATTN_DCHECK only in debug and sanitizer builds. Kernels never throw: ops check, kernels compute.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace attn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Shapes, dtypes or ranks that do not fit together.
class ShapeError : public Error { public: using Error::Error; };
// A file whose bytes break its format's rules.
class FormatError : public Error { public: using Error::Error; };
// A configuration (model config, options) that is unknown or contradictory.
class ConfigError : public Error { public: using Error::Error; };
// A file that cannot be opened, read, written or renamed.
class IoError : public Error { public: using Error::Error; };
// An argument outside its allowed range (not a shape problem).
class ValueError : public Error { public: using Error::Error; };

namespace detail {
template <class E>
[[noreturn]] void throw_error(std::string message) {
  throw E(std::move(message));
}
}  // namespace detail

}  // namespace attn

#define ATTN_CHECK(cond, ErrorType, ...)                                                  \
  do {                                                                                    \
    if (!(cond)) [[unlikely]]                                                             \
      ::attn::detail::throw_error<::attn::ErrorType>(::fmt::format(__VA_ARGS__));         \
  } while (0)

#if defined(ATTN_DEBUG_CHECKS)
#define ATTN_DCHECK(cond, ErrorType, ...) ATTN_CHECK(cond, ErrorType, __VA_ARGS__)
#else
#define ATTN_DCHECK(cond, ErrorType, ...) \
  do {                                    \
  } while (0)
#endif
