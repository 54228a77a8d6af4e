"""Oracle tests for sharpness, linear interpolation and filter-normalized loss surfaces.

Oracles are closed forms: for a linear loss aᵀw the box max is Σ ε(|w_i|+1)|a_i| and the ℓ2-ball max
is ρ‖a‖; for a separable quadratic the box max sits at the corner away from the minimum; for a
quadratic in an ℓ2 ball it solves the trust-region secular equation (scipy's brentq). Losses along
paths are compared with the model evaluated directly (float64 round-off, 1e-12).
"""

import math

import pytest
import torch
from scipy.optimize import brentq
from torch import nn

from whynets.measure.landscape import (barrier, filter_normalized_direction, linear_interpolation, loss_surface_1d,
                                       loss_surface_2d)
from whynets.measure.sharpness import epsilon_sharpness, worst_case_sharpness

CE = nn.functional.cross_entropy


class Point(nn.Module):
    """A model whose output is its parameter vector w (repeated per example): the loss is a function of w."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x):
        return self.w.expand(len(x), -1)


def separable_quadratic(a, c):
    """L(w) = ½ Σ a_i (w_i − c_i)²."""
    return lambda out, y: 0.5 * ((out - c) ** 2 * a).sum(1).mean()


def bn_net(seed=0):
    torch.manual_seed(seed)  # nn init reads the global RNG; the instruments never do
    model = nn.Sequential(nn.Conv1d(1, 4, 3), nn.BatchNorm1d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8, 3)).double()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(30, 1, 10, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=g)
    with torch.no_grad():
        model(x)  # a forward pass in train mode sets non-trivial running statistics
    return model, [(x, y)]


DATA = [(torch.zeros(4, 1, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))]


def test_epsilon_sharpness_linear_and_separable_quadratic_closed_form():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(20, generator=g, dtype=torch.float64)
    a = torch.randn(20, generator=g, dtype=torch.float64)
    eps = 1e-3
    lin = epsilon_sharpness(Point(w), lambda out, y: (out * a).sum(1).mean(), DATA, eps, steps=3)
    base = float(a @ w)
    box_max = float((eps * (w.abs() + 1) * a.abs()).sum())
    assert math.isclose(lin.sharpness, 100 * box_max / (1 + base), rel_tol=1e-10)

    curv, c = torch.rand(20, generator=g, dtype=torch.float64) + 0.1, torch.randn(20, generator=g, dtype=torch.float64)
    quad = epsilon_sharpness(Point(w), separable_quadratic(curv, c), DATA, eps, steps=5)
    box = eps * (w.abs() + 1)
    far = w + box * torch.sign(w - c)  # each coordinate's max is the box end away from c_i
    base = float(0.5 * (curv * (w - c) ** 2).sum())
    best = float(0.5 * (curv * (far - c) ** 2).sum())
    assert math.isclose(quad.base_loss, base, rel_tol=1e-12)
    assert math.isclose(quad.sharpness, 100 * (best - base) / (1 + base), rel_tol=1e-10)
    assert (quad.delta.abs() <= box * (1 + 1e-12)).all()


def trust_region_max(curv, u, rho):
    """max_{‖δ‖≤ρ} ½ Σ a_i (u_i + δ_i)² (a > 0): δ_i = a_i u_i / (μ − a_i) with μ > max a and ‖δ‖ = ρ."""
    def norm_gap(mu):
        return float((curv * u / (mu - curv)).norm()) - rho
    top = float(curv.max())
    mu = brentq(norm_gap, top + 1e-12, top + 1e6)
    delta = curv * u / (mu - curv)
    return float(0.5 * (curv * (u + delta) ** 2).sum())


def test_worst_case_sharpness_linear_and_trust_region():
    g = torch.Generator().manual_seed(1)
    w, a = torch.randn(10, generator=g, dtype=torch.float64), torch.randn(10, generator=g, dtype=torch.float64)
    lin = worst_case_sharpness(Point(w), lambda out, y: (out * a).sum(1).mean(), DATA, rho=0.1)
    assert math.isclose(lin.sharpness, 0.1 * float(a.norm()), rel_tol=1e-10)  # first order is exact

    curv = torch.tensor([4.0, 1.0, 0.5, 0.2] + [0.1] * 6, dtype=torch.float64)
    c = torch.zeros(10, dtype=torch.float64)
    w = torch.tensor([0.05, 1.0, 1.0, 1.0] + [0.5] * 6, dtype=torch.float64)
    loss_fn, rho = separable_quadratic(curv, c), 0.5
    exact = trust_region_max(curv, w - c, rho) - float(0.5 * (curv * (w - c) ** 2).sum())
    first = worst_case_sharpness(Point(w), loss_fn, DATA, rho=rho)
    ascent = worst_case_sharpness(Point(w), loss_fn, DATA, rho=rho, steps=40)
    assert first.sharpness < 0.9 * exact  # the gradient direction misses the high-curvature axis
    assert math.isclose(ascent.sharpness, exact, rel_tol=1e-6)  # the ascent's fixed point is the KKT point
    assert float(ascent.delta.norm()) <= rho * (1 + 1e-12)


def test_interpolation_endpoints_and_barrier():
    model_a, batches = bn_net(0)
    model_b, _ = bn_net(1)
    for m in (model_a, model_b):
        m.eval()
    r = linear_interpolation(model_a, CE, batches, model_a, model_b, num_points=7)
    x, y = batches[0]
    with torch.no_grad():
        for end, m in ((0, model_a), (-1, model_b)):
            out = m(x)
            assert math.isclose(float(r.loss[end]), float(CE(out, y)), rel_tol=1e-12)
            assert math.isclose(float(r.error[end]), float((out.argmax(1) != y).double().mean()), abs_tol=1e-15)
    assert r.loss_barrier == pytest.approx(barrier(r.loss, r.t)) and r.loss_barrier >= 0
    sd = model_b.state_dict()  # a state dict works as an endpoint too
    assert torch.allclose(linear_interpolation(model_a, CE, batches, model_a, sd, 7).loss, r.loss, atol=1e-14)


def test_barrier_definition():
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert barrier(1 + 2 * t + t * (1 - t), t) == pytest.approx(0.25)  # a bump of t(1−t) over a line
    assert barrier(1 + 2 * t, t) == pytest.approx(0.0, abs=1e-15)


def test_interpolation_convex_loss_has_no_barrier():
    g = torch.Generator().manual_seed(2)
    X, Y = torch.randn(50, 5, generator=g, dtype=torch.float64), torch.randn(50, 1, generator=g, dtype=torch.float64)
    a, b = nn.Linear(5, 1).double(), nn.Linear(5, 1).double()
    r = linear_interpolation(a, nn.functional.mse_loss, [(X, Y)], a, b, num_points=21)
    assert r.error is None  # regression targets: no classification error
    assert r.loss_barrier <= 1e-12  # a convex function lies below its chords


def test_filter_normalization_matches_weight_filter_norms():
    model, _ = bn_net()
    d = filter_normalized_direction(model, seed=3)
    for name, p in model.named_parameters():
        if p.dim() <= 1:
            assert torch.count_nonzero(d[name]) == 0, name  # biases and BatchNorm scale/shift: ignored
        else:
            w_norms = p.detach().reshape(len(p), -1).norm(dim=1)
            d_norms = d[name].reshape(len(p), -1).norm(dim=1)
            assert torch.allclose(d_norms, w_norms, rtol=1e-8), name
    kept = filter_normalized_direction(model, seed=3, ignore_bias_and_bn=False)
    assert torch.equal(kept["1.weight"], model[1].weight.detach())  # Li et al.'s other setting: copy


def test_surfaces_center_quadratic_form_and_explicit_randomness():
    g = torch.Generator().manual_seed(4)
    X, Y = torch.randn(40, 6, generator=g, dtype=torch.float64), torch.randn(40, 2, generator=g, dtype=torch.float64)
    model = nn.Linear(6, 2).double()
    state = torch.random.get_rng_state()
    s1 = loss_surface_1d(model, nn.functional.mse_loss, [(X, Y)], torch.linspace(-1, 1, 5), seed=5)
    assert torch.equal(state, torch.random.get_rng_state())
    d = s1.directions[0]
    for alpha, loss in zip(s1.alphas.tolist(), s1.loss.tolist()):  # L(θ + αd) evaluated directly
        with torch.no_grad():
            pred = X @ (model.weight + alpha * d["weight"]).T + model.bias + alpha * d["bias"]
        assert math.isclose(loss, float(nn.functional.mse_loss(pred, Y)), rel_tol=1e-12)
    s2 = loss_surface_2d(model, nn.functional.mse_loss, [(X, Y)], torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 3),
                         seed=5)
    assert s2.loss.shape == (3, 3)
    with torch.no_grad():
        center = float(nn.functional.mse_loss(model(X), Y))
    assert math.isclose(float(s2.loss[1, 1]), center, rel_tol=1e-12)
    again = loss_surface_2d(model, nn.functional.mse_loss, [(X, Y)], torch.linspace(-1, 1, 3),
                            torch.linspace(-1, 1, 3), generator=torch.Generator().manual_seed(5))
    assert torch.equal(again.loss, s2.loss)


def test_bn_train_mode_measurements_leave_running_stats():
    model, batches = bn_net()
    other, _ = bn_net(1)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    linear_interpolation(model, CE, batches, model, other, 3, bn_mode="train")
    loss_surface_1d(model, CE, batches, torch.linspace(-0.5, 0.5, 3), bn_mode="train")
    epsilon_sharpness(model, CE, batches, 1e-3, steps=2, bn_mode="train")
    worst_case_sharpness(model, CE, batches, 0.05, steps=2, bn_mode="train")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert model.training
    # eval vs train mode really differ (the measurement follows the caller's mode)
    r_train = linear_interpolation(model, CE, batches, model, other, 2, bn_mode="train")
    r_eval = linear_interpolation(model, CE, batches, model, other, 2, bn_mode="eval")
    assert not torch.allclose(r_train.loss, r_eval.loss)


def test_adaptive_sharpness_is_invariant_to_relu_rescaling_where_plain_sharpness_is_not():
    """Layer l's weights and biases × c and layer l+1's weights ÷ c give the same ReLU function; the adaptive
    (elementwise-normalized) sharpness is unchanged, the plain ℓ2 worst-case sharpness and ε-sharpness are not."""
    import copy

    import torch.nn.functional as F

    from whynets.measure.sharpness import adaptive_sharpness, epsilon_sharpness, worst_case_sharpness

    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    x = torch.randn(64, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (64,), generator=g)
    scaled = copy.deepcopy(net)
    with torch.no_grad():
        scaled[0].weight.mul_(4.0), scaled[0].bias.mul_(4.0), scaled[2].weight.div_(4.0)
    assert torch.allclose(net(x), scaled(x), atol=1e-12)  # the same function
    a = adaptive_sharpness(net, F.cross_entropy, [(x, y)], rho=0.05, steps=5).sharpness
    b = adaptive_sharpness(scaled, F.cross_entropy, [(x, y)], rho=0.05, steps=5).sharpness
    assert a > 0 and abs(a - b) <= 1e-9 * max(1.0, a)
    w1 = worst_case_sharpness(net, F.cross_entropy, [(x, y)], rho=0.05, steps=5).sharpness
    w2 = worst_case_sharpness(scaled, F.cross_entropy, [(x, y)], rho=0.05, steps=5).sharpness
    e1 = epsilon_sharpness(net, F.cross_entropy, [(x, y)], epsilon=1e-3).sharpness
    e2 = epsilon_sharpness(scaled, F.cross_entropy, [(x, y)], epsilon=1e-3).sharpness
    assert abs(w1 - w2) > 0.05 * max(w1, w2) and abs(e1 - e2) > 0.05 * max(e1, e2)


def test_adaptive_sharpness_in_float32_with_zero_weights_matches_float64():
    """Zero-initialized biases cannot move in the normalized ball (u = δ/|w|); in float32 the old 1e-300 floor was 0,
    so a zero weight gave 0/0 and the whole ascent NaN (seen on a 30M-parameter transformer). The float32 result
    must now equal the float64 one to float32 precision, and no zero weight may move."""
    import torch.nn.functional as F

    from whynets.measure.sharpness import adaptive_sharpness

    g = torch.Generator().manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
        net[0].bias.zero_(), net[2].bias.zero_()
    x = torch.randn(64, 6, generator=g)
    y = torch.randint(0, 3, (64,), generator=g)
    r32 = adaptive_sharpness(net, F.cross_entropy, [(x, y)], rho=0.05, steps=5, dtype=torch.float32)
    r64 = adaptive_sharpness(net, F.cross_entropy, [(x, y)], rho=0.05, steps=5, dtype=torch.float64)
    assert r64.sharpness > 0 and abs(r32.sharpness - r64.sharpness) <= 1e-3 * r64.sharpness + 1e-6
    zero = torch.cat([p.detach().flatten() == 0 for p in net.parameters()])
    assert zero.sum() == 11 and bool((r32.delta[zero] == 0).all()) and bool(torch.isfinite(r32.delta).all())
