// Autograd from C++: the engine, higher-order gradients, grad modes, hooks and the safety checks.
#include <gtest/gtest.h>
#include <cmath>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
Tensor leaf(std::initializer_list<double> values) {
  Tensor t = empty({static_cast<int64_t>(values.size())}, DType::Float64);
  double* p = t.data<double>();
  for (double v : values) *p++ = v;
  autograd::set_requires_grad(t, true);
  return t;
}
double at(const Tensor& t, int64_t i) { return contiguous(t).data<double>()[i]; }
Tensor ones_like(const Tensor& t) { return ones(t.sizes(), t.dtype()); }
}  // namespace

TEST(Autograd, BackwardAccumulatesIntoLeaves) {
  Tensor x = leaf({1, 2, 3}), w = leaf({0.5, -1, 2});
  Tensor y = relu(x * w + 1.0);
  EXPECT_TRUE(autograd::requires_grad(y));
  EXPECT_EQ(autograd::grad_fn(y)->name(), "ReluBackward0");
  autograd::backward({y}, {ones_like(y)}, false, false);
  // d/dx = w where x*w+1 > 0 (elements 0 and 2), else 0.
  EXPECT_DOUBLE_EQ(at(autograd::grad(x), 0), 0.5);
  EXPECT_DOUBLE_EQ(at(autograd::grad(x), 1), 0.0);
  EXPECT_DOUBLE_EQ(at(autograd::grad(x), 2), 2.0);
  EXPECT_DOUBLE_EQ(at(autograd::grad(w), 2), 3.0);
  autograd::backward({relu(x * w + 1.0)}, {ones_like(y)}, false, false);  // accumulates
  EXPECT_DOUBLE_EQ(at(autograd::grad(w), 2), 6.0);
}

TEST(Autograd, SecondDerivativeThroughCreateGraph) {
  Tensor x = leaf({0.3, 1.2});
  Tensor y = sin(exp(x));
  Tensor g = autograd::grad({y}, {x}, {ones_like(y)}, true, true, false)[0];
  Tensor gg = autograd::grad({g}, {x}, {ones_like(g)}, false, false, false)[0];
  for (int i = 0; i < 2; ++i) {
    double v = at(x, i), e = std::exp(v);
    EXPECT_NEAR(at(g, i), std::cos(e) * e, 1e-12);
    EXPECT_NEAR(at(gg, i), -std::sin(e) * e * e + std::cos(e) * e, 1e-12);
  }
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = leaf({1, 2});
  {
    autograd::NoGradGuard guard;
    EXPECT_FALSE(autograd::requires_grad(exp(x)));
  }
  EXPECT_TRUE(autograd::requires_grad(exp(x)));
  EXPECT_FALSE(autograd::requires_grad(exp(autograd::detach(x))));
}

TEST(Autograd, ModifiedSavedTensorIsCaught) {
  Tensor x = leaf({1, 2});
  Tensor a = x * 1.0;
  Tensor y = exp(a) * a;  // saves a
  mul_(a, Scalar(2.0));
  try {
    autograd::backward({y}, {ones_like(y)}, false, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modified by an inplace operation"), std::string::npos);
  }
}

TEST(Autograd, InPlaceOnLeafAndSecondBackwardRaise) {
  Tensor x = leaf({1, 2});
  EXPECT_THROW(mul_(x, Scalar(2.0)), Error);
  Tensor y = exp(x);
  autograd::backward({y}, {ones_like(y)}, false, false);
  EXPECT_THROW(autograd::backward({y}, {ones_like(y)}, false, false), Error);  // freed graph
}

TEST(Autograd, InPlaceHistoryAndHooks) {
  Tensor x = leaf({1, 2});
  Tensor a = x * 3.0;
  exp_(a);  // a = exp(3x)
  autograd::register_hook(a, [](const Tensor& g) { return g * 2.0; });
  autograd::backward({a}, {ones_like(a)}, false, false);
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(at(autograd::grad(x), i), 2 * 3 * std::exp(3 * at(x, i)), 1e-9);
}

TEST(Autograd, IntegerTensorsCannotRequireGrad) {
  Tensor i = zeros({2}, DType::Int64);
  EXPECT_THROW(autograd::set_requires_grad(i, true), Error);
}

TEST(Autograd, InPlaceOnAViewReachesTheBase) {
  Tensor x = leaf({1, 2, 3, 4, 5, 6});
  Tensor w = leaf({10, 20, 30});
  Tensor root = x * 1.0;
  Tensor base = view(root, {2, 3});  // both views of root
  Tensor row = select(base, 0, 1);   // x[3:6]
  mul_(row, w);                      // base[1] *= w: root's history becomes CopySlices
  EXPECT_EQ(autograd::grad_fn(root)->name(), "CopySlices");
  autograd::backward({sum(base)}, {}, false, false);
  // d/dx: 1 for row 0, w for row 1; d/dw: x[3:6].
  double want_x[] = {1, 1, 1, 10, 20, 30}, want_w[] = {4, 5, 6};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(at(autograd::grad(x), i), want_x[i]);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(at(autograd::grad(w), i), want_w[i]);
}
