// Built against an installed voxgrad: the umbrella header, autograd and a gradcheck must work.
#include <iostream>

#include <voxgrad/voxgrad.h>

int main() {
  using namespace voxgrad;
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward();
  const bool grads_ok = x.grad().sub(x * 2.0).abs().max().item<double>() == 0.0;
  const bool check_ok = autograd::gradcheck([](const std::vector<Tensor>& in) { return in[0].exp().sum(); },
                                            {x.detach().clone().requires_grad_()});
  std::cout << "consumer: y = " << y << ", x.grad = " << x.grad() << "\n";
  return grads_ok && check_ok ? 0 : 1;
}
