"""Analytic NNGP / NTK against Monte-Carlo wide networks (width 4096), closed forms against quadrature, the
convolutional recursion against the fully-connected one, and the memory-budget block plan.

Tolerance of every Monte-Carlo comparison (``kernels_mc.within_mc_error``): each entry of the seed mean within
5 standard errors (std over seeds / √seeds) plus a finite-width bias allowance 4·|K|/width (the mean of a width-n
kernel differs from its limit by O(1/n)); 5 SE leaves a false alarm of < 1e-5 over all entries."""

import math

import pytest
import torch

import whynets.kernels as K
from kernels_mc import mc_kernels, within_mc_error

WIDTH = 4096


def _inputs(shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    x[1] = 0.9 * x[0] + 0.1 * x[1]  # a strongly correlated pair (ρ near 1)
    x[2] = -x[0]  # an anti-correlated one (ρ = −1 at the input)
    return x


@pytest.mark.parametrize("kwargs, seeds", [
    (dict(depth=2, activation="relu", sigma_w2=(1.5, 2.0, 2.5), sigma_b2=(0.1, 0.2, 0.05)), 6),
    (dict(depth=2, activation="tanh", sigma_w2=1.7, sigma_b2=0.1), 6),
    (dict(depth=1, activation="erf", sigma_w2=1.5, sigma_b2=0.05), 32),
    (dict(depth=1, activation="leaky_relu:0.2", sigma_w2=1.7, sigma_b2=0.1), 32),
    (dict(depth=1, activation="abs", sigma_w2=1.0, sigma_b2=0.3), 32),
    (dict(depth=1, activation=K.piecewise_linear(0.5, -2.0), sigma_w2=0.8, sigma_b2=0.1), 32),
    (dict(depth=1, activation="gelu", sigma_w2=2.0, sigma_b2=0.1), 32),
    (dict(depth=1, activation="relu", sigma_w2=2.0, sigma_b2=0.1, parametrization="standard", widths=WIDTH), 32),
], ids=["relu-d2-per-layer", "tanh-d2-quadrature", "erf", "leaky", "abs", "piecewise", "gelu-quadrature", "standard"])
def test_fully_connected_kernels_match_wide_networks(kwargs, seeds):
    x = _inputs((6, 8))
    exact = K.kernels(x, **kwargs)
    ks, ts = mc_kernels(K.architecture(**kwargs), x, WIDTH, seeds)
    ok_k, worst_k = within_mc_error(ks, exact.nngp, WIDTH)
    ok_t, worst_t = within_mc_error(ts, exact.ntk, WIDTH)
    assert ok_k, f"NNGP off by {worst_k:.2f} tolerances"
    assert ok_t, f"NTK off by {worst_t:.2f} tolerances"


def test_monte_carlo_tolerance_is_tight_enough_to_catch_a_wrong_kernel():
    # the same MC run rejects the kernel of a net one layer shallower and one with σ_w² off by 10%
    x = _inputs((6, 8))
    kwargs = dict(depth=2, activation="relu", sigma_w2=2.0, sigma_b2=0.1)
    ks, ts = mc_kernels(K.architecture(**kwargs), x, WIDTH, 6, seed0=100)
    assert within_mc_error(ts, K.ntk(x, **kwargs), WIDTH)[0]
    assert not within_mc_error(ts, K.ntk(x, **dict(kwargs, depth=1)), WIDTH)[0]
    assert not within_mc_error(ks, K.nngp(x, **dict(kwargs, sigma_w2=2.2)), WIDTH)[0]


@pytest.mark.parametrize("kwargs, seeds", [
    (dict(architecture="conv1d", depth=2, kernel_size=3, activation="relu", sigma_w2=2.0, sigma_b2=0.1), 4),
    (dict(architecture="conv1d", depth=1, kernel_size=5, activation="erf", sigma_w2=2.0, sigma_b2=0.1,
          pooling="flatten"), 24),
    (dict(architecture="conv1d", depth=1, kernel_size=3, activation="relu", sigma_w2=2.0, sigma_b2=0.1,
          parametrization="standard", widths=WIDTH), 24),
], ids=["relu-d2-gap", "erf-flatten", "standard-gap"])
def test_convolutional_kernels_match_wide_networks(kwargs, seeds):
    x = _inputs((4, 2, 8), seed=3)
    exact = K.kernels(x, **kwargs)
    ks, ts = mc_kernels(K.architecture(**{k: v for k, v in kwargs.items() if k != "architecture"},
                                       kind="conv1d"), x, WIDTH, seeds)
    assert within_mc_error(ks, exact.nngp, WIDTH)[0]
    assert within_mc_error(ts, exact.ntk, WIDTH)[0]


@pytest.mark.parametrize("name, fn, rtol_nngp, rtol_ntk", [
    ("erf", torch.erf, 1e-4, 1e-3),
    ("relu", torch.relu, 2e-2, None),  # a kink: ~1/degree (measured 1.8% at depth 1, 0.7% at depth 3, degree 64)
    ("abs", torch.abs, 2e-2, None),
    ("leaky_relu:0.2", lambda u: torch.nn.functional.leaky_relu(u, 0.2), 2e-2, None),
    ("linear", lambda u: u, 1e-12, 1e-12),
])
def test_closed_forms_agree_with_quadrature(name, fn, rtol_nngp, rtol_ntk):
    # the quadrature path with the same function; a kinked φ converges slowly (NNGP ~1/degree, NTK worse), and the
    # call warns about it
    x = _inputs((7, 5))
    common = dict(depth=3, sigma_w2=1.6, sigma_b2=0.1)
    closed = K.kernels(x, activation=name, **common)
    if rtol_ntk is None:
        with pytest.warns(UserWarning, match="unreliable"):
            quad = K.kernels(x, activation=K.quadrature(fn, degree=64), **common)
        assert quad.ntk is not None
    else:
        quad = K.kernels(x, activation=K.quadrature(fn, degree=64), **common)
        assert torch.allclose(quad.ntk, closed.ntk, rtol=rtol_ntk, atol=0)
    assert torch.allclose(quad.nngp, closed.nngp, rtol=rtol_nngp, atol=0)


def test_dual_maps_at_the_edges_of_correlation():
    # ρ = 1: E[φ(u)²] (the diagonal); ρ = 0: E[φ]·E[φ] (ReLU: q/(2π)); ρ = −1 for ReLU: 0
    q = torch.tensor([0.5, 2.0], dtype=torch.float64)
    for name in ("relu", "erf", "tanh", "abs", "gelu"):
        act = K.get_activation(name)
        assert torch.allclose(act.dual(q, q, q), act.second_moment(q), rtol=1e-6)
    relu = K.get_activation("relu")
    assert torch.allclose(relu.dual(q, q, torch.zeros_like(q)), q / (2 * math.pi), rtol=1e-12)
    assert torch.allclose(relu.dual(q, q, -q), torch.zeros_like(q), atol=1e-15)
    v, dv = relu.duals(q, q, torch.zeros_like(q))
    assert torch.allclose(dv, torch.full_like(q, 0.25))  # P(u > 0, v > 0) = 1/4 for independent u, v


def test_depth_one_relu_by_hand():
    # one hidden ReLU layer, NTK parametrization: K = σ²/(2π)·|x||x'|/d (sin θ + (π − θ) cos θ) + σ_b²,
    # Θ = K + σ²·(π − θ)/(2π) · (σ² x·x'/d + σ_b²) (σ_b² = 0 below, so θ is the inputs' angle)
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, -2.0]], dtype=torch.float64)
    s2, d = 1.7, 2
    norms = x.norm(dim=1)
    cos = (x @ x.T) / norms[:, None] / norms[None, :]
    theta = torch.arccos(cos.clamp(-1, 1))
    k = s2 * s2 / (2 * math.pi) * norms[:, None] * norms[None, :] / d * (torch.sin(theta) + (math.pi - theta) * cos)
    ntk = k + s2 * (math.pi - theta) / (2 * math.pi) * s2 * (x @ x.T) / d
    got = K.kernels(x, depth=1, activation="relu", sigma_w2=s2, sigma_b2=0.0)
    assert torch.allclose(got.nngp, k, atol=1e-12)
    assert torch.allclose(got.ntk, ntk, atol=1e-12)


def test_conv_with_one_position_is_the_fully_connected_kernel():
    x = _inputs((5, 6))
    kw = dict(depth=3, activation="erf", sigma_w2=(1.2, 1.5, 1.9, 1.1), sigma_b2=0.1)
    fc = K.kernels(x, **kw)
    conv = K.kernels(x[:, :, None], architecture="conv1d", kernel_size=1, **kw)
    assert torch.allclose(conv.nngp, fc.nngp, atol=1e-13) and torch.allclose(conv.ntk, fc.ntk, atol=1e-13)
    std = dict(kw, parametrization="standard", widths=(30, 40, 50))
    assert torch.allclose(K.ntk(x[:, :, None], architecture="conv1d", kernel_size=1, **std), K.ntk(x, **std),
                          atol=1e-11)


def test_gap_of_pointwise_convolutions_averages_position_pairs():
    # kernel size 1: every pair of positions (p, p') is an independent fully-connected kernel on x_p, x'_p'; global
    # average pooling reads out their mean
    x = _inputs((3, 2, 4), seed=5)
    kw = dict(depth=2, activation="relu", sigma_w2=2.0, sigma_b2=0.2)
    conv = K.kernels(x, architecture="conv1d", kernel_size=1, **kw)
    cols = x.permute(0, 2, 1).reshape(12, 2)  # (example, position) rows
    inner = dict(kw, sigma_w2=2.0, sigma_b2=(0.2, 0.2, 0.0))
    pairs = K.kernels(cols, **inner)
    mean = lambda m: m.reshape(3, 4, 3, 4).mean((1, 3)) + 0.2  # noqa: E731  (the readout bias after the mean)
    assert torch.allclose(conv.nngp, mean(pairs.nngp), atol=1e-12)
    assert torch.allclose(conv.ntk, mean(pairs.ntk), atol=1e-12)


def test_block_plan_keeps_a_10k_kernel_under_the_budget_and_refuses_what_cannot_fit():
    arch = K.architecture(depth=3, activation="relu")
    plan = K.plan_for(10_000, 10_000, arch, (40,), outputs=2, want_ntk=True)
    assert plan.peak_bytes <= K.DEFAULT_BUDGET and plan.blocks > 1
    assert plan.output_bytes >= 2 * 10_000 ** 2 * 8
    conv = K.plan_for(10_000, 10_000, K.architecture(depth=2, kind="conv1d"), (1, 40), outputs=2, want_ntk=True)
    assert conv.peak_bytes <= K.DEFAULT_BUDGET and conv.rows * conv.cols < plan.rows * plan.cols
    quad = K.plan_for(10_000, 10_000, K.architecture(depth=2, activation="tanh"), (40,), outputs=1, want_ntk=True)
    assert quad.peak_bytes <= K.DEFAULT_BUDGET
    with pytest.raises(K.KernelMemoryError, match="alone needs"):
        K.plan_for(20_000, 20_000, arch, (40,), outputs=2, want_ntk=True)
    x = torch.zeros(3, 4)
    with pytest.raises(K.KernelMemoryError, match="over the memory budget"):
        K.kernels(x, memory_budget=100)


def test_blocked_kernels_equal_one_block_and_report_progress():
    x, z = _inputs((23, 6)), _inputs((17, 6), seed=2)
    one = K.kernels(x, z, depth=2, activation="erf")
    calls = []
    small = K.kernels(x, z, depth=2, activation="erf", memory_budget=2 * 23 * 17 * 8 + 2 * 40 * 8 * 8 + 5 * 96 * 7,
                      progress=lambda done, total: calls.append((done, total)))
    assert small.plan.blocks > 3
    # the same arithmetic up to the matmul's blocking (last bits)
    assert torch.allclose(small.nngp, one.nngp, rtol=1e-13, atol=1e-15)
    assert torch.allclose(small.ntk, one.ntk, rtol=1e-13, atol=1e-15)
    assert calls[-1] == (23 * 17, 23 * 17) and len(calls) == small.plan.blocks
    xc = _inputs((5, 1, 9))
    whole = K.kernels(xc, architecture="conv1d", depth=2)
    tiny = K.kernels(xc, architecture="conv1d", depth=2, memory_budget=whole.plan.output_bytes + 81 * 16 * 8 * 2)
    assert tiny.plan.blocks > 1 and torch.allclose(tiny.ntk, whole.ntk, atol=1e-14)


def test_kernel_is_symmetric_psd_float64_and_follows_dtype():
    x = _inputs((12, 5))
    k = K.kernels(x, depth=3, activation="gelu", sigma_b2=0.1)
    for m in (k.nngp, k.ntk):
        assert m.dtype == torch.float64
        assert torch.allclose(m, m.T, atol=1e-13)
        assert float(torch.linalg.eigvalsh(m).min()) > -1e-10
    k32 = K.nngp(x.float(), depth=2, dtype=torch.float32)
    assert k32.dtype == torch.float32 and torch.allclose(k32.double(), K.nngp(x, depth=2), rtol=1e-5)


def test_user_errors_are_one_line():
    x = torch.randn(3, 4)
    with pytest.raises(K.KernelSpecError, match="widths"):
        K.ntk(x, parametrization="standard")
    with pytest.raises(K.KernelSpecError, match="unknown activation"):
        K.nngp(x, activation="relux")
    with pytest.raises(K.KernelSpecError, match="depth \\+ 1 = 3"):
        K.nngp(x, depth=2, sigma_w2=(1.0, 2.0))
    with pytest.raises(K.KernelSpecError, match="odd"):
        K.nngp(x, architecture="conv1d", kernel_size=4)
    with pytest.raises(K.KernelSpecError, match="different example shapes"):
        K.nngp(x, torch.randn(2, 5))
    assert K.nngp(x, depth=1).shape == (3, 3)  # NNGP needs no widths in either parametrization


@pytest.mark.parametrize("module", ["whynets.kernels", "whynets.kernels.analytic", "whynets.kernels.activations",
                                    "whynets.kernels.blocks", "whynets.kernels.networks", "whynets.kernels.inference",
                                    "whynets.kernels.empirical", "whynets.kernels.finite_width"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
