// The node kinds the autograd core creates itself: built-in op nodes, leaf accumulators and the
// two nodes that keep views and in-place ops on views correct.
#pragma once
#include "autograd/function.h"

namespace ctorch::autograd {

CTORCH_API Node::TensorMeta tensor_meta(const Tensor& t);

// A built-in op: a backward formula over saved tensors.
class CTORCH_API OpNode final : public Node {
 public:
  OpNode(const char* name, BackwardFn backward) : name_(name), backward_(std::move(backward)) {}
  std::string name() const override { return name_; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  void release_variables() override;

 private:
  friend void record(const char*, const std::vector<Tensor>&, const std::vector<Tensor>&,
                     const std::vector<Tensor>&, BackwardFn);
  const char* name_;
  BackwardFn backward_;
  std::vector<SavedTensor> saved_;
};

// The end of a leaf's edges: runs the leaf's hooks and adds the gradient into .grad.
class CTORCH_API AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {
    sequence_nr = UINT64_MAX;  // run as soon as ready: frees the gradient early
  }
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  // The leaf's register_hook hooks, which may replace the gradient.
  void run_hooks(Tensor& grad);
  const Tensor& variable() const { return leaf_; }

 private:
  Tensor leaf_;
};

// Gradients through storage. Every storage position (relative to the lowest one) that a tensor of
// this geometry reads, flattened in row-major order of its dims; `extent` bounds the positions.
Tensor storage_positions(int64_t extent, IntArrayRef sizes, IntArrayRef strides, int64_t offset);
// g (one value per position) added into a zero storage of `extent` elements at `positions`:
// values of an overlapping geometry (expand) add up at their shared position.
Tensor add_into_storage(const Tensor& g, const Tensor& positions, int64_t extent);

// Where a view's elements sit inside its base, which must be dense (a permutation of a
// contiguous layout): gradients move between the two through the base's storage order.
struct ViewGeometry {
  ViewGeometry(const Tensor& base, const Tensor& view);
  Tensor base_positions() const;                     // storage positions of the base, flattened
  Tensor view_positions() const;                     // and of the view
  Tensor to_storage_order(const Tensor& g) const;    // base-shaped -> 1-D in storage order
  Tensor from_storage_order(const Tensor& s) const;  // and back
  DimVector base_sizes, base_strides, sizes, strides;
  int64_t offset;  // of the view, relative to the base
  bool base_contiguous;
};

// The history of a view whose base was modified in place: the view is re-read from the base.
class AsStridedNode final : public Node {
 public:
  AsStridedNode(const Tensor& base, const Tensor& view) : geo_(base, view) {}
  std::string name() const override { return "AsStridedBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;

 private:
  ViewGeometry geo_;
};

// The base's history after an in-place op on one of its views: the view's region comes from
// the op's result (input 1), the rest from the base's old value (input 0).
class CopySlices final : public Node {
 public:
  CopySlices(const Tensor& base, const Tensor& view) : geo_(base, view) {}
  std::string name() const override { return "CopySlices"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;

 private:
  ViewGeometry geo_;
};

}  // namespace ctorch::autograd
