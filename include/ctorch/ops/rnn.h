// Fused recurrent cells: the elementwise part of one step in one parallel pass (the GEMMs stay in
// addmm), differentiable; ctorch.nn's LSTM and GRU use them for float32/float64.
#pragma once
#include <utility>
#include "ctorch/core/tensor.h"

namespace ctorch {

// gates [B, 4H] = x W_ih^T + b_ih + h W_hh^T + b_hh in PyTorch's (i, f, g, o) order, c [B, H].
// Returns (h', c'): c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').
CTORCH_API std::pair<Tensor, Tensor> lstm_cell(const Tensor& gates, const Tensor& c);

// xg = x W_ih^T + b_ih and hg = h W_hh^T + b_hh, both [B, 3H] in PyTorch's (r, z, n) order, h [B, H].
// Returns h' = (1 - z) n + z h with r, z = sigmoid(x_rz + h_rz), n = tanh(x_n + r h_n).
CTORCH_API Tensor gru_cell(const Tensor& xg, const Tensor& hg, const Tensor& h);

}  // namespace ctorch
