// Fits a two-layer MLP to a 1-D curve with plain tensors, autograd and hand-written SGD with
// momentum. The nn/optim issue replaces this with the 3-D U-Net denoiser; this shows the core API.
#include <cmath>
#include <iostream>

#include <voxgrad/voxgrad.h>

using namespace voxgrad;

int main() {
  manual_seed(0);
  const std::int64_t n = 512, hidden = 64;

  // Data: y = tanh(3x) + 0.5 x^2 + noise, x in [-1, 1].
  const Tensor x = rand({n, 1}) * 2.0 - 1.0;
  const Tensor y = (x * 3.0).tanh() + x.pow(2.0) * 0.5 + randn({n, 1}) * 0.02;

  // Parameters, initialised like PyTorch's Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  auto uniform = [](Shape shape, double bound) {
    return (rand(shape) * (2.0 * bound) - bound).requires_grad_();
  };
  Tensor w1 = uniform({1, hidden}, 1.0), b1 = uniform({hidden}, 1.0);
  Tensor w2 = uniform({hidden, 1}, 1.0 / std::sqrt(hidden)), b2 = uniform({1}, 1.0 / std::sqrt(hidden));
  std::vector<Tensor> params = {w1, b1, w2, b2};
  std::vector<Tensor> velocity;
  for (const Tensor& p : params) velocity.push_back(zeros_like(p));

  const double lr = 0.1, momentum = 0.9;
  double first_loss = 0.0, loss_value = 0.0;
  for (int step = 0; step <= 2000; ++step) {
    const Tensor pred = (x.matmul(w1) + b1).tanh().matmul(w2) + b2;
    const Tensor loss = (pred - y).pow(2.0).mean();
    for (Tensor& p : params) p.set_grad({});
    loss.backward();
    {
      NoGradGuard no_grad;  // parameter updates are not part of the graph
      for (std::size_t i = 0; i < params.size(); ++i) {
        velocity[i].mul_(momentum).add_(params[i].grad());
        params[i].sub_(velocity[i], lr);
      }
    }
    loss_value = loss.item<double>();
    if (step == 0) first_loss = loss_value;
    if (step % 400 == 0) std::cout << fmt::format("step {:4d}  loss {:.6f}\n", step, loss_value);
  }
  std::cout << fmt::format("loss {:.6f} -> {:.6f} ({:.0f}x lower)\n", first_loss, loss_value,
                           first_loss / loss_value);
  std::cout << "prediction at x = [-0.5, 0, 0.5]: "
            << ((tensor({-0.5, 0.0, 0.5}).reshape({3, 1}).matmul(w1) + b1).tanh().matmul(w2) + b2)
                   .detach()
                   .reshape({3})
            << "\n";
  return loss_value < first_loss / 10.0 ? 0 : 1;
}
