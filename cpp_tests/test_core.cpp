// Core: dtype promotion, storage sharing by views, geometry, the broadcasting iterator.
#include <gtest/gtest.h>
#include <cmath>
#include "core/tensor_iter.h"
#include "ctorch/ctorch.h"

using namespace ctorch;

TEST(DType, PromotionFollowsPyTorch) {
  EXPECT_EQ(promote_types(DType::UInt8, DType::Int8), DType::Int16);
  EXPECT_EQ(promote_types(DType::Bool, DType::Int32), DType::Int32);
  EXPECT_EQ(promote_types(DType::Int64, DType::Float16), DType::Float16);
  EXPECT_EQ(promote_types(DType::Float16, DType::BFloat16), DType::Float32);
  EXPECT_EQ(promote_types(DType::Float32, DType::Float64), DType::Float64);
  EXPECT_TRUE(can_cast(DType::Int32, DType::Float32));
  EXPECT_FALSE(can_cast(DType::Float32, DType::Int64));
  EXPECT_FALSE(can_cast(DType::Int8, DType::Bool));
}

TEST(DType, WrappedScalarsAreWeak) {
  Tensor f = zeros({3}, DType::Float32), i = zeros({3}, DType::Int32);
  EXPECT_EQ(result_type({f, wrapped_scalar(Scalar(2.5))}), DType::Float32);
  EXPECT_EQ(result_type({i, wrapped_scalar(Scalar(2.5))}), DType::Float32);
  EXPECT_EQ(result_type({i, wrapped_scalar(Scalar(int64_t(7)))}), DType::Int32);
  EXPECT_EQ(result_type({i, zeros({}, DType::Int64)}), DType::Int32);
  EXPECT_EQ(result_type({i, zeros({}, DType::Float64)}), DType::Float64);
}

TEST(DType, HalfRoundTrip) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.1f})
    EXPECT_NEAR(float(Half(v)), v, std::abs(v) * 1e-3f + 1e-8f) << v;
  EXPECT_TRUE(std::isinf(float(Half(70000.0f))));
  EXPECT_TRUE(std::isnan(float(Half(NAN))));
  EXPECT_EQ(float(BFloat16(1.0f)), 1.0f);
  EXPECT_NEAR(float(BFloat16(3.14159f)), 3.14159f, 0.02f);
}

TEST(Storage, ViewsShareStorageAndVersion) {
  Tensor a = arange(Scalar(int64_t(0)), Scalar(int64_t(12)), Scalar(int64_t(1)));
  Tensor v = view(a, {3, 4});
  Tensor tr = transpose(v, 0, 1);
  EXPECT_EQ(v.storage(), a.storage());
  EXPECT_EQ(tr.storage(), a.storage());
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.strides()[0], 1);
  uint32_t before = a.storage()->version;
  Tensor s = select(tr, 0, 1);
  add_(s, Scalar(int64_t(100)));
  EXPECT_GT(a.storage()->version.load(), before);
  EXPECT_EQ(a.data<int64_t>()[1], 101);
  EXPECT_EQ(a.data<int64_t>()[5], 105);
  EXPECT_EQ(a.data<int64_t>()[2], 2);
}

TEST(Storage, AllocatorStatsTrackLiveBytes) {
  int64_t before = cpu_allocator_stats().allocated_bytes;
  {
    Tensor t = empty({1024}, DType::Float32);
    EXPECT_GE(cpu_allocator_stats().allocated_bytes, before + 4096);
  }
  EXPECT_EQ(cpu_allocator_stats().allocated_bytes, before);
}

TEST(Views, ReshapeCopiesOnlyWhenNeeded) {
  Tensor a = zeros({4, 6});
  EXPECT_EQ(reshape(a, {2, 12}).storage(), a.storage());
  Tensor t = transpose(a, 0, 1);
  EXPECT_NE(reshape(t, {24}).storage(), a.storage());
  EXPECT_THROW(view(t, {24}), Error);
  EXPECT_EQ(view(slice(a, 1, 0, 6, 2), {4, 3}).storage(), a.storage());
}

TEST(Views, ErrorsNameTheProblem) {
  Tensor a = zeros({2, 3});
  try {
    select(a, 1, 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Index);
    EXPECT_NE(std::string(e.what()).find("out of bounds"), std::string::npos);
  }
  EXPECT_THROW(view(a, {4, -1}), Error);
  EXPECT_THROW(expand(a, {3, 3}), Error);
}

TEST(TensorIter, BroadcastsAndCoalesces) {
  Tensor out = empty({4, 5}, DType::Float32);
  Tensor a = zeros({4, 5}), b = zeros({5});
  TensorIter it(out, {&a, &b});
  EXPECT_EQ(it.numel(), 20);
  int calls = 0;
  int64_t total = 0;
  it.serial_for_each([&](char**, const int64_t* strides, int64_t n) {
    ++calls;
    total += n;
    EXPECT_EQ(strides[0], 4);
    EXPECT_EQ(strides[2], 4);
  }, 0, it.numel());
  EXPECT_EQ(total, 20);
  EXPECT_EQ(calls, 4);  // b's broadcast over rows prevents merging into one run

  Tensor c = zeros({4, 5});
  TensorIter flat(out, {&a, &c});
  EXPECT_TRUE(flat.is_flat());
}

TEST(Elementwise, BroadcastedArithmetic) {
  Tensor a = view(arange(Scalar(int64_t(0)), Scalar(int64_t(6)), Scalar(int64_t(1)), DType::Float32), {2, 3});
  Tensor b = arange(Scalar(int64_t(0)), Scalar(int64_t(3)), Scalar(int64_t(1)), DType::Float32);
  Tensor r = contiguous(a * b + Scalar(1.0));
  const float expect[] = {1, 2, 5, 1, 5, 11};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(r.data<float>()[i], expect[i]);
  EXPECT_EQ((a + b).dtype(), DType::Float32);
  EXPECT_EQ(div(zeros({2}, DType::Int64), ones({2}, DType::Int64)).dtype(), DType::Float32);
}
