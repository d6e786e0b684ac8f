// dtype names, sizes and PyTorch's promotion table.
#include "ctorch/core/dtype.h"
#include "ctorch/core/error.h"

namespace ctorch {

namespace {
const char* const kNames[kNumDTypes] = {"bool",    "uint8",    "int8",     "int16",   "int32",
                                        "int64",   "float16",  "bfloat16", "float32", "float64"};
const size_t kSizes[kNumDTypes] = {1, 1, 1, 2, 4, 8, 2, 2, 4, 8};
DType g_default_dtype = DType::Float32;
}  // namespace

size_t element_size(DType t) { return kSizes[static_cast<int>(t)]; }
const char* dtype_name(DType t) { return kNames[static_cast<int>(t)]; }

DType dtype_from_name(const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (name == kNames[i]) return static_cast<DType>(i);
  static const struct { const char* alias; DType t; } aliases[] = {
      {"half", DType::Float16}, {"float", DType::Float32}, {"double", DType::Float64},
      {"short", DType::Int16},  {"int", DType::Int32},     {"long", DType::Int64}};
  for (auto& a : aliases)
    if (name == a.alias) return a.t;
  throw_error(ErrorKind::Type, "unknown dtype '" + name + "'");
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  // Table over (b, u1, i1, i2, i4, i8, f2, bf, f4, f8), as in PyTorch.
  constexpr DType b1 = DType::Bool, u1 = DType::UInt8, i1 = DType::Int8, i2 = DType::Int16,
                  i4 = DType::Int32, i8 = DType::Int64, f2 = DType::Float16,
                  bf = DType::BFloat16, f4 = DType::Float32, f8 = DType::Float64;
  static const DType table[kNumDTypes][kNumDTypes] = {
      /* b1 */ {b1, u1, i1, i2, i4, i8, f2, bf, f4, f8},
      /* u1 */ {u1, u1, i2, i2, i4, i8, f2, bf, f4, f8},
      /* i1 */ {i1, i2, i1, i2, i4, i8, f2, bf, f4, f8},
      /* i2 */ {i2, i2, i2, i2, i4, i8, f2, bf, f4, f8},
      /* i4 */ {i4, i4, i4, i4, i4, i8, f2, bf, f4, f8},
      /* i8 */ {i8, i8, i8, i8, i8, i8, f2, bf, f4, f8},
      /* f2 */ {f2, f2, f2, f2, f2, f2, f2, f4, f4, f8},
      /* bf */ {bf, bf, bf, bf, bf, bf, f4, bf, f4, f8},
      /* f4 */ {f4, f4, f4, f4, f4, f4, f4, f4, f4, f8},
      /* f8 */ {f8, f8, f8, f8, f8, f8, f8, f8, f8, f8},
  };
  return table[static_cast<int>(a)][static_cast<int>(b)];
}

bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::Bool && to == DType::Bool) return false;
  return true;
}

DType default_dtype() { return g_default_dtype; }
void set_default_dtype(DType t) {
  CTORCH_CHECK_TYPE(t == DType::Float32 || t == DType::Float64 || t == DType::Float16 ||
                        t == DType::BFloat16,
                    "only floating-point types are supported as the default type, got ",
                    dtype_name(t));
  g_default_dtype = t;
}

}  // namespace ctorch
