// Index family from C++: TensorIndex subscripts, gather/scatter, masks and joining ops.
#include <gtest/gtest.h>
#include <vector>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
Tensor iota(std::vector<int64_t> shape) {
  int64_t n = shape_numel(shape);
  return reshape(arange(Scalar(int64_t(0)), Scalar(n), Scalar(int64_t(1)), DType::Int64), shape);
}
std::vector<int64_t> values(const Tensor& t) {
  Tensor c = contiguous(to(t, DType::Int64, Device()));
  return {c.data<int64_t>(), c.data<int64_t>() + c.numel()};
}
Tensor ints(std::vector<int64_t> v) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, DType::Int64);
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}
Tensor bools(std::vector<int> v) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, DType::Bool);
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i] != 0;
  return t;
}
ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::NotImplemented;  // nothing thrown
}
}  // namespace

TEST(Index, BasicSubscriptsAreViews) {
  Tensor x = iota({3, 4, 5});
  Tensor r = index(x, {1, Slice{1, std::nullopt, 2}, NoneIndex{}, EllipsisIndex{}});
  EXPECT_EQ(r.sizes(), IntArrayRef({2, 1, 5}));
  EXPECT_EQ(r.storage(), x.storage());
  EXPECT_EQ(values(r)[0], 25);  // x[1, 1, 0]
  EXPECT_EQ(values(index(x, {-1, -1, -1}))[0], 59);
  EXPECT_EQ(kind_of([&] { index(x, {3}); }), ErrorKind::Index);
  EXPECT_EQ(kind_of([&] { index(x, {0, 0, 0, 0}); }), ErrorKind::Index);
  EXPECT_EQ(kind_of([&] { index(x, {Slice{std::nullopt, std::nullopt, -1}}); }), ErrorKind::Value);
}

TEST(Index, AdvancedPlacementFollowsNumPy) {
  Tensor x = iota({3, 4, 5});
  // adjacent index tensors: their dims stay in place
  EXPECT_EQ(index(x, {Slice{}, ints({0, 1}), ints({1, 2})}).sizes(), IntArrayRef({3, 2}));
  // separated by a slice: broadcast dims first
  Tensor r = index(x, {ints({0, 2}), Slice{}, ints({1, 4})});
  EXPECT_EQ(r.sizes(), IntArrayRef({2, 4}));
  EXPECT_EQ(values(r)[0], 1);        // x[0, 0, 1]
  EXPECT_EQ(values(r)[4], 40 + 4);   // x[2, 0, 4]
  EXPECT_NE(r.storage(), x.storage());
  EXPECT_EQ(kind_of([&] { index(x, {ints({3})}); }), ErrorKind::Index);
  EXPECT_EQ(kind_of([&] { index(x, {ints({0, 1}), ints({0, 1, 2})}); }), ErrorKind::Index);
}

TEST(Index, MasksAndBools) {
  Tensor x = iota({2, 3});
  Tensor r = index(x, {Slice{}, bools({1, 0, 1})});
  EXPECT_EQ(values(r), (std::vector<int64_t>{0, 2, 3, 5}));
  EXPECT_EQ(index(x, {true}).sizes(), IntArrayRef({1, 2, 3}));
  EXPECT_EQ(index(x, {false}).sizes(), IntArrayRef({0, 2, 3}));
  EXPECT_EQ(kind_of([&] { index(x, {bools({1, 0, 1})}); }), ErrorKind::Index);
}

TEST(Index, PutBumpsVersionAndBroadcasts) {
  Tensor x = zeros({2, 3}, DType::Int64);
  uint64_t v0 = x.storage()->version.load();
  index_put_(x, {Slice{}, 1}, Scalar(int64_t(7)));
  index_put_(x, {ints({1}), ints({2})}, scalar_tensor(Scalar(int64_t(9)), DType::Int64));
  EXPECT_EQ(values(x), (std::vector<int64_t>{0, 7, 0, 0, 7, 9}));
  EXPECT_GT(x.storage()->version.load(), v0);
  Tensor acc = zeros({3}, DType::Int64);
  advanced_index_put_(acc, {ints({0, 0, 2})}, ints({1, 2, 3}), true);
  EXPECT_EQ(values(acc), (std::vector<int64_t>{3, 0, 3}));
}

TEST(Index, GatherScatterFamily) {
  Tensor x = iota({2, 3});
  Tensor idx = reshape(ints({2, 0, 1, 1}), {2, 2});
  EXPECT_EQ(values(gather(x, 1, idx)), (std::vector<int64_t>{2, 0, 4, 4}));
  EXPECT_EQ(kind_of([&] { gather(x, 1, reshape(ints({3}), {1, 1})); }), ErrorKind::Runtime);
  EXPECT_EQ(values(index_select(x, 1, ints({2, 0}))), (std::vector<int64_t>{2, 0, 5, 3}));
  EXPECT_EQ(kind_of([&] { index_select(x, 0, ints({2})); }), ErrorKind::Index);
  EXPECT_EQ(values(take(x, ints({-1, 0}))), (std::vector<int64_t>{5, 0}));
  Tensor s = zeros({2, 3}, DType::Int64);
  scatter_add_(s, 1, reshape(ints({0, 0, 2, 2}), {2, 2}), iota({2, 2}));
  EXPECT_EQ(values(s), (std::vector<int64_t>{1, 0, 0, 0, 0, 5}));
  Tensor m = scatter_reduce(ones({3}, DType::Float32), 0, ints({0, 0}),
                            to(ints({4, 6}), DType::Float32, Device()), "mean", false);
  EXPECT_EQ(values(m), (std::vector<int64_t>{5, 1, 1}));
  Tensor a = index_add(zeros({3}, DType::Int64), 0, ints({1, 1}), ints({2, 3}), Scalar(int64_t(2)));
  EXPECT_EQ(values(a), (std::vector<int64_t>{0, 10, 0}));
  EXPECT_EQ(values(index_fill(zeros({3}, DType::Int64), 0, ints({-1}), Scalar(int64_t(4)))),
            (std::vector<int64_t>{0, 0, 4}));
}

TEST(Index, MasksNonzeroOneHot) {
  Tensor x = iota({2, 2});
  Tensor mask = reshape(bools({1, 0, 0, 1}), {2, 2});
  EXPECT_EQ(values(masked_select(x, mask)), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(values(masked_fill(x, mask, Scalar(int64_t(-1)))), (std::vector<int64_t>{-1, 1, 2, -1}));
  EXPECT_EQ(values(nonzero(x)), (std::vector<int64_t>{0, 1, 1, 0, 1, 1}));
  EXPECT_EQ(values(one_hot(ints({1, 0}), 2)), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(kind_of([&] { one_hot(ints({2}), 2); }), ErrorKind::Runtime);
}

TEST(Join, CatStackFlipRollRepeat) {
  Tensor a = iota({2, 2});
  EXPECT_EQ(cat({a, a}, 1).sizes(), IntArrayRef({2, 4}));
  EXPECT_EQ(cat({a, zeros({0})}, 0).sizes(), IntArrayRef({2, 2}));
  EXPECT_EQ(cat({a, ones({1, 2}, DType::Float32)}, 0).dtype(), DType::Float32);
  EXPECT_EQ(kind_of([&] { cat({}, 0); }), ErrorKind::Value);
  EXPECT_EQ(stack({a, a}, 2).sizes(), IntArrayRef({2, 2, 2}));
  EXPECT_EQ(values(flip(a, {0, 1})), (std::vector<int64_t>{3, 2, 1, 0}));
  EXPECT_EQ(values(roll(a, {1})), (std::vector<int64_t>{3, 0, 1, 2}));
  EXPECT_EQ(values(repeat(ints({1, 2}), {2})), (std::vector<int64_t>{1, 2, 1, 2}));
  EXPECT_EQ(values(repeat_interleave(ints({1, 2}), 2)), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(values(tril(a)), (std::vector<int64_t>{0, 0, 2, 3}));
  EXPECT_EQ(values(triu(a, 1)), (std::vector<int64_t>{0, 1, 0, 0}));
  EXPECT_EQ(values(diag(ints({1, 2}))), (std::vector<int64_t>{1, 0, 0, 2}));
  auto g = meshgrid({ints({1, 2}), ints({3, 4, 5})}, "xy");
  EXPECT_EQ(g[0].sizes(), IntArrayRef({3, 2}));
}

TEST(Index, MoreGatherScatterForms) {
  Tensor x = iota({2, 3});
  Tensor idx32 = to(reshape(ints({2, 0}), {1, 2}), DType::Int32, Device());
  EXPECT_EQ(values(take_along_dim(x, idx32, 1)), (std::vector<int64_t>{2, 0, 5, 3}));
  EXPECT_EQ(values(take_along_dim(x, ints({5, 0}))), (std::vector<int64_t>{5, 0}));
  Tensor p = put(x, ints({0, -1}), ints({9, 8}));
  EXPECT_EQ(values(p), (std::vector<int64_t>{9, 1, 2, 3, 4, 8}));
  EXPECT_EQ(kind_of([&] { put(x, ints({6}), ints({1})); }), ErrorKind::Index);
  Tensor r = index_reduce(ones({3}, DType::Int64), 0, ints({0, 0}), ints({2, 3}), "prod");
  EXPECT_EQ(values(r), (std::vector<int64_t>{6, 1, 1}));
  EXPECT_EQ(values(rot90(x)), (std::vector<int64_t>{2, 5, 1, 4, 0, 3}));
  EXPECT_EQ(values(tril_indices(2, 2)), (std::vector<int64_t>{0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(values(select_scatter(x, ints({7, 7, 7}), 0, 1)), (std::vector<int64_t>{0, 1, 2, 7, 7, 7}));
  // a 0-d integer tensor in a subscript selects like an int: a view
  Tensor v = index(x, {scalar_tensor(Scalar(int64_t(1)), DType::Int64)});
  EXPECT_EQ(v.storage(), x.storage());
  EXPECT_EQ(values(v), (std::vector<int64_t>{3, 4, 5}));
}
