// Bindings for the fused nn kernels: native_layer_norm / native_batch_norm / native_group_norm
// (PyTorch's signatures), the class-index losses used by ctorch.nn.functional and the fused LSTM and GRU cells.
#include "bind.h"

namespace ctorch::python {

namespace {
Tensor nn_opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }
}  // namespace

void bind_nn(py::module_& m) {
  using OptT = std::optional<Tensor>;
  m.def("_lstm_cell", [](const Tensor& gates, const Tensor& c) {
    py::gil_scoped_release nogil;
    return lstm_cell(gates, c);
  }, py::arg("gates"), py::arg("cx"));
  m.def("_gru_cell", [](const Tensor& xg, const Tensor& hg, const Tensor& h) {
    py::gil_scoped_release nogil;
    return gru_cell(xg, hg, h);
  }, py::arg("input_gates"), py::arg("hidden_gates"), py::arg("hx"));
  m.def("native_layer_norm", [](const Tensor& x, std::vector<int64_t> shape, const OptT& w, const OptT& b,
                                double eps) {
    py::gil_scoped_release nogil;
    return native_layer_norm(x, shape, nn_opt(w), nn_opt(b), eps);
  }, py::arg("input"), py::arg("normalized_shape"), py::arg("weight"), py::arg("bias"), py::arg("eps"));
  m.def("native_batch_norm", [](const Tensor& x, const OptT& w, const OptT& b, const OptT& rm,
                                const OptT& rv, bool training, double momentum, double eps) {
    py::gil_scoped_release nogil;
    return native_batch_norm(x, nn_opt(w), nn_opt(b), nn_opt(rm), nn_opt(rv), training, momentum, eps);
  }, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("running_mean"), py::arg("running_var"),
     py::arg("training"), py::arg("momentum"), py::arg("eps"));
  m.def("native_group_norm", [](const Tensor& x, const OptT& w, const OptT& b, int64_t N, int64_t C,
                                int64_t HxW, int64_t group, double eps) {
    CTORCH_CHECK(x.dim() >= 2 && x.size(0) == N && x.size(1) == C && x.numel() == N * C * HxW,
                 "[native_group_norm] input of shape ", x.sizes(), " does not match N=", N, ", C=", C,
                 ", HxW=", HxW);
    py::gil_scoped_release nogil;
    return native_group_norm(x, nn_opt(w), nn_opt(b), group, eps);
  }, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("N"), py::arg("C"), py::arg("HxW"),
     py::arg("group"), py::arg("eps"));
  m.def("_cross_entropy_loss", [](const Tensor& x, const Tensor& t, const OptT& w, const std::string& reduction,
                                  int64_t ignore_index, double label_smoothing) {
    LossReduction r = loss_reduction(reduction);
    py::gil_scoped_release nogil;
    return cross_entropy_loss(x, t, nn_opt(w), r, ignore_index, label_smoothing);
  }, py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("reduction") = "mean",
     py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0);
  m.def("_nll_loss", [](const Tensor& x, const Tensor& t, const OptT& w, const std::string& reduction,
                        int64_t ignore_index) {
    LossReduction r = loss_reduction(reduction);
    py::gil_scoped_release nogil;
    return nll_loss(x, t, nn_opt(w), r, ignore_index);
  }, py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("reduction") = "mean",
     py::arg("ignore_index") = -100);
  m.def("_embedding", [](const Tensor& weight, const Tensor& indices, int64_t padding_idx, bool scale) {
    py::gil_scoped_release nogil;
    return embedding(weight, indices, padding_idx, scale);
  }, py::arg("weight"), py::arg("indices"), py::arg("padding_idx") = -1,
     py::arg("scale_grad_by_freq") = false);
  m.def("embedding_dense_backward", [](const Tensor& grad, const Tensor& indices, int64_t num_weights,
                                       int64_t padding_idx, bool scale) {
    py::gil_scoped_release nogil;
    return embedding_dense_backward(grad, indices, num_weights, padding_idx, scale);
  }, py::arg("grad_output"), py::arg("indices"), py::arg("num_weights"), py::arg("padding_idx"),
     py::arg("scale_grad_by_freq"));
}

}  // namespace ctorch::python
