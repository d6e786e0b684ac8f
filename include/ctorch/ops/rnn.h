// Fused recurrent cells: the elementwise part of one step in one parallel pass (the GEMMs stay in
// addmm), differentiable; ctorch.nn's LSTM uses it for float32/float64.
#pragma once
#include <utility>
#include "ctorch/core/tensor.h"

namespace ctorch {

// gates [B, 4H] = x W_ih^T + b_ih + h W_hh^T + b_hh in PyTorch's (i, f, g, o) order, c [B, H].
// Returns (h', c'): c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').
CTORCH_API std::pair<Tensor, Tensor> lstm_cell(const Tensor& gates, const Tensor& c);

}  // namespace ctorch
