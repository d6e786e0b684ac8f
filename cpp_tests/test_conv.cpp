// Convolutions from C++: conv2d / conv1d / conv_transpose2d against direct loops, gradients against
// finite differences, and the argument checks.
#include <gtest/gtest.h>
#include <cmath>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
double conv_at(const Tensor& t, std::initializer_list<int64_t> idx) {
  Tensor c = contiguous(t);
  int64_t off = 0, d = 0;
  for (int64_t i : idx) off += i * c.stride(d++);
  return c.data<double>()[off];
}

// y[n, o, i, j] = b[o] + sum x[n, g*Cg + c, i*s - p + ki*dl, j*s - p + kj*dl] w[o, c, ki, kj]
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t s, int64_t p, int64_t dl,
                     int64_t groups) {
  int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  int64_t O = w.size(0), Cg = w.size(1), KH = w.size(2), KW = w.size(3), Og = O / groups;
  int64_t HO = (H + 2 * p - dl * (KH - 1) - 1) / s + 1, WO = (W + 2 * p - dl * (KW - 1) - 1) / s + 1;
  Tensor y = zeros({N, O, HO, WO}, DType::Float64);
  double* py = y.data<double>();
  (void)C;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < HO; ++i)
        for (int64_t j = 0; j < WO; ++j) {
          double acc = b.defined() ? conv_at(b, {o}) : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t ki = 0; ki < KH; ++ki)
              for (int64_t kj = 0; kj < KW; ++kj) {
                int64_t ih = i * s - p + ki * dl, iw = j * s - p + kj * dl;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += conv_at(x, {n, (o / Og) * Cg + c, ih, iw}) * conv_at(w, {o, c, ki, kj});
              }
          py[((n * O + o) * HO + i) * WO + j] = acc;
        }
  return y;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  Tensor d = contiguous(abs(a - b));
  double m = 0;
  for (int64_t i = 0; i < d.numel(); ++i) m = std::max(m, d.data<double>()[i]);
  return m;
}
}  // namespace

TEST(Conv, Conv2dMatchesDirectLoops) {
  manual_seed(1);
  struct Case { int64_t C, O, K, s, p, d, g; };
  for (Case c : {Case{3, 4, 3, 1, 1, 1, 1}, Case{4, 6, 3, 2, 0, 2, 2}, Case{4, 4, 1, 1, 0, 1, 4},
                 Case{2, 3, 5, 3, 2, 1, 1}}) {
    Tensor x = randn({3, c.C, 9, 8}, DType::Float64);
    Tensor w = randn({c.O, c.C / c.g, c.K, c.K}, DType::Float64);
    Tensor b = randn({c.O}, DType::Float64);
    Tensor y = conv2d(x, w, b, {c.s}, {c.p}, {c.d}, c.g);
    EXPECT_LT(max_abs_diff(y, direct_conv2d(x, w, b, c.s, c.p, c.d, c.g)), 1e-12);
    // float32 through the same kernels
    Tensor yf = conv2d(x.to(DType::Float32), w.to(DType::Float32), b.to(DType::Float32), {c.s}, {c.p},
                       {c.d}, c.g);
    EXPECT_LT(max_abs_diff(yf.to(DType::Float64), y), 1e-4);
  }
}

TEST(Conv, Conv1dIsConv2dWithUnitHeight) {
  manual_seed(2);
  Tensor x = randn({2, 4, 11}, DType::Float64), w = randn({6, 2, 3}, DType::Float64);
  Tensor y1 = conv1d(x, w, Tensor(), {2}, {1}, {1}, 2);
  Tensor y2 = conv2d(unsqueeze(x, 2), unsqueeze(w, 2), Tensor(), {1, 2}, {0, 1}, {1, 1}, 2);
  EXPECT_LT(max_abs_diff(unsqueeze(y1, 2), y2), 1e-13);
}

TEST(Conv, TransposeIsTheAdjointOfConv) {
  // <conv2d(x, w), g> == <x, conv_transpose2d(g, w)> for matching stride/padding/dilation/groups
  manual_seed(3);
  Tensor x = randn({2, 4, 7, 9}, DType::Float64), w = randn({6, 2, 3, 2}, DType::Float64);
  Tensor y = conv2d(x, w, Tensor(), {2, 1}, {1, 0}, {1, 2}, 2);
  Tensor g = randn(y.sizes(), DType::Float64);
  int64_t op_h = 7 - ((y.size(2) - 1) * 2 - 2 + 1 * (3 - 1) + 1);
  int64_t op_w = 9 - ((y.size(3) - 1) * 1 - 0 + 2 * (2 - 1) + 1);
  Tensor xt = conv_transpose2d(g, w, Tensor(), {2, 1}, {1, 0}, {op_h, op_w}, 2, {1, 2});
  ASSERT_EQ(xt.sizes(), x.sizes());
  double lhs = sum(y * g).item<double>(), rhs = sum(x * xt).item<double>();
  EXPECT_NEAR(lhs, rhs, 1e-10 * std::max(1.0, std::abs(lhs)));
}

TEST(Conv, GradientsMatchFiniteDifferences) {
  manual_seed(4);
  Tensor x = randn({2, 2, 5, 4}, DType::Float64), w = randn({3, 2, 3, 3}, DType::Float64);
  Tensor b = randn({3}, DType::Float64);
  for (Tensor* t : {&x, &w, &b}) autograd::set_requires_grad(*t, true);
  auto f = [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    Tensor y = conv2d(xx, ww, bb, {1}, {1}, {1}, 1);
    return sum(y * y);
  };
  Tensor loss = f(x, w, b);
  EXPECT_EQ(autograd::grad_fn(conv2d(x, w, b, {1}, {1}, {1}, 1))->name(), "ConvolutionBackward0");
  auto gs = autograd::grad({loss}, {x, w, b}, {}, false, false, false);
  const double eps = 1e-6;
  for (int which = 0; which < 3; ++which) {
    Tensor base = which == 0 ? x : which == 1 ? w : b;
    for (int64_t i = 0; i < base.numel(); i += 7) {
      Tensor plus = clone(autograd::detach(base)), minus = clone(autograd::detach(base));
      plus.data<double>()[i] += eps;
      minus.data<double>()[i] -= eps;
      auto eval = [&](const Tensor& t) {
        autograd::NoGradGuard ng;
        return f(which == 0 ? t : x, which == 1 ? t : w, which == 2 ? t : b).item<double>();
      };
      double fd = (eval(plus) - eval(minus)) / (2 * eps);
      EXPECT_NEAR(contiguous(gs[which]).data<double>()[i], fd, 1e-5 * std::max(1.0, std::abs(fd)));
    }
  }
}

TEST(Conv, BadArgumentsThrow) {
  Tensor x = randn({2, 4, 5, 5}), w = randn({6, 4, 3, 3});
  EXPECT_THROW(conv2d(x, randn({6, 3, 3, 3})), Error);                     // channels
  EXPECT_THROW(conv2d(x, w, Tensor(), {0}), Error);                        // stride
  EXPECT_THROW(conv2d(x, randn({6, 4, 7, 7})), Error);                     // kernel too large
  EXPECT_THROW(conv2d(x, randn({5, 2, 3, 3}), Tensor(), {1}, {0}, {1}, 2), Error);  // groups
  EXPECT_THROW(conv2d(randn({5, 5}), w), Error);                           // rank
  EXPECT_THROW(conv2d_padding(x, w, Tensor(), {2}, "same", {1}, 1), Error);
  EXPECT_THROW(conv_transpose2d(x, randn({4, 3, 3, 3}), Tensor(), {1}, {0}, {1}), Error);  // output_padding
}
