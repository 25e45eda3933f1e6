// The smallest complete training loop: fit y = tanh(3x) + x²/2 with a two-layer MLP.
#include <iostream>

#include <voxgrad/voxgrad.h>

using namespace voxgrad;

int main() {
  manual_seed(0);
  const Tensor x = rand({512, 1}) * 2.0 - 1.0;
  const Tensor y = (x * 3.0).tanh() + x.pow(2.0) * 0.5 + randn({512, 1}) * 0.02;

  auto model = std::make_shared<nn::SequentialImpl>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::LinearImpl>(1, 64), std::make_shared<nn::TanhImpl>(),
      std::make_shared<nn::LinearImpl>(64, 1)});
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(1e-2));
  std::cout << *model << "\n";

  double first = 0, last = 0;
  for (int step = 0; step <= 500; ++step) {
    optimizer.zero_grad();
    const Tensor loss = nn::functional::mse_loss(model->forward(x), y);
    loss.backward();
    optimizer.step();
    last = loss.item<double>();
    if (step == 0) first = last;
    if (step % 100 == 0) std::cout << fmt::format("step {:3d}  loss {:.6f}\n", step, last);
  }
  std::cout << fmt::format("loss {:.6f} -> {:.6f}\n", first, last);

  NoGradGuard no_grad;
  std::cout << "f([-0.5, 0, 0.5]) = " << model->forward(tensor({-0.5, 0.0, 0.5}).reshape({3, 1})).reshape({3})
            << "  (true values -0.780, 0, 1.030)\n";
  return last < first / 10 ? 0 : 1;
}
