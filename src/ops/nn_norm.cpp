// Fused nn kernels: layer/batch/group norm forward and backward, class-index cross-entropy and
// NLL. An ordinary backward runs the fused backward kernels; with grad mode on (create_graph, a
// double backward) the nodes use formulas written with differentiable ctorch ops instead. CUDA
// tensors run the twins of the fused kernels in kernels/nn_norm.cu; everything else (checks,
// shapes, autograd) is shared.
#include "ctorch/ops/nn.h"
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>
#include "autograd/function.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "kernels/nn_norm.h"
#include "ops/elementwise_run.h"
#include "ops/math.h"

namespace ctorch {

namespace {

// Elements of work per thread: these kernels do several flops per element, so they split sooner
// than plain elementwise loops.
constexpr int64_t kNormGrain = 16384;

namespace base {
#include "ops/nn_norm_kernels.h"
}  // namespace base
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "ops/nn_norm_kernels.h"
}  // namespace avx2
#pragma GCC pop_options

bool nn_use_avx2() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
// Calls the AVX2 or the baseline instantiation of a kernel.
#define NN_KERNEL(name, T, ...) \
  (nn_use_avx2() ? avx2::name<T>(__VA_ARGS__) : base::name<T>(__VA_ARGS__))

using autograd::Context;

// 16-bit floats compute in float.
DType compute_dtype(DType t) { return t == DType::Float64 ? DType::Float64 : DType::Float32; }

void check_float_input(const Tensor& x, const char* op) {
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, x.is_floating_point(), "[", op, "] \"", op,
                    "\" not implemented for '", dtype_name(x.dtype()), "'");
}

// t in the compute dtype, contiguous; undefined stays undefined.
Tensor prep(const Tensor& t, DType work) {
  if (!t.defined()) return t;
  // One value broadcast everywhere (the gradient of a sum): a fill, not a strided copy.
  bool broadcast_scalar = t.numel() > 1;
  for (int64_t k = 0; broadcast_scalar && k < t.dim(); ++k) broadcast_scalar = t.stride(k) == 0 || t.size(k) == 1;
  // (on CUDA the strided copy reads the one value on the device instead of syncing for it)
  if (broadcast_scalar && t.device().is_cpu())
    return full(t.sizes(), item(make_view(t, {}, {}, t.storage_offset())), work, t.device());
  return contiguous(t.dtype() == work ? t : to(t, work, t.device()));
}
template <class T> const T* cptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* mptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// A result in `dtype` (the kernels write the compute dtype).
Tensor as_dtype(const Tensor& t, DType dtype) {
  return !t.defined() || t.dtype() == dtype ? t : to(t, dtype, t.device());
}

#define NN_DISPATCH(work, ...)                                      \
  do {                                                              \
    auto nn_body_ = [&](auto tag) { __VA_ARGS__ };                  \
    if ((work) == DType::Float64) nn_body_(TypeTag<double>{});      \
    else nn_body_(TypeTag<float>{});                                \
  } while (0)

std::vector<int64_t> dim_range(int64_t from, int64_t to_excl) {
  std::vector<int64_t> d;
  for (int64_t k = from; k < to_excl; ++k) d.push_back(k);
  return d;
}
// sum over dims, or t itself when there are none (sum with no dims would reduce everything).
Tensor sum_dims(const Tensor& t, const std::vector<int64_t>& dims) {
  return dims.empty() ? t : sum(t, dims);
}

// The differentiable normalization backward over `rdims` of x (statistics recomputed from x so a
// double backward sees their dependence on x): returns dx and xhat. gw = grad * weight.
std::pair<Tensor, Tensor> norm_dx(const Tensor& x, const Tensor& gw, const std::vector<int64_t>& rdims,
                                  double eps) {
  Tensor mu = mean(x, rdims, true);
  Tensor rs = rsqrt(var(x, rdims, 0, true) + eps);
  Tensor xh = (x - mu) * rs;
  Tensor dx = rs * (gw - mean(gw, rdims, true) - xh * mean(gw * xh, rdims, true));
  return {dx, xh};
}

// [1, C, 1, ...] view of a per-channel vector for an input of `nd` dims.
Tensor channel_view(const Tensor& v, int64_t nd) {
  DimVector s(static_cast<size_t>(nd), 1);
  s[1] = v.numel();
  return reshape(v, s);
}

// Every defined tensor of `ts` on x's device (the kernels read them all there).
void check_devices(const Tensor& x, std::initializer_list<const Tensor*> ts, const char* op) {
  for (const Tensor* t : ts)
    if (t->defined()) check_same_device(x, *t, op);
}

void check_channel_param(const Tensor& t, int64_t C, const char* name, const char* op) {
  if (!t.defined()) return;
  CTORCH_CHECK(t.numel() == C, "[", op, "] ", name, " should contain ", C, " elements not ", t.numel());
}

}  // namespace

LossReduction loss_reduction(const std::string& name) {
  if (name == "none") return LossReduction::None;
  if (name == "mean") return LossReduction::Mean;
  if (name == "sum") return LossReduction::Sum;
  CTORCH_CHECK_VALUE(false, name, " is not a valid value for reduction");
  return LossReduction::Mean;
}

// ================================================================================== layer norm

namespace {
struct RowSplit { int64_t M = 1, N = 1; };
RowSplit ln_split(const Tensor& input, IntArrayRef normalized_shape, const char* op) {
  int64_t n = static_cast<int64_t>(normalized_shape.size());
  bool ok = n > 0 && input.dim() >= n;
  for (int64_t k = 0; ok && k < n; ++k) ok = input.size(input.dim() - n + k) == normalized_shape[k];
  CTORCH_CHECK(ok, "[", op, "] Given normalized_shape=", normalized_shape,
               ", expected input with shape [*, ", normalized_shape, "], but got input of size",
               input.sizes());
  RowSplit s;
  for (int64_t k = 0; k < input.dim(); ++k) (k < input.dim() - n ? s.M : s.N) *= input.size(k);
  return s;
}
DimVector stat_shape(const Tensor& input, int64_t n) {
  DimVector s(input.sizes());
  for (int64_t k = input.dim() - n; k < input.dim(); ++k) s[k] = 1;
  return s;
}
}  // namespace

std::tuple<Tensor, Tensor, Tensor> native_layer_norm(const Tensor& input, IntArrayRef normalized_shape,
                                                     const Tensor& weight, const Tensor& bias,
                                                     double eps) {
  const char* op = "layer_norm";
  check_float_input(input, op);
  if (autograd::recording({&input, &weight, &bias})) {
    auto [out, mu, rs] = autograd::untracked(
        [&] { return native_layer_norm(input, normalized_shape, weight, bias, eps); });
    autograd::record("NativeLayerNormBackward0", {input, weight, bias}, {out}, {input, weight, mu, rs},
        [ns = DimVector(normalized_shape), eps, has_bias = bias.defined()](const Context& c) {
          Tensor x = c.saved(0), w = c.saved(1);
          std::array<bool, 3> mask{c.needs_grad(0), c.needs_grad(1), has_bias && c.needs_grad(2)};
          if (!autograd::is_grad_enabled()) {
            auto [dx, dw, db] = native_layer_norm_backward(c.grad(), x, ns, c.saved(2), c.saved(3), w,
                                                           Tensor(), mask);
            return std::vector<Tensor>{dx, dw, db};
          }
          const Tensor& g = c.grad();
          int64_t n = static_cast<int64_t>(ns.size());
          auto lead = dim_range(0, x.dim() - n);
          auto [dx, xh] = norm_dx(x, w.defined() ? g * w : g, dim_range(x.dim() - n, x.dim()), eps);
          return std::vector<Tensor>{mask[0] ? dx : Tensor(), mask[1] ? sum_dims(g * xh, lead) : Tensor(),
                                     mask[2] ? sum_dims(g, lead) : Tensor()};
        });
    return {out, mu, rs};
  }
  RowSplit s = ln_split(input, normalized_shape, op);
  check_devices(input, {&weight, &bias}, op);
  if (weight.defined())
    CTORCH_CHECK(weight.numel() == s.N, "[", op, "] weight should have ", s.N, " elements, got ", weight.numel());
  if (bias.defined())
    CTORCH_CHECK(bias.numel() == s.N, "[", op, "] bias should have ", s.N, " elements, got ", bias.numel());
  DType work = compute_dtype(input.dtype());
  Tensor x = prep(input, work), w = prep(weight, work), b = prep(bias, work);
  Tensor y = empty(input.sizes(), work, input.device());
  DimVector ss = stat_shape(input, static_cast<int64_t>(normalized_shape.size()));
  Tensor mu = empty(ss, work, input.device()), rs = empty(ss, work, input.device());
  if (s.M > 0 && s.N > 0 && input.device().is_cuda()) {
    cuda_layer_norm_fwd(x, w, b, y, mu, rs, s.M, s.N, eps);
  } else if (s.M > 0 && s.N > 0) {
    NN_DISPATCH(work, {
      using T = typename decltype(tag)::type;
      NN_KERNEL(layer_norm_fwd, T, cptr<T>(x), cptr<T>(w), cptr<T>(b), y.data<T>(), mu.data<T>(),
                rs.data<T>(), s.M, s.N, eps);
    });
  }
  return {as_dtype(y, input.dtype()), mu, rs};
}

std::tuple<Tensor, Tensor, Tensor> native_layer_norm_backward(
    const Tensor& grad_out, const Tensor& input, IntArrayRef normalized_shape, const Tensor& mean,
    const Tensor& rstd, const Tensor& weight, const Tensor& bias, std::array<bool, 3> output_mask) {
  const char* op = "native_layer_norm_backward";
  check_float_input(input, op);
  RowSplit s = ln_split(input, normalized_shape, op);
  CTORCH_CHECK(grad_out.sizes() == input.sizes() && mean.numel() == s.M && rstd.numel() == s.M,
               "[", op, "] grad_out, mean or rstd does not match the input of shape ", input.sizes());
  check_devices(input, {&grad_out, &mean, &rstd, &weight}, op);
  DType work = compute_dtype(input.dtype());
  Tensor g = prep(grad_out, work), x = prep(input, work), w = prep(weight, work);
  Tensor mu = prep(mean, work), rs = prep(rstd, work);
  Tensor dx = output_mask[0] ? empty(input.sizes(), work, input.device()) : Tensor();
  Tensor dw = output_mask[1] && weight.defined() ? empty(weight.sizes(), work, input.device()) : Tensor();
  Tensor db = output_mask[2] ? empty(normalized_shape, work, input.device()) : Tensor();
  if (s.M == 0 || s.N == 0) {
    if (dw.defined()) zero_(dw);
    if (db.defined()) zero_(db);
  } else if (input.device().is_cuda()) {
    cuda_layer_norm_bwd(g, x, mu, rs, w, dx, dw, db, s.M, s.N);
  } else {
    NN_DISPATCH(work, {
      using T = typename decltype(tag)::type;
      NN_KERNEL(layer_norm_bwd, T, g.data<T>(), x.data<T>(), mu.data<T>(), rs.data<T>(), cptr<T>(w),
                mptr<T>(dx), mptr<T>(dw), mptr<T>(db), s.M, s.N);
    });
  }
  return {as_dtype(dx, input.dtype()), weight.defined() ? as_dtype(dw, weight.dtype()) : dw,
          bias.defined() ? as_dtype(db, bias.dtype()) : db};
}

// ================================================================================== batch norm

namespace {
struct NCS { int64_t N = 1, C = 1, S = 1; };
NCS ncs_split(const Tensor& x) {
  NCS s;
  s.N = x.size(0);
  s.C = x.size(1);
  for (int64_t k = 2; k < x.dim(); ++k) s.S *= x.size(k);
  return s;
}

// running = (1 - momentum) * running + momentum * stat, in place and outside autograd.
void update_running(const Tensor& running, const Tensor& stat, double momentum) {
  autograd::NoGradGuard guard;
  Tensor r = running;
  if (r.is_contiguous() && r.dtype() == stat.dtype() && r.device().is_cuda()) {
    cuda_running_update(r, stat, momentum);
    r.bump_version();
    return;
  }
  if (r.is_contiguous() && r.dtype() == stat.dtype()) {
    NN_DISPATCH(stat.dtype(), {
      using T = typename decltype(tag)::type;
      T* rp = r.data<T>();
      const T* sp = stat.data<T>();
      for (int64_t c = 0; c < r.numel(); ++c)
        rp[c] = static_cast<T>((1 - momentum) * rp[c] + momentum * sp[c]);
    });
    r.bump_version();
    return;
  }
  Tensor upd = reshape(to(stat, r.dtype(), r.device()), r.sizes()) * momentum;
  mul_(r, Scalar(1 - momentum));
  add_(r, upd);
}
}  // namespace

std::tuple<Tensor, Tensor, Tensor> native_batch_norm(const Tensor& input, const Tensor& weight,
                                                     const Tensor& bias, const Tensor& running_mean,
                                                     const Tensor& running_var, bool training,
                                                     double momentum, double eps) {
  const char* op = "batch_norm";
  check_float_input(input, op);
  CTORCH_CHECK_VALUE(input.dim() >= 2, "expected 2D or more input (got ", input.dim(), "D input)");
  if (autograd::recording({&input, &weight, &bias})) {
    auto [out, mu, is] = autograd::untracked([&] {
      return native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps);
    });
    autograd::record("NativeBatchNormBackward0", {input, weight, bias}, {out}, {input, weight, mu, is},
        [training, eps, has_bias = bias.defined()](const Context& c) {
          Tensor x = c.saved(0), w = c.saved(1);
          std::array<bool, 3> mask{c.needs_grad(0), c.needs_grad(1), has_bias && c.needs_grad(2)};
          if (!autograd::is_grad_enabled()) {
            auto [dx, dw, db] = native_batch_norm_backward(c.grad(), x, w, c.saved(2), c.saved(3),
                                                           training, mask);
            return std::vector<Tensor>{dx, dw, db};
          }
          const Tensor& g = c.grad();
          std::vector<int64_t> rdims{0};
          for (int64_t k = 2; k < x.dim(); ++k) rdims.push_back(k);
          Tensor wv = w.defined() ? channel_view(w, x.dim()) : Tensor();
          Tensor dx, xh;
          if (training) {
            std::tie(dx, xh) = norm_dx(x, wv.defined() ? g * wv : g, rdims, eps);
          } else {  // the running statistics are constants
            Tensor isv = channel_view(c.saved(3), x.dim());
            xh = (x - channel_view(c.saved(2), x.dim())) * isv;
            dx = wv.defined() ? g * (isv * wv) : g * isv;
          }
          return std::vector<Tensor>{mask[0] ? dx : Tensor(), mask[1] ? sum(g * xh, rdims) : Tensor(),
                                     mask[2] ? sum(g, rdims) : Tensor()};
        });
    return {out, mu, is};
  }
  NCS s = ncs_split(input);
  check_channel_param(weight, s.C, "weight", op);
  check_channel_param(bias, s.C, "bias", op);
  check_channel_param(running_mean, s.C, "running_mean", op);
  check_channel_param(running_var, s.C, "running_var", op);
  check_devices(input, {&weight, &bias, &running_mean, &running_var}, op);
  DType work = compute_dtype(input.dtype());
  Tensor x = prep(input, work), w = prep(weight, work), b = prep(bias, work);
  Tensor mu, var;
  if (training) {
    CTORCH_CHECK_VALUE(s.N * s.S > 1, "Expected more than 1 value per channel when training, got input size ",
                       input.sizes());
    mu = empty({s.C}, work, input.device());
    var = empty({s.C}, work, input.device());
    if (input.device().is_cuda()) {
      cuda_batch_norm_stats(x, s.N, s.C, s.S, mu, var);
    } else {
      NN_DISPATCH(work, {
        using T = typename decltype(tag)::type;
        NN_KERNEL(batch_norm_stats, T, x.data<T>(), s.N, s.C, s.S, mu.data<T>(), var.data<T>());
      });
    }
    const double n = static_cast<double>(s.N * s.S);
    if (running_mean.defined()) update_running(running_mean, mu, momentum);
    if (running_var.defined()) {
      Tensor unbiased = empty({s.C}, work, input.device());
      if (input.device().is_cuda()) cuda_nn_scale_vector(var, unbiased, n / (n - 1));
      else NN_DISPATCH(work, {
        using T = typename decltype(tag)::type;
        for (int64_t c = 0; c < s.C; ++c) unbiased.data<T>()[c] = static_cast<T>(var.data<T>()[c] * (n / (n - 1)));
      });
      update_running(running_var, unbiased, momentum);
    }
  } else {
    CTORCH_CHECK(running_mean.defined() && running_var.defined(),
                 "running_mean and running_var must be defined in evaluation mode");
    mu = clone(prep(running_mean, work));
    var = prep(running_var, work);
  }
  Tensor is = empty({s.C}, work, input.device());
  Tensor scale = empty({s.C}, work, input.device()), shift = empty({s.C}, work, input.device());
  Tensor y = empty(input.sizes(), work, input.device());
  if (input.device().is_cuda()) {
    cuda_batch_norm_apply(x, mu, var, w, b, is, y, s.N, s.C, s.S, eps);
    return {as_dtype(y, input.dtype()), mu, is};
  }
  NN_DISPATCH(work, {
    using T = typename decltype(tag)::type;
    const T *m = mu.data<T>(), *v = var.data<T>(), *wp = cptr<T>(w), *bp = cptr<T>(b);
    T *ip = is.data<T>(), *sc = scale.data<T>(), *sh = shift.data<T>();
    for (int64_t c = 0; c < s.C; ++c) {
      ip[c] = T(1) / std::sqrt(v[c] + T(eps));
      sc[c] = wp ? wp[c] * ip[c] : ip[c];
      sh[c] = (bp ? bp[c] : T(0)) - m[c] * sc[c];
    }
    if (y.numel() > 0)
      NN_KERNEL(channel_affine, T, x.data<T>(), sc, sh, y.data<T>(), s.N, s.C, s.S);
  });
  return {as_dtype(y, input.dtype()), mu, is};
}

std::tuple<Tensor, Tensor, Tensor> native_batch_norm_backward(
    const Tensor& grad_out, const Tensor& input, const Tensor& weight, const Tensor& save_mean,
    const Tensor& save_invstd, bool training, std::array<bool, 3> output_mask) {
  const char* op = "native_batch_norm_backward";
  check_float_input(input, op);
  CTORCH_CHECK(input.dim() >= 2 && grad_out.sizes() == input.sizes(), "[", op,
               "] grad_out of shape ", grad_out.sizes(), " does not match the input of shape ", input.sizes());
  NCS s = ncs_split(input);
  check_channel_param(weight, s.C, "weight", op);
  check_channel_param(save_mean, s.C, "save_mean", op);
  check_channel_param(save_invstd, s.C, "save_invstd", op);
  check_devices(input, {&grad_out, &weight, &save_mean, &save_invstd}, op);
  DType work = compute_dtype(input.dtype());
  Tensor g = prep(grad_out, work), x = prep(input, work), w = prep(weight, work);
  Tensor mu = prep(save_mean, work), is = prep(save_invstd, work);
  Tensor dx = output_mask[0] ? empty(input.sizes(), work, input.device()) : Tensor();
  Tensor dw = output_mask[1] ? empty({s.C}, work, input.device()) : Tensor();
  Tensor db = output_mask[2] ? empty({s.C}, work, input.device()) : Tensor();
  if (input.device().is_cuda()) {
    cuda_batch_norm_bwd(g, x, mu, is, w, dx, dw, db, s.N, s.C, s.S, training);
  } else NN_DISPATCH(work, {
    using T = typename decltype(tag)::type;
    NN_KERNEL(batch_norm_bwd, T, g.data<T>(), x.data<T>(), mu.data<T>(), is.data<T>(), cptr<T>(w),
              mptr<T>(dx), mptr<T>(dw), mptr<T>(db), s.N, s.C, s.S, training);
  });
  return {as_dtype(dx, input.dtype()), weight.defined() ? as_dtype(dw, weight.dtype()) : dw, db};
}

// ================================================================================== group norm

std::tuple<Tensor, Tensor, Tensor> native_group_norm(const Tensor& input, const Tensor& weight,
                                                     const Tensor& bias, int64_t groups, double eps) {
  const char* op = "group_norm";
  check_float_input(input, op);
  CTORCH_CHECK(input.dim() >= 2, "Expected at least 2 dimensions for input tensor but received ",
               input.dim());
  if (autograd::recording({&input, &weight, &bias})) {
    auto [out, mu, rs] = autograd::untracked([&] { return native_group_norm(input, weight, bias, groups, eps); });
    autograd::record("NativeGroupNormBackward0", {input, weight, bias}, {out}, {input, weight, mu, rs},
        [groups, eps, has_bias = bias.defined()](const Context& c) {
          Tensor x = c.saved(0), w = c.saved(1);
          std::array<bool, 3> mask{c.needs_grad(0), c.needs_grad(1), has_bias && c.needs_grad(2)};
          if (!autograd::is_grad_enabled()) {
            auto [dx, dw, db] = native_group_norm_backward(c.grad(), x, c.saved(2), c.saved(3), w,
                                                           groups, mask);
            return std::vector<Tensor>{dx, dw, db};
          }
          const Tensor& g = c.grad();
          Tensor gw = w.defined() ? g * channel_view(w, x.dim()) : g;
          int64_t n = x.size(0);
          Tensor xg = reshape(x, {n, groups, -1}), gg = reshape(gw, {n, groups, -1});
          auto [dxg, xhg] = norm_dx(xg, gg, {2}, eps);
          Tensor xh = reshape(xhg, x.sizes());
          std::vector<int64_t> rdims{0};
          for (int64_t k = 2; k < x.dim(); ++k) rdims.push_back(k);
          return std::vector<Tensor>{mask[0] ? reshape(dxg, x.sizes()) : Tensor(),
                                     mask[1] ? sum(g * xh, rdims) : Tensor(),
                                     mask[2] ? sum(g, rdims) : Tensor()};
        });
    return {out, mu, rs};
  }
  NCS s = ncs_split(input);
  CTORCH_CHECK(groups > 0 && s.C % groups == 0, "Expected number of channels in input to be divisible "
               "by num_groups, but got input of shape ", input.sizes(), " and num_groups=", groups);
  check_channel_param(weight, s.C, "weight", op);
  check_channel_param(bias, s.C, "bias", op);
  check_devices(input, {&weight, &bias}, op);
  DType work = compute_dtype(input.dtype());
  Tensor x = prep(input, work), w = prep(weight, work), b = prep(bias, work);
  Tensor y = empty(input.sizes(), work, input.device());
  Tensor mu = empty({s.N, groups}, work, input.device()), rs = empty({s.N, groups}, work, input.device());
  if (y.numel() > 0 && input.device().is_cuda()) {
    cuda_group_norm_fwd(x, w, b, y, mu, rs, s.N, s.C, s.S, groups, eps);
  } else if (y.numel() > 0) {
    NN_DISPATCH(work, {
      using T = typename decltype(tag)::type;
      NN_KERNEL(group_norm_fwd, T, x.data<T>(), cptr<T>(w), cptr<T>(b), y.data<T>(), mu.data<T>(),
                rs.data<T>(), s.N, s.C, s.S, groups, eps);
    });
  }
  return {as_dtype(y, input.dtype()), mu, rs};
}

std::tuple<Tensor, Tensor, Tensor> native_group_norm_backward(
    const Tensor& grad_out, const Tensor& input, const Tensor& mean, const Tensor& rstd,
    const Tensor& weight, int64_t groups, std::array<bool, 3> output_mask) {
  const char* op = "native_group_norm_backward";
  check_float_input(input, op);
  CTORCH_CHECK(input.dim() >= 2 && grad_out.sizes() == input.sizes(), "[", op,
               "] grad_out of shape ", grad_out.sizes(), " does not match the input of shape ", input.sizes());
  NCS s = ncs_split(input);
  CTORCH_CHECK(groups > 0 && s.C % groups == 0 && mean.numel() == s.N * groups &&
               rstd.numel() == s.N * groups, "[", op, "] mean/rstd do not match ", groups, " groups");
  check_channel_param(weight, s.C, "weight", op);
  check_devices(input, {&grad_out, &mean, &rstd, &weight}, op);
  DType work = compute_dtype(input.dtype());
  Tensor g = prep(grad_out, work), x = prep(input, work), w = prep(weight, work);
  Tensor mu = prep(mean, work), rs = prep(rstd, work);
  Tensor dx = output_mask[0] ? empty(input.sizes(), work, input.device()) : Tensor();
  Tensor dw = output_mask[1] ? empty({s.C}, work, input.device()) : Tensor();
  Tensor db = output_mask[2] ? empty({s.C}, work, input.device()) : Tensor();
  if (input.device().is_cuda()) {
    cuda_group_norm_bwd(g, x, mu, rs, w, dx, dw, db, s.N, s.C, s.S, groups);
  } else NN_DISPATCH(work, {
    using T = typename decltype(tag)::type;
    NN_KERNEL(group_norm_bwd, T, g.data<T>(), x.data<T>(), mu.data<T>(), rs.data<T>(), cptr<T>(w),
              mptr<T>(dx), mptr<T>(dw), mptr<T>(db), s.N, s.C, s.S, groups);
  });
  return {as_dtype(dx, input.dtype()), weight.defined() ? as_dtype(dw, weight.dtype()) : dw, db};
}

// ========================================================================= cross entropy / NLL

namespace {
struct ClassLayout { int64_t outer = 1, C = 1, inner = 1; };

// The layout of input around its class dim (0 for a 1-D input, else 1) and the flat int64 target.
ClassLayout class_layout(const Tensor& input, const Tensor& target, const char* op) {
  check_float_input(input, op);
  CTORCH_CHECK_VALUE(input.dim() >= 1, "Expected 1 or more dimensions (got ", input.dim(), ")");
  CTORCH_CHECK(target.dtype() == DType::Int64 || target.dtype() == DType::UInt8, "[", op,
               "] expected target dtype to be Long or Byte, but got ", dtype_name(target.dtype()));
  ClassLayout l;
  if (input.dim() == 1) {
    l.C = input.size(0);
  } else {
    l.outer = input.size(0);
    l.C = input.size(1);
    for (int64_t k = 2; k < input.dim(); ++k) l.inner *= input.size(k);
  }
  CTORCH_CHECK(target.numel() == l.outer * l.inner, "[", op, "] target of shape ", target.sizes(),
               " does not match input of shape ", input.sizes());
  return l;
}
// The shape of a per-sample loss: input's without the class dim.
DimVector sample_shape(const Tensor& input) {
  DimVector s;
  for (int64_t k = 0; k < input.dim(); ++k)
    if (k != (input.dim() == 1 ? 0 : 1)) s.push_back(input.size(k));
  return s;
}
Tensor flat_target(const Tensor& target) {
  return contiguous(target.dtype() == DType::Int64 ? target : to(target, DType::Int64, target.device()));
}
void check_targets(const Tensor& t, int64_t C, int64_t ignore_index) {
  if (t.device().is_cuda()) {  // checked on the device: one sync, and the first bad target named
    int64_t bad = 0;
    CTORCH_CHECK_INDEX(cuda_first_out_of_range(t, C, true, ignore_index, &bad) < 0, "Target ", bad,
                       " is out of bounds.");
    return;
  }
  const int64_t* p = t.data<int64_t>();
  for (int64_t k = 0; k < t.numel(); ++k)
    CTORCH_CHECK_INDEX(p[k] == ignore_index || (p[k] >= 0 && p[k] < C), "Target ", p[k], " is out of bounds.");
}
Tensor class_weight(const Tensor& weight, int64_t C, DType work, const char* op) {
  if (!weight.defined()) return weight;
  CTORCH_CHECK(weight.numel() == C, "weight tensor should be defined either for all ", C,
               " classes or no classes but got weight tensor of shape: ", weight.sizes());
  return prep(reshape(autograd::detach(weight), {C}), work);
}

// Per-sample values reduced: sum, or sum / sum(wt) for 'mean' (0 / 0 = NaN like PyTorch).
Tensor reduce_loss(const Tensor& loss, const Tensor& wt, LossReduction r, DType out_dtype,
                   IntArrayRef shape, double* total_weight) {
  *total_weight = 0;
  if (r == LossReduction::None) return as_dtype(reshape(loss, shape), out_dtype);
  double acc = 0, tw = 0;
  if (loss.device().is_cuda()) cuda_loss_sums(loss, wt, &acc, &tw);  // the host needs tw: one sync
  else NN_DISPATCH(loss.dtype(), {
    using T = typename decltype(tag)::type;
    const T *lp = loss.data<T>(), *wp = wt.data<T>();
    for (int64_t k = 0; k < loss.numel(); ++k) {
      acc += static_cast<double>(lp[k]);
      tw += static_cast<double>(wp[k]);
    }
  });
  *total_weight = tw;
  double v = r == LossReduction::Sum ? acc : acc / tw;
  return scalar_tensor(Scalar(v), out_dtype, loss.device());
}

// The constants of the class-index loss gradients, for the differentiable (double backward)
// formulas: per sample coef = keep * wt + smooth * Wsum (0 when ignored) and the dense
// K[o, c, i] = keep * wt * [c == t] + smooth * w_c, so d loss_k / dx = softmax * coef - K.
std::pair<Tensor, Tensor> class_constants(const Tensor& input, const Tensor& target, const Tensor& weight,
                                          int64_t ignore_index, double ls) {
  ClassLayout l = class_layout(input, target, "cross_entropy");
  DType work = compute_dtype(input.dtype());
  // Built on the host from host copies of target and weight (a double backward only), then moved
  // to input's device.
  Tensor t = to(flat_target(target), DType::Int64, Device());
  Tensor w = class_weight(weight, l.C, work, "cross_entropy");
  Tensor K = zeros(input.sizes(), DType::Float64, Device());
  Tensor coef = zeros({l.outer * l.inner}, DType::Float64, Device());
  double wsum = static_cast<double>(l.C);
  std::vector<double> wv(static_cast<size_t>(l.C), 1.0);
  if (w.defined()) {
    Tensor w64 = to(w, DType::Float64, Device());
    wsum = 0;
    for (int64_t c = 0; c < l.C; ++c) wsum += (wv[c] = w64.data<double>()[c]);
  }
  const double keep = 1 - ls, smooth = ls / static_cast<double>(l.C);
  double* kp = K.data<double>();
  double* cp = coef.data<double>();
  const int64_t* tp = t.data<int64_t>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      const int64_t k = o * l.inner + i, tk = tp[k];
      if (tk == ignore_index) continue;
      cp[k] = keep * wv[tk] + smooth * wsum;
      for (int64_t c = 0; c < l.C; ++c) kp[(o * l.C + c) * l.inner + i] = smooth * wv[c];
      kp[(o * l.C + tk) * l.inner + i] += keep * wv[tk];
    }
  DimVector cs = sample_shape(input);
  Tensor coef_v = reshape(coef, cs);
  if (input.dim() > 1) coef_v = unsqueeze(coef_v, 1);
  return {to(coef_v, input.dtype(), input.device()), to(K, input.dtype(), input.device())};
}

// The output gradient broadcast over the class dim and scaled for the reduction.
Tensor scaled_grad(const Tensor& g, const Tensor& input, LossReduction r, double total_weight) {
  if (r == LossReduction::None) return input.dim() > 1 ? unsqueeze(g, 1) : g;
  return r == LossReduction::Mean ? g / total_weight : g;
}
}  // namespace

Tensor cross_entropy_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                          LossReduction reduction, int64_t ignore_index, double label_smoothing) {
  const char* op = "cross_entropy";
  ClassLayout l = class_layout(input, target, op);
  CTORCH_CHECK(label_smoothing <= 1.0, "label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  label_smoothing = std::max(label_smoothing, 0.0);  // PyTorch smooths only when > 0 (negative acts as 0)
  DType work = compute_dtype(input.dtype());
  check_devices(input, {&target, &weight}, op);
  Tensor t = flat_target(target);
  check_targets(t, l.C, ignore_index);
  Tensor x = prep(autograd::detach(input), work), w = class_weight(weight, l.C, work, op);
  const int64_t ns = l.outer * l.inner;
  Tensor loss = empty({ns}, work, input.device()), lse = empty({ns}, work, input.device());
  Tensor wt = empty({ns}, work, input.device());
  double wsum = static_cast<double>(l.C);
  if (w.defined()) wsum = item(sum(to(w, DType::Float64, Device()))).to_double();  // C values, on the host
  if (ns > 0 && l.C > 0 && input.device().is_cuda()) {
    cuda_cross_entropy_fwd(x, t, w, wsum, l.outer, l.C, l.inner, ignore_index, label_smoothing, loss, lse, wt);
  } else if (ns > 0 && l.C > 0) {
    NN_DISPATCH(work, {
      using T = typename decltype(tag)::type;
      NN_KERNEL(cross_entropy_fwd, T, x.data<T>(), t.data<int64_t>(), cptr<T>(w), T(wsum), l.outer, l.C,
                l.inner, ignore_index, T(label_smoothing), loss.data<T>(), lse.data<T>(), wt.data<T>());
    });
  } else {
    zero_(loss);
    zero_(wt);
  }
  double tw = 0;
  Tensor r = reduce_loss(loss, wt, reduction, input.dtype(), sample_shape(input), &tw);
  if (!autograd::recording({&input})) return r;
  autograd::record("CrossEntropyLossBackward0", {input}, {r}, {input, t, w, lse, wt},
      [reduction, ignore_index, label_smoothing, tw, wsum, l](const Context& c) {
        Tensor x = c.saved(0), t = c.saved(1), w = c.saved(2);
        const Tensor& g = c.grad();
        if (autograd::is_grad_enabled()) {
          auto [coef, K] = class_constants(x, reshape(t, sample_shape(x)), w, ignore_index, label_smoothing);
          Tensor p = softmax(x, x.dim() == 1 ? 0 : 1);
          return autograd::grads(scaled_grad(g, x, reduction, tw) * (p * coef - K));
        }
        DType work = compute_dtype(x.dtype());
        Tensor xw = prep(x, work), gw = prep(g, work), lse = c.saved(3), wt = c.saved(4);
        Tensor dx = empty(x.sizes(), work, x.device());
        if (dx.numel() > 0) {
          double scale = reduction == LossReduction::Mean ? 1.0 / tw : 1.0;
          if (x.device().is_cuda())
            cuda_cross_entropy_bwd(xw, t, w, wsum, lse, wt, gw, reduction == LossReduction::None, scale,
                                   l.outer, l.C, l.inner, ignore_index, label_smoothing, dx);
          else NN_DISPATCH(work, {
            using T = typename decltype(tag)::type;
            NN_KERNEL(cross_entropy_bwd, T, xw.data<T>(), t.data<int64_t>(), cptr<T>(w), T(wsum),
                      lse.data<T>(), wt.data<T>(), gw.data<T>(), reduction == LossReduction::None,
                      T(scale), l.outer, l.C, l.inner, ignore_index, T(label_smoothing), dx.data<T>());
          });
        }
        return autograd::grads(as_dtype(dx, x.dtype()));
      });
  return r;
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, LossReduction reduction,
                int64_t ignore_index) {
  const char* op = "nll_loss";
  ClassLayout l = class_layout(input, target, op);
  DType work = compute_dtype(input.dtype());
  check_devices(input, {&target, &weight}, op);
  Tensor t = flat_target(target);
  check_targets(t, l.C, ignore_index);
  Tensor x = prep(autograd::detach(input), work), w = class_weight(weight, l.C, work, op);
  const int64_t ns = l.outer * l.inner;
  Tensor loss = empty({ns}, work, input.device()), wt = empty({ns}, work, input.device());
  if (input.device().is_cuda()) cuda_nll_fwd(x, t, w, l.outer, l.C, l.inner, ignore_index, loss, wt);
  else NN_DISPATCH(work, {
    using T = typename decltype(tag)::type;
    const T *xp = x.data<T>(), *wp = cptr<T>(w);
    const int64_t* tp = t.data<int64_t>();
    T *lp = loss.data<T>(), *wtp = wt.data<T>();
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = o * l.inner + i, tk = tp[k];
        if (tk == ignore_index) { lp[k] = T(0); wtp[k] = T(0); continue; }
        wtp[k] = wp ? wp[tk] : T(1);
        lp[k] = -wtp[k] * xp[(o * l.C + tk) * l.inner + i];
      }
  });
  double tw = 0;
  Tensor r = reduce_loss(loss, wt, reduction, input.dtype(), sample_shape(input), &tw);
  if (!autograd::recording({&input})) return r;
  autograd::record("NllLossBackward0", {input}, {r}, {t, wt},
      [reduction, tw, l, ignore_index, shape = DimVector(input.sizes()), dtype = input.dtype(),
       device = input.device()](const Context& c) {
        Tensor t = c.saved(0), wt = c.saved(1);
        const Tensor& g = c.grad();
        if (autograd::is_grad_enabled()) {
          // the gradient is linear in g and constant in the input: -g * wt at the target (built on
          // the host from host copies, then moved to the input's device: a double backward only)
          Tensor th = to(t, DType::Int64, Device()), wth = to(wt, wt.dtype(), Device());
          Tensor K = zeros(shape, dtype);
          NN_DISPATCH(compute_dtype(dtype), {
            using T = typename decltype(tag)::type;
            Tensor Kw = prep(K, compute_dtype(dtype));
            T* kp = Kw.data<T>();
            const int64_t* tp = th.data<int64_t>();
            const T* wtp = wth.data<T>();
            for (int64_t k = 0; k < l.outer * l.inner; ++k)
              if (tp[k] != ignore_index) kp[(k / l.inner * l.C + tp[k]) * l.inner + k % l.inner] = -wtp[k];
            K = as_dtype(Kw, dtype);
          });
          Tensor xs = empty(shape, dtype);  // only its dim count matters to scaled_grad
          return autograd::grads(scaled_grad(g, xs, reduction, tw) * to(K, dtype, device));
        }
        DType work = compute_dtype(dtype);
        double scale = reduction == LossReduction::Mean ? 1.0 / tw : 1.0;
        if (device.is_cuda()) {
          Tensor dx = empty(shape, work, device), gw = prep(g, work);
          cuda_nll_bwd(t, wt, gw, reduction == LossReduction::None, scale, l.outer, l.C, l.inner, ignore_index, dx);
          return autograd::grads(as_dtype(dx, dtype));
        }
        Tensor dx = zeros(shape, work), gw = prep(g, work);
        NN_DISPATCH(work, {
          using T = typename decltype(tag)::type;
          T* dp = dx.data<T>();
          const int64_t* tp = t.data<int64_t>();
          const T *wtp = wt.data<T>(), *gp = gw.data<T>();
          const bool per = reduction == LossReduction::None;
          for (int64_t k = 0; k < l.outer * l.inner; ++k)
            if (tp[k] != ignore_index)
              dp[(k / l.inner * l.C + tp[k]) * l.inner + k % l.inner] = -(per ? gp[k] : gp[0]) * T(scale) * wtp[k];
        });
        return autograd::grads(as_dtype(dx, dtype));
      });
  return r;
}

// ================================================================================== embedding

namespace {
// The flat int64 indices, checked against [0, V).
Tensor embedding_indices(const Tensor& indices, int64_t V) {
  CTORCH_CHECK(indices.dtype() == DType::Int64 || indices.dtype() == DType::Int32,
               "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
               "Long, Int; but got ", dtype_name(indices.dtype()), " instead (while checking arguments "
               "for embedding)");
  Tensor flat = contiguous(reshape(indices.dtype() == DType::Int64 ? indices : to(indices, DType::Int64,
                                                                                   indices.device()), {-1}));
  if (flat.device().is_cuda()) {  // checked on the device: one sync
    int64_t bad = 0;
    CTORCH_CHECK_INDEX(cuda_first_out_of_range(flat, V, false, 0, &bad) < 0, "index out of range in self");
    return flat;
  }
  const int64_t* p = flat.data<int64_t>();
  for (int64_t k = 0; k < flat.numel(); ++k)
    CTORCH_CHECK_INDEX(p[k] >= 0 && p[k] < V, "index out of range in self");
  return flat;
}
// Per-position gradient factors: 1 / count of the index when scale_grad_by_freq, else none.
std::vector<double> embedding_factors(const Tensor& flat, int64_t V, bool scale) {
  if (!scale) return {};
  std::vector<int64_t> count(static_cast<size_t>(V), 0);
  const int64_t* p = flat.data<int64_t>();
  for (int64_t k = 0; k < flat.numel(); ++k) ++count[p[k]];
  std::vector<double> f(static_cast<size_t>(flat.numel()));
  for (int64_t k = 0; k < flat.numel(); ++k) f[k] = 1.0 / static_cast<double>(count[p[k]]);
  return f;
}
}  // namespace

Tensor embedding_dense_backward(const Tensor& grad, const Tensor& indices, int64_t num_weights,
                                int64_t padding_idx, bool scale_grad_by_freq) {
  const char* op = "embedding_backward";
  check_float_input(grad, op);
  check_same_device(grad, indices, op);
  Tensor flat = embedding_indices(indices, num_weights);
  const int64_t n = flat.numel();
  const int64_t D = n > 0 ? grad.numel() / n : (grad.dim() > 0 ? grad.size(grad.dim() - 1) : 1);
  CTORCH_CHECK(grad.numel() == n * D, "[", op, "] grad of shape ", grad.sizes(), " does not match ", n,
               " indices");
  DType work = compute_dtype(grad.dtype());
  Tensor g = prep(grad, work);
  Tensor dw = empty({num_weights, D}, work, grad.device());
  if (grad.device().is_cuda()) {
    cuda_embedding_bwd(g, flat, num_weights, D, padding_idx, scale_grad_by_freq, dw);
    return as_dtype(dw, grad.dtype());
  }
  std::vector<double> f = embedding_factors(flat, num_weights, scale_grad_by_freq);
  NN_DISPATCH(work, {
    using T = typename decltype(tag)::type;
    std::vector<T> ft(f.begin(), f.end());
    NN_KERNEL(embedding_bwd, T, g.data<T>(), flat.data<int64_t>(), ft.empty() ? nullptr : ft.data(), n,
              num_weights, D, padding_idx, dw.data<T>());
  });
  return as_dtype(dw, grad.dtype());
}

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx, bool scale_grad_by_freq) {
  check_same_device(weight, indices, "embedding");
  CTORCH_CHECK(weight.dim() == 2, "'weight' must be 2-D");
  const int64_t V = weight.size(0);
  Tensor flat = embedding_indices(indices, V);
  DimVector shape(indices.sizes());
  shape.push_back(weight.size(1));
  Tensor out = autograd::untracked([&] {
    if (weight.device().is_cpu()) return reshape(index_select(weight, 0, flat), shape);
    Tensor r = empty(shape, weight.dtype(), weight.device());
    cuda_embedding_fwd(contiguous(weight), flat, r);
    return r;
  });
  if (!autograd::recording({&weight})) return out;
  autograd::record("EmbeddingBackward0", {weight}, {out}, {flat},
      [V, padding_idx, scale_grad_by_freq](const Context& c) {
        Tensor flat = c.saved(0);
        const Tensor& g = c.grad();
        if (!autograd::is_grad_enabled())
          return autograd::grads(embedding_dense_backward(g, flat, V, padding_idx, scale_grad_by_freq));
        // differentiable in g: rows scaled by the (constant) factors, summed with index_add
        const int64_t n = flat.numel(), D = n > 0 ? g.numel() / n : 0;
        // the factors are built on the host (from a host copy of the indices for CUDA)
        Tensor hflat = to(flat, DType::Int64, Device());
        std::vector<double> f = embedding_factors(hflat, V, scale_grad_by_freq);
        Tensor fac = ones({n, 1}, DType::Float64);
        double* fp = fac.data<double>();
        const int64_t* ip = hflat.data<int64_t>();
        for (int64_t k = 0; k < n; ++k)
          fp[k] = ip[k] == padding_idx ? 0.0 : (f.empty() ? 1.0 : f[k]);
        Tensor src = reshape(g, {n, D}) * to(fac, g.dtype(), g.device());
        return autograd::grads(index_add(zeros({V, D}, g.dtype(), g.device()), 0, flat, src));
      });
  return out;
}

#undef NN_DISPATCH
#undef NN_KERNEL

}  // namespace ctorch
