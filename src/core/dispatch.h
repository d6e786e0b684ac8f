// Calls a generic lambda with a tag for the C++ type of a dtype: f(TypeTag<float>{}).
#pragma once
#include "ctorch/core/dtype.h"
#include "ctorch/core/error.h"

namespace ctorch {

template <class T> struct TypeTag { using type = T; };

template <class F>
void dispatch_floating(DType t, const char* op, const F& f) {
  switch (t) {
    case DType::Float16: return f(TypeTag<Half>{});
    case DType::BFloat16: return f(TypeTag<BFloat16>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    default: CTORCH_FAIL("\"", op, "\" not implemented for '", dtype_name(t), "'");
  }
}
template <class F>
void dispatch_integral(DType t, const char* op, const F& f) {
  switch (t) {
    case DType::Bool: return f(TypeTag<bool>{});
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::Int8: return f(TypeTag<int8_t>{});
    case DType::Int16: return f(TypeTag<int16_t>{});
    case DType::Int32: return f(TypeTag<int32_t>{});
    case DType::Int64: return f(TypeTag<int64_t>{});
    default: CTORCH_FAIL("\"", op, "\" not implemented for '", dtype_name(t), "'");
  }
}

// The dtypes max/min-style kernels are built for: every ordered dtype except bool and the 16-bit
// floats (callers compute those in float).
template <class F>
void dispatch_ordered(DType t, const char* op, const F& f) {
  switch (t) {
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::Int8: return f(TypeTag<int8_t>{});
    case DType::Int16: return f(TypeTag<int16_t>{});
    case DType::Int32: return f(TypeTag<int32_t>{});
    case DType::Int64: return f(TypeTag<int64_t>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    default:
      throw_error(ErrorKind::NotImplemented, str_cat("\"", op, "\" not implemented for '", dtype_name(t), "'"));
  }
}

// Moves of raw elements (gather, scatter, copies by index) need only the element's size.
template <class F>
void dispatch_by_size(size_t elsize, const F& f) {
  switch (elsize) {
    case 1: return f(TypeTag<uint8_t>{});
    case 2: return f(TypeTag<uint16_t>{});
    case 4: return f(TypeTag<uint32_t>{});
    case 8: return f(TypeTag<uint64_t>{});
    default: CTORCH_FAIL("unsupported element size ", elsize);
  }
}

template <class F>
void dispatch_all(DType t, const F& f) {
  if (is_floating(t)) dispatch_floating(t, "", f);
  else dispatch_integral(t, "", f);
}

}  // namespace ctorch
