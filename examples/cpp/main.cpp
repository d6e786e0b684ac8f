// A native C++ program: builds tensors with libctorch, runs ops and autograd, checks the results.
#include <cmath>
#include <cstdio>
#include <ctorch/ctorch.h>

using namespace ctorch;

int main() {
  // x = [[0, 1, 2], [3, 4, 5]] as float32, and a broadcast row.
  Tensor x = view(arange(Scalar(int64_t(0)), Scalar(int64_t(6)), Scalar(int64_t(1)), DType::Float32), {2, 3});
  Tensor row = ones({3}, DType::Float32);
  Tensor y = exp(x * Scalar(0.5)) + row;  // broadcasting + weak scalar
  Tensor yt = contiguous(transpose(y, 0, 1));  // a view made contiguous

  double expect = std::exp(0.5 * 5) + 1.0;
  float got = yt.data<float>()[5];  // y[1][2] after the transpose lands at [2][1]
  std::printf("y shape [%lld, %lld], y[1][2] = %.5f (expected %.5f)\n", (long long)y.size(0),
              (long long)y.size(1), got, expect);
  try {
    x + ones({4}, DType::Float32);  // shapes do not broadcast
  } catch (const Error& e) {
    std::printf("caught: %s\n", e.what());
  }
  // Autograd from C++: d/dw sum(sin(w * x)) = x * cos(w * x).
  Tensor w = full({2, 3}, Scalar(0.5), DType::Float32);
  autograd::set_requires_grad(w, true);
  Tensor loss = sum(sin(w * x));
  autograd::backward({loss}, {}, /*retain_graph=*/false, /*create_graph=*/false);
  float dw = contiguous(autograd::grad(w)).data<float>()[4];  // at x = 4
  double dw_expect = 4 * std::cos(0.5 * 4);
  std::printf("d loss / d w[1][1] = %.5f (expected %.5f)\n", dw, dw_expect);

  bool ok = std::fabs(got - expect) < 1e-4 && y.dtype() == DType::Float32 &&
            std::fabs(dw - dw_expect) < 1e-4;
  std::printf(ok ? "native example OK\n" : "native example FAILED\n");
  return ok ? 0 : 1;
}
