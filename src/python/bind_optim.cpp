// Bindings for the fused optimizer steps (ctorch/ops/optim.h): False means the tensors did not qualify
// and nothing was touched, so ctorch.optim falls back to its elementwise update.
#include "bind.h"

namespace ctorch::python {

void bind_optim(py::module_& m) {
  m.def("_sgd_step_", [](Tensor param, const Tensor& grad, std::optional<Tensor> buf, double lr,
                         double momentum, double dampening, double weight_decay, bool nesterov,
                         bool maximize, bool first_step) {
    Tensor b = buf ? *buf : Tensor();
    py::gil_scoped_release nogil;
    return sgd_step_(param, grad, b, {lr, momentum, dampening, weight_decay, nesterov, maximize}, first_step);
  });
  m.def("_adam_step_", [](Tensor param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq,
                          std::optional<Tensor> max_exp_avg_sq, double lr, double beta1, double beta2,
                          double eps, double weight_decay, bool decoupled, bool maximize, double step) {
    Tensor vmax = max_exp_avg_sq ? *max_exp_avg_sq : Tensor();
    py::gil_scoped_release nogil;
    return adam_step_(param, grad, exp_avg, exp_avg_sq, vmax,
                      {lr, beta1, beta2, eps, weight_decay, decoupled, maximize, max_exp_avg_sq.has_value()}, step);
  });
}

}  // namespace ctorch::python
