// A number of unknown type (a Python bool, int or float) before it meets a tensor.
#pragma once
#include <cstdint>
#include "ctorch/core/dtype.h"

namespace ctorch {

class Scalar {
 public:
  enum class Kind : int8_t { Bool, Int, Float };
  Scalar() : Scalar(int64_t(0)) {}
  Scalar(bool v) : kind_(Kind::Bool) { i_ = v; }
  Scalar(int v) : kind_(Kind::Int) { i_ = v; }
  Scalar(int64_t v) : kind_(Kind::Int) { i_ = v; }
  Scalar(double v) : kind_(Kind::Float) { d_ = v; }
  Scalar(float v) : kind_(Kind::Float) { d_ = v; }

  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ == Kind::Int; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  double to_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  int64_t to_int() const { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }
  bool to_bool() const { return kind_ == Kind::Float ? d_ != 0 : i_ != 0; }
  template <class T> T to() const {
    if (kind_ == Kind::Float) return static_cast<T>(static_cast<opmath_t<T>>(d_));
    return static_cast<T>(static_cast<opmath_t<T>>(i_));
  }
  // The dtype a tensor made from this number gets: bool, int64 or the default float.
  DType dtype() const {
    return kind_ == Kind::Bool ? DType::Bool : kind_ == Kind::Int ? DType::Int64 : default_dtype();
  }

 private:
  Kind kind_;
  union { int64_t i_; double d_; };
};

}  // namespace ctorch
