// Bindings for the fused optimizer steps: ctorch._C._sgd_step_ / _adam_step_ return False (and touch
// nothing) when a tensor does not qualify, so ctorch.optim falls back to its elementwise update.
#include "bind.h"

namespace ctorch::python {

void bind_optim(py::module_& m) {
  m.def("_sgd_step_", [](Tensor param, const Tensor& grad, std::optional<Tensor> buf, double lr,
                         double momentum, double dampening, double weight_decay, bool nesterov,
                         bool maximize, bool first_step) {
    Tensor b = buf ? *buf : Tensor();
    if (!fused_step_supported(param, momentum != 0 ? std::vector<Tensor>{grad, b} : std::vector<Tensor>{grad}))
      return false;
    py::gil_scoped_release nogil;
    sgd_step_(param, grad, b, {lr, momentum, dampening, weight_decay, nesterov, maximize}, first_step);
    return true;
  });
  m.def("_adam_step_", [](Tensor param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq,
                          std::optional<Tensor> max_exp_avg_sq, double lr, double beta1, double beta2,
                          double eps, double weight_decay, bool decoupled, bool maximize, double step) {
    Tensor vmax = max_exp_avg_sq ? *max_exp_avg_sq : Tensor();
    std::vector<Tensor> others{grad, exp_avg, exp_avg_sq};
    if (max_exp_avg_sq) others.push_back(vmax);
    if (!fused_step_supported(param, others)) return false;
    py::gil_scoped_release nogil;
    adam_step_(param, grad, exp_avg, exp_avg_sq, vmax,
               {lr, beta1, beta2, eps, weight_decay, decoupled, maximize, max_exp_avg_sq.has_value()}, step);
    return true;
  });
}

}  // namespace ctorch::python
