// Shape arithmetic: numel, contiguous strides, dim wrapping, broadcasting.
#include "ctorch/core/shape.h"
#include "ctorch/core/error.h"

namespace ctorch {

std::ostream& operator<<(std::ostream& os, IntArrayRef a) {
  os << '[';
  for (size_t i = 0; i < a.size(); ++i) os << (i ? ", " : "") << a[i];
  return os << ']';
}

int64_t shape_numel(IntArrayRef shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    CTORCH_CHECK(s >= 0, "negative dimension ", s, " in shape ", shape);
    CTORCH_CHECK(!__builtin_mul_overflow(n, s, &n), "shape ", shape, " has too many elements");
  }
  return n;
}

DimVector contiguous_strides(IntArrayRef shape) {
  DimVector st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= shape[i] > 1 ? shape[i] : 1;
  }
  return st;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = ndim > 0 ? ndim : 1;  // a 0-d tensor accepts dim 0 and -1
  CTORCH_CHECK_INDEX(dim >= -n && dim < n, "[", op,
                     "] Dimension out of range (expected to be in range of [", -n, ", ", n - 1,
                     "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

DimVector broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  DimVector out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CTORCH_CHECK(da == db || da == 1 || db == 1, "[", op, "] The size of tensor a (", da,
                 ") must match the size of tensor b (", db, ") at non-singleton dimension ", i,
                 "; shapes ", a, " and ", b);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace ctorch
