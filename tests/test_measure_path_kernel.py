"""Oracles for the path kernel (``whynets.measure.path_kernel``): a model linear in its weights is a kernel machine
exactly, for any step; the jvp form equals the explicit Σ_i a_i K(x, x_i) with the empirical NTK; the step's update is
the engine's own; the first-order error of a nonlinear model halves with the step (at equal training time)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from whynets.engine import Population, TrainSpec, train
from whynets.data import Dataset
from whynets.kernels import empirical_ntk
from whynets.measure.path_kernel import gradient_step, loss_derivative, path_kernel_step


def _data(n=24, d=5, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(0, c, (n,), generator=g),
            torch.randn(7, d, generator=g, dtype=torch.float64))


def _gd(model, x, y, xq, lr, steps):
    """Plain gradient descent in float64 (the oracle's own few lines), the path-kernel terms summed step by step."""
    f0 = model(xq).detach()
    total = torch.zeros_like(f0)
    for _ in range(steps):
        total += path_kernel_step(model, x, y, xq, lr, "mse", 3)
        with torch.no_grad():
            for (name, p), d in zip(model.named_parameters(), gradient_step(model, x, y, lr, "mse", 3).values()):
                p.add_(d)
    return model(xq).detach() - f0, total


def test_a_model_linear_in_its_weights_is_a_kernel_machine_exactly():
    x, y, xq = _data()
    for lr in (0.01, 0.3):  # exact for any step: f(x; w) = Wx + b has no second derivative in w
        model = nn.Linear(5, 3).double()
        change, machine = _gd(model, x, y, xq, lr, 40)
        assert change.norm() > 0.1
        assert (change - machine).norm() <= 1e-12 * change.norm()


def test_jvp_form_equals_the_explicit_kernel_machine():
    x, y, xq = _data()
    net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    lr = 0.2
    a = -lr * loss_derivative(net, x, y, "mse", 3)  # (n, O)
    k = empirical_ntk(net, xq, x, mode="full")  # (n_query, n, O, O)
    explicit = torch.einsum("qiab,ib->qa", k, a)
    assert torch.allclose(path_kernel_step(net, x, y, xq, lr, "mse", 3), explicit, rtol=1e-10, atol=1e-12)
    onehot = F.one_hot(y, 3).double()
    assert torch.allclose(loss_derivative(net, x, y, "mse", 3), 2 / len(y) * (net(x) - onehot).detach(), atol=1e-14)


def test_the_step_is_the_engines_full_batch_gradient_descent_step():
    x, y, _ = _data()
    net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    step = gradient_step(net, x.float(), y, 0.1, "mse", 3)
    ds = Dataset(x=x.float(), y=y, x_test=x.float()[:4], y_test=y[:4], meta={"n_classes": 3})
    pop = Population([net], [0])
    train(pop, ds, TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=0.1, steps=1, loss="mse", eval_points=1))
    for name, delta in step.items():
        assert torch.allclose(pop.params[name][0].detach() - before[name], delta, atol=1e-6)


def test_first_order_error_halves_with_the_step_at_equal_training_time():
    x, y, xq = _data()
    errors = []
    for lr, steps in ((0.1, 20), (0.05, 40), (0.025, 80), (0.0125, 160)):
        torch.manual_seed(0)  # the same initial weights for every step size (global RNG only in this oracle)
        net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).double()
        change, machine = _gd(net, x, y, xq, lr, steps)
        errors.append(float((change - machine).norm() / change.norm()))
    ratios = [big / small for big, small in zip(errors, errors[1:])]
    # R = c·η + O(η²) at equal training time: halving η halves the error, the ratio tending to 2 from the O(η²) side
    assert all(r > 1.9 for r in ratios)
    assert abs(ratios[0] - 2) > abs(ratios[1] - 2) > abs(ratios[2] - 2) and abs(ratios[2] - 2) < 0.1
