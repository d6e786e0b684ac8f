// Reductions, scans, softmax and sorting through the C++ API (no Python).
#include <gtest/gtest.h>
#include <cmath>
#include <limits>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
Tensor from(std::initializer_list<float> v, std::vector<int64_t> shape) {
  Tensor t = empty(shape, DType::Float32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}
std::vector<float> vals(const Tensor& t) {
  Tensor c = contiguous(t.to(DType::Float32));
  return {c.data<float>(), c.data<float>() + c.numel()};
}
std::vector<int64_t> ivals(const Tensor& t) {
  Tensor c = contiguous(t.to(DType::Int64));
  return {c.data<int64_t>(), c.data<int64_t>() + c.numel()};
}
}  // namespace

TEST(Reduce, SumMeanProdOverDims) {
  Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(vals(sum(x)), std::vector<float>{21});
  EXPECT_EQ(vals(sum(x, {0})), (std::vector<float>{5, 7, 9}));
  Tensor k = sum(x, {-1}, true);
  EXPECT_EQ(k.sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(vals(k), (std::vector<float>{6, 15}));
  EXPECT_EQ(vals(mean(x, {1})), (std::vector<float>{2, 5}));
  EXPECT_EQ(vals(prod(x, 1)), (std::vector<float>{6, 120}));
  EXPECT_EQ(vals(sum(ctorch::t(x), {0})), (std::vector<float>{6, 15}));  // transposed input
  Tensor i = ones({4}, DType::Int32);
  EXPECT_EQ(sum(i).dtype(), DType::Int64);
  EXPECT_EQ(sum(i, {}, false, DType::Float64).dtype(), DType::Float64);
}

TEST(Reduce, LongFloatSumIsExact) {
  Tensor x = ones({int64_t(1) << 24});
  EXPECT_EQ(sum(x).item<double>(), double(int64_t(1) << 24));
}

TEST(Reduce, EmptyInputs) {
  Tensor e = zeros({0, 3});
  EXPECT_EQ(vals(sum(e, {0})), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(vals(prod(e, 0)), (std::vector<float>{1, 1, 1}));
  EXPECT_TRUE(std::isnan(mean(e).item<double>()));
  try {
    amax(e, {0});
    FAIL() << "amax over an empty dim must throw";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::Index);
  }
  EXPECT_THROW(max(e), Error);
}

TEST(Reduce, MaxMinArgNaN) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from({1, nan, 3, 7, 5, 6}, {2, 3});
  EXPECT_TRUE(std::isnan(max(x).item<double>()));
  auto [v, i] = max(x, 1);
  EXPECT_TRUE(std::isnan(vals(v)[0]));
  EXPECT_EQ(vals(v)[1], 7);
  EXPECT_EQ(ivals(i), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(ivals(argmin(x, 1)), (std::vector<int64_t>{1, 1}));  // NaN counts as the minimum
  EXPECT_EQ(argmax(from({1, 9, 9}, {3})).item<int64_t>(), 1);  // first of ties
  EXPECT_THROW(sum(x, {2}), Error);
}

TEST(Reduce, VarStdNorm) {
  Tensor x = from({1, 2, 3, 4}, {4});
  EXPECT_NEAR(var(x).item<double>(), 1.6666667, 1e-6);
  EXPECT_NEAR(ctorch::std(x, {}, 0).item<double>(), std::sqrt(1.25), 1e-6);
  auto [v, m] = var_mean(x);
  EXPECT_NEAR(m.item<double>(), 2.5, 1e-6);
  EXPECT_NEAR(vector_norm(x).item<double>(), std::sqrt(30.0), 1e-5);
  EXPECT_NEAR(vector_norm(x, 1).item<double>(), 10, 1e-6);
  EXPECT_NEAR(vector_norm(x, INFINITY).item<double>(), 4, 1e-6);
  EXPECT_NEAR(vector_norm(x, 3).item<double>(), std::cbrt(100.0), 1e-5);
  EXPECT_NEAR(logsumexp(from({1000, 1000}, {2}), {0}).item<double>(), 1000 + std::log(2.0), 1e-3);
}

TEST(Reduce, ScansAndSoftmax) {
  Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(vals(cumsum(x, 1)), (std::vector<float>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(vals(cumprod(x, 0)), (std::vector<float>{1, 2, 3, 4, 10, 18}));
  EXPECT_EQ(cumsum(ones({3}, DType::Int8), 0).dtype(), DType::Int64);
  for (int64_t dim : {0, 1}) {
    Tensor s = softmax(x, dim);
    std::vector<float> tot = vals(sum(s, {dim}));
    for (float t : tot) EXPECT_NEAR(t, 1.0f, 1e-6);
    std::vector<float> ls = vals(log_softmax(x, dim)), sv = vals(s);
    for (size_t i = 0; i < ls.size(); ++i) EXPECT_NEAR(std::exp(ls[i]), sv[i], 1e-6);
  }
  EXPECT_TRUE(all(from({1, 2}, {2})).item<bool>());
  EXPECT_FALSE(all(from({1, 0}, {2})).item<bool>());
  EXPECT_TRUE(any(from({0, 2}, {2})).item<bool>());
}

TEST(Sort, SortTopkKthMedianUnique) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from({3, nan, 1, 2, 1}, {5});
  auto [sv, si] = sort(x);
  EXPECT_EQ(ivals(si), (std::vector<int64_t>{2, 4, 3, 0, 1}));  // stable, NaN last
  auto [dv, di] = sort(x, -1, true);
  EXPECT_EQ(ivals(di), (std::vector<int64_t>{1, 0, 3, 2, 4}));
  Tensor y = from({5, 1, 4, 2, 3}, {5});
  auto [tv, ti] = topk(y, 2);
  EXPECT_EQ(vals(tv), (std::vector<float>{5, 4}));
  EXPECT_EQ(ivals(ti), (std::vector<int64_t>{0, 2}));
  auto [kv, ki] = kthvalue(y, 2);
  EXPECT_EQ(kv.item<float>(), 2);
  EXPECT_EQ(ki.item<int64_t>(), 3);
  EXPECT_EQ(median(y).item<float>(), 3);
  EXPECT_EQ(median(from({4, 1, 3, 2}, {4})).item<float>(), 2);  // lower median
  EXPECT_THROW(topk(y, 6), Error);
  auto [u, inv, cnt] = unique(from({3, 1, 3, 2}, {4}), true, true, true);
  EXPECT_EQ(vals(u), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(ivals(inv), (std::vector<int64_t>{2, 0, 2, 1}));
  EXPECT_EQ(ivals(cnt), (std::vector<int64_t>{1, 1, 2}));
}
