// Element types, their properties and PyTorch's type-promotion lattice.
#pragma once
#include <cstdint>
#include <string>
#include "ctorch/core/half.h"
#include "ctorch/core/macros.h"

namespace ctorch {

enum class DType : int8_t { Bool, UInt8, Int8, Int16, Int32, Int64, Float16, BFloat16, Float32, Float64 };
constexpr int kNumDTypes = 10;

CTORCH_API size_t element_size(DType t);
CTORCH_API const char* dtype_name(DType t);  // "float32", as after "torch."
CTORCH_API DType dtype_from_name(const std::string& name);
inline bool is_floating(DType t) { return t >= DType::Float16; }
inline bool is_integral(DType t, bool include_bool) {
  return t == DType::Bool ? include_bool : t < DType::Float16;
}
inline bool is_signed(DType t) { return t != DType::Bool && t != DType::UInt8; }

CTORCH_API DType promote_types(DType a, DType b);
// Whether casting `from` to `to` is allowed by PyTorch's same-kind rule (e.g. float -> int is not).
CTORCH_API bool can_cast(DType from, DType to);

CTORCH_API DType default_dtype();  // the float dtype for Python floats and float factories
CTORCH_API void set_default_dtype(DType t);

template <class T> struct DTypeOf;
#define CTORCH_DTYPE_OF(T, D) template <> struct DTypeOf<T> { static constexpr DType value = DType::D; };
CTORCH_DTYPE_OF(bool, Bool)
CTORCH_DTYPE_OF(uint8_t, UInt8)
CTORCH_DTYPE_OF(int8_t, Int8)
CTORCH_DTYPE_OF(int16_t, Int16)
CTORCH_DTYPE_OF(int32_t, Int32)
CTORCH_DTYPE_OF(int64_t, Int64)
CTORCH_DTYPE_OF(Half, Float16)
CTORCH_DTYPE_OF(BFloat16, BFloat16)
CTORCH_DTYPE_OF(float, Float32)
CTORCH_DTYPE_OF(double, Float64)
#undef CTORCH_DTYPE_OF

}  // namespace ctorch
