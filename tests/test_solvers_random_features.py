"""Oracle tests for whynets.solvers.random_features.

Tolerances: min-norm vs NumPy pinv at 1e-9 relative (two SVD solves; the feature matrices here
have κ ≤ ~1e3); interpolation at N ≥ n to a train MSE ≤ 1e-12·‖Y‖² per sample (round-off);
ridge → 0 at λ = 1e-12 against the first-order ridge bias λ/σ_min(Φ)² (computed in the test)
plus a 1e-8 round-off allowance (Gram systems square κ(Φ) ~ 1e4); Monte-Carlo kernel
estimates at 5/sqrt(N) (each entry is a mean of N bounded terms with std ≤ sqrt(2), so 5/sqrt(N)
is > 3.5 σ for the max over all entries).
"""

import math

import numpy as np
import pytest
import torch

from whynets.solvers.random_features import (
    double_descent_sweep,
    fit_random_features,
    random_feature_map,
    random_features,
    regression_metrics,
    regression_targets,
)


def _data(n, d, seed, classes=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


@pytest.mark.parametrize("kind", ["fourier", "relu"])
@pytest.mark.parametrize("n_features", [25, 80])  # under- and over-parameterized (n = 40)
def test_min_norm_fit_equals_pinv(kind, n_features):
    x, y = _data(40, 5, 0)
    phi = random_features(x, n_features, kind=kind, seed=1)
    t = regression_targets(y)
    w = fit_random_features(phi, t)
    assert _rel(w, np.linalg.pinv(phi.numpy()) @ t.numpy()) < 1e-9


@pytest.mark.parametrize("kind", ["fourier", "relu"])
def test_interpolation_at_and_beyond_threshold(kind):
    x, y = _data(60, 5, 2)
    t = regression_targets(y)
    for n_features in (60, 120, 480):
        phi = random_features(x, n_features, kind=kind, seed=3)
        m = regression_metrics(phi @ fit_random_features(phi, t), t)
        assert m["mse"] <= 1e-12 and m["error"] == 0.0


@pytest.mark.parametrize("n_features", [20, 200])
def test_ridge_to_zero_limit_is_min_norm(n_features):
    x, y = _data(50, 4, 4)
    phi = random_features(x, n_features, kind="fourier", seed=5)
    t = regression_targets(y)
    lam0, smin = 1e-12, float(torch.linalg.svdvals(phi)[-1])
    bound = 2 * lam0 / smin**2 + 1e-8
    assert _rel(fit_random_features(phi, t, ridge=lam0), fit_random_features(phi, t)) < bound
    # ridge closed form (dual or primal Cholesky) vs. normal equations solved by NumPy
    lam = 1e-2
    oracle = np.linalg.solve(phi.T.numpy() @ phi.numpy() + lam * np.eye(n_features), phi.T.numpy() @ t.numpy())
    assert _rel(fit_random_features(phi, t, ridge=lam), oracle) < 1e-9


def test_fourier_features_approximate_rbf_kernel():
    x, _ = _data(20, 3, 6)
    n_features, bw = 20000, 1.3
    phi = random_features(x, n_features, kind="fourier", bandwidth=bw, seed=7)
    k = torch.exp(-torch.cdist(x, x) ** 2 / (2 * bw**2))
    assert float((phi @ phi.T - k).abs().max()) < 5 / math.sqrt(n_features)


def test_relu_features_approximate_arccos_kernel():
    x, _ = _data(20, 3, 8)
    n_features, bw = 20000, 2.0
    phi = random_features(x, n_features, kind="relu", bandwidth=bw, seed=9)
    xt = x / bw
    norms = xt.norm(dim=1)
    cos = ((xt @ xt.T) / (norms[:, None] * norms[None, :])).clamp(-1, 1)
    theta = torch.arccos(cos)
    k = norms[:, None] * norms[None, :] * (torch.sin(theta) + (math.pi - theta) * cos) / math.pi
    scale = float(k.diagonal().max())  # relu features are unbounded: tolerance relative to k(x,x)
    assert float((phi @ phi.T - k).abs().max()) < 5 * scale / math.sqrt(n_features)


def test_sweep_matches_direct_fits_and_nesting():
    x, y = _data(40, 5, 10)
    xt, yt = _data(30, 5, 11)
    fmap = random_feature_map(5, 100, kind="relu", bandwidth=2.0, seed=12)
    out = double_descent_sweep(x, y, xt, yt, [10, 40, 100], kind="relu", bandwidth=2.0, seed=12)
    for i, n in enumerate(out["n_features"]):
        phi, phi_t = fmap(x, n), fmap(xt, n)  # nested: the first n features of one draw
        w = fit_random_features(phi, regression_targets(y, 3))
        direct = regression_metrics(phi_t @ w, regression_targets(yt, 3))["mse"]
        assert out["test_mse"][i] == pytest.approx(direct, rel=1e-9)
        assert out["weight_norm"][i] == pytest.approx(float(w.norm()), rel=1e-9)
    assert out["train_mse"][1] < 1e-12 and out["train_error"][2] == 0.0


def test_double_descent_peak_at_interpolation_threshold_and_ridge_removes_it():
    # Noisy ±1 teacher labels: the min-norm test risk blows up at N = n (σ_min of the square
    # feature matrix → 0) and comes down again for N ≫ n; a ridge of 1e-2 flattens the peak.
    g = torch.Generator().manual_seed(13)
    n, d = 100, 10
    x, xt = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(500, d, generator=g, dtype=torch.float64)
    teacher = torch.randn(d, generator=g, dtype=torch.float64)
    y, yt = torch.sign(x @ teacher), torch.sign(xt @ teacher)
    flip = torch.rand(n, generator=g) < 0.1
    y[flip] = -y[flip]
    grid = [10, 25, 50, 75, 100, 150, 200, 400, 800]
    i_half, i_n, i_two = grid.index(50), grid.index(100), grid.index(200)
    out = double_descent_sweep(x, y, xt, yt, grid, kind="relu", seed=14)
    mse = out["test_mse"]
    assert grid[int(np.argmax(mse))] == n  # measured: 62 at N = n vs 1.7 (n/2) and 2.2 (2n)
    assert mse[i_n] > 5 * max(mse[i_half], mse[i_two])
    assert mse[-1] < mse[i_two]  # second descent
    lam = 1e-2
    ridge = double_descent_sweep(x, y, xt, yt, grid, kind="relu", seed=14, ridge=lam)
    # no spike at N = n any more (measured 1.27 vs 1.17 and 1.27 at n/2, 2n)
    assert ridge["test_mse"][i_n] < 1.1 * max(ridge["test_mse"][i_half], ridge["test_mse"][i_two])
    # why: the ridge solution Φᵀ(ΦΦᵀ + λI)⁻¹Y has ‖w‖ ≤ ‖Y‖/(2√λ) for every N (s/(s² + λ) ≤ 1/2√λ)
    bound = float(y.norm()) / (2 * math.sqrt(lam))
    assert max(ridge["weight_norm"]) <= bound < out["weight_norm"][i_n]
