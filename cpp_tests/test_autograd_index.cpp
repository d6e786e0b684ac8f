// Autograd of the index ops from C++: subscripts as views, advanced indexing with repeated indices,
// index_put_ on a tensor that needs no gradient, scatter/gather second derivatives, leaf checks.
#include <gtest/gtest.h>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
Tensor leaf_of(std::initializer_list<double> values, IntArrayRef shape) {
  Tensor t = empty(shape, DType::Float64);  // not a view: a leaf of its own
  double* p = t.data<double>();
  for (double v : values) *p++ = v;
  autograd::set_requires_grad(t, true);
  return t;
}
Tensor long_of(std::initializer_list<int64_t> values) {
  Tensor t = empty({static_cast<int64_t>(values.size())}, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t v : values) *p++ = v;
  return t;
}
double at(const Tensor& t, int64_t i) { return contiguous(t).data<double>()[i]; }
Tensor ones_like(const Tensor& t) { return ones(t.sizes(), t.dtype()); }
}  // namespace

TEST(AutogradIndex, BasicSubscriptIsARecordedView) {
  Tensor x = leaf_of({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor v = index(x, {TensorIndex(1), TensorIndex(Slice{int64_t(1), std::nullopt, 1})});
  EXPECT_EQ(autograd::grad_fn(v)->name(), "SliceBackward0");
  EXPECT_EQ(v.storage(), x.storage());  // a view, not a copy
  autograd::backward({v}, {ones_like(v)}, false, false);
  Tensor g = autograd::grad(x);
  const double expected[] = {0, 0, 0, 0, 1, 1};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(at(g, i), expected[i]);
}

TEST(AutogradIndex, RepeatedIndicesAccumulate) {
  Tensor x = leaf_of({1, 2, 3, 4}, {4});
  Tensor y = advanced_index(x, {long_of({2, 2, -1, 2})});
  EXPECT_EQ(autograd::grad_fn(y)->name(), "IndexBackward0");
  autograd::backward({y}, {ones_like(y)}, false, false);
  Tensor g = autograd::grad(x);
  EXPECT_DOUBLE_EQ(at(g, 2), 3.0);
  EXPECT_DOUBLE_EQ(at(g, 3), 1.0);
  EXPECT_DOUBLE_EQ(at(g, 0), 0.0);
}

TEST(AutogradIndex, IndexPutIntoZerosGivesValuesAGradient) {
  Tensor w = leaf_of({1, 2}, {2});
  Tensor out = zeros({5}, DType::Float64);
  index_put_(out, {TensorIndex(long_of({4, 1}))}, w * 3.0);
  EXPECT_EQ(autograd::grad_fn(out)->name(), "IndexPutBackward0");
  Tensor go = arange(Scalar(0.0), Scalar(5.0), Scalar(1.0), DType::Float64);
  autograd::backward({out}, {go}, false, false);
  EXPECT_DOUBLE_EQ(at(autograd::grad(w), 0), 12.0);  // 3 * go[4]
  EXPECT_DOUBLE_EQ(at(autograd::grad(w), 1), 3.0);   // 3 * go[1]
}

TEST(AutogradIndex, GatherSecondDerivative) {
  // y = sum(gather(x, 0, i)^2): dy/dx = scatter_add(2 * gathered), d2y/dx2 = 2 * count(i).
  Tensor x = leaf_of({1, 2, 3}, {3});
  Tensor i = long_of({0, 0, 2});
  Tensor y = square(gather(x, 0, i));
  Tensor g = autograd::grad({y}, {x}, {ones_like(y)}, true, true, false)[0];
  EXPECT_DOUBLE_EQ(at(g, 0), 4.0);
  Tensor gg = autograd::grad({g}, {x}, {ones_like(g)}, false, false, false)[0];
  EXPECT_DOUBLE_EQ(at(gg, 0), 4.0);
  EXPECT_DOUBLE_EQ(at(gg, 1), 0.0);
  EXPECT_DOUBLE_EQ(at(gg, 2), 2.0);
}

TEST(AutogradIndex, InPlaceOnLeafRaises) {
  Tensor w = leaf_of({1, 2, 3}, {3});
  EXPECT_THROW(index_put_(w, {TensorIndex(0)}, Scalar(1.0)), Error);
  EXPECT_THROW(scatter_(w, 0, long_of({0}), Scalar(1.0)), Error);
  {
    autograd::NoGradGuard guard;
    index_put_(w, {TensorIndex(0)}, Scalar(7.0));
  }
  EXPECT_DOUBLE_EQ(at(w, 0), 7.0);
  EXPECT_TRUE(autograd::is_leaf(w));
}
