"""Random-feature regression and its double-descent sweep (Belkin et al. 2019).

A random feature map sends x ∈ R^d to N features; the model is linear in those features and is fit
by minimum-norm least squares (or ridge). As N passes the number of training points n, the fit goes
from under- to over-parameterized: the test risk peaks at N = n (the interpolation threshold) and
falls again for N > n ("double descent"); a small ridge removes the peak.

Feature maps (weights drawn once from an explicit seed, in float64):

* ``"fourier"`` — ``φ_j(x) = sqrt(2/N) cos(ω_j·x + b_j)``, ω_j ~ N(0, I/σ²), b_j ~ U[0, 2π):
  ``φ(x)·φ(x') → exp(−‖x − x'‖² / 2σ²)`` (Rahimi & Recht), the RBF kernel of bandwidth σ.
* ``"relu"`` — ``φ_j(x) = sqrt(2/N) max(0, ω_j·x/σ)``, ω_j ~ N(0, I), no bias:
  ``φ(x)·φ(x') → (1/π)‖x‖‖x'‖(sin θ + (π − θ) cos θ)/σ²``, θ the angle between x and x' (the
  order-1 arc-cosine kernel of Cho & Saul). No bias on purpose: with a random bias some features
  are zero on every training point ("dead"), the feature matrix loses rank and the interpolation
  threshold moves above N = n. Being homogeneous, σ only rescales the features, which changes
  nothing for the min-norm fit and rescales the effective ridge.

``bandwidth=None`` uses the median pairwise distance of the inputs (``kernels.median_bandwidth``).

Nesting: ``random_feature_map`` draws N_max features; calling the map with ``n_features=N`` uses the
first N of them (rescaled by sqrt(2/N)). ``double_descent_sweep`` draws one map of size max(grid) and
evaluates every N on its prefix, so the models along the curve are nested (Belkin et al. use
independent draws; nesting removes between-N sampling noise and computes the features once). Note
that torch's generator is not prefix-stable, so ``random_feature_map(d, 100, seed=s)`` differs from
the first 100 features of ``random_feature_map(d, 1000, seed=s)``.

Losses: ``mse`` is the mean over samples of the squared Euclidean error ‖f(x) − y‖² (summed over
output columns); ``error`` is the argmax mismatch for several columns, the sign mismatch for one.
Ridge convention: minimize ‖Φw − Y‖² + λ‖w‖² (sum over samples, so λ is comparable to the
eigenvalues of the kernel matrix ΦΦᵀ ≈ K, whose diagonal is ≈ 1 for Fourier features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from whynets.solvers.kernels import median_bandwidth
from whynets.solvers.minnorm import min_norm_fast

__all__ = [
    "RandomFeatureMap",
    "random_feature_map",
    "random_features",
    "regression_targets",
    "fit_random_features",
    "regression_metrics",
    "double_descent_sweep",
]

KINDS = ("fourier", "relu")


@dataclass(frozen=True)
class RandomFeatureMap:
    """A drawn random feature map: ``weight`` (d, N_max), ``bias`` (N_max,), float64."""

    kind: str
    weight: torch.Tensor
    bias: torch.Tensor
    bandwidth: float

    @property
    def max_features(self) -> int:
        return self.weight.shape[1]

    def __call__(self, x: torch.Tensor, n_features: int | None = None) -> torch.Tensor:
        """Features of ``x`` (n, d) -> (n, N) from the first ``n_features`` (default all) columns."""
        n = self.max_features if n_features is None else int(n_features)
        if not 1 <= n <= self.max_features:
            raise ValueError(f"n_features must be in [1, {self.max_features}], got {n}")
        x64 = torch.as_tensor(x).to(torch.float64).flatten(1)
        if x64.shape[1] != self.weight.shape[0]:
            raise ValueError(f"x has {x64.shape[1]} input features, the map expects {self.weight.shape[0]}")
        pre = x64 @ self.weight[:, :n].to(x64.device) + self.bias[:n].to(x64.device)
        act = torch.cos(pre) if self.kind == "fourier" else torch.relu(pre)
        return act * math.sqrt(2.0 / n)


def random_feature_map(
    d: int, n_features: int, *, kind: str = "fourier", bandwidth: float = 1.0, seed: int | torch.Generator = 0
) -> RandomFeatureMap:
    """Draw ``n_features`` random features for inputs of dimension ``d`` (see module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    omega = torch.randn(d, n_features, generator=gen, dtype=torch.float64) / bandwidth
    if kind == "fourier":
        bias = torch.rand(n_features, generator=gen, dtype=torch.float64) * (2 * math.pi)
    else:
        bias = torch.zeros(n_features, dtype=torch.float64)
    return RandomFeatureMap(kind, omega, bias, float(bandwidth))


def random_features(
    x: torch.Tensor, n_features: int, *, kind: str = "fourier", bandwidth: float | None = None,
    seed: int | torch.Generator = 0,
) -> torch.Tensor:
    """Features (n, N) of ``x`` (n, d); ``bandwidth=None`` -> median pairwise distance of ``x``."""
    x64 = torch.as_tensor(x).to(torch.float64).flatten(1)
    bw = median_bandwidth(x64) if bandwidth is None else bandwidth
    return random_feature_map(x64.shape[1], n_features, kind=kind, bandwidth=bw, seed=seed)(x64)


def regression_targets(y: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Integer labels (n,) -> one-hot float64 (n, C); float targets are returned as (n, k) float64."""
    y = torch.as_tensor(y)
    if not torch.is_floating_point(y):
        if y.ndim != 1:
            raise ValueError(f"integer labels must have shape (n,), got {tuple(y.shape)}")
        c = int(y.max()) + 1 if num_classes is None else num_classes
        if int(y.min()) < 0 or int(y.max()) >= c:
            raise ValueError(f"labels must lie in [0, {c}), got range [{int(y.min())}, {int(y.max())}]")
        return torch.nn.functional.one_hot(y.long(), c).to(torch.float64)
    y64 = y.to(torch.float64)
    return y64[:, None] if y64.ndim == 1 else y64


def fit_random_features(phi: torch.Tensor, targets: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """Weights (N, k) of the least-squares fit of ``targets`` (n, k) on features ``phi`` (n, N).

    ``ridge = 0``: the minimum-norm solution Φ⁺Y (``minnorm.min_norm_fast``: a Cholesky solve of the smaller Gram
    system where it is well conditioned, the SVD driver near the interpolation threshold).
    ``ridge > 0``: argmin ‖Φw − Y‖² + ridge·‖w‖², by Cholesky of the smaller of the N×N primal
    system ΦᵀΦ + λI or the n×n dual system ΦΦᵀ + λI (then w = Φᵀα). No inverse is formed.
    """
    phi64, t64 = phi.to(torch.float64), targets.to(torch.float64)
    if t64.ndim == 1:
        t64 = t64[:, None]
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    if ridge == 0:
        return min_norm_fast(phi64, t64)
    n, N = phi64.shape
    shift = float(ridge)
    if N <= n:
        gram = phi64.T @ phi64
        gram.diagonal().add_(shift)
        return torch.cholesky_solve(phi64.T @ t64, torch.linalg.cholesky(gram))
    gram = phi64 @ phi64.T
    gram.diagonal().add_(shift)
    return phi64.T @ torch.cholesky_solve(t64, torch.linalg.cholesky(gram))


def regression_metrics(pred: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """``{"mse": mean_i ‖pred_i − y_i‖², "error": 0-1 error}`` (argmax for k > 1, sign for k = 1)."""
    p, t = pred.to(torch.float64), targets.to(torch.float64)
    if p.ndim == 1:
        p = p[:, None]
    if t.ndim == 1:
        t = t[:, None]
    mse = float(((p - t) ** 2).sum(1).mean())
    if t.shape[1] == 1:
        err = float((torch.sign(p[:, 0]) != torch.sign(t[:, 0])).double().mean())
    else:
        err = float((p.argmax(1) != t.argmax(1)).double().mean())
    return {"mse": mse, "error": err}


def double_descent_sweep(
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    n_features_grid: list[int] | tuple[int, ...],
    *,
    kind: str = "fourier",
    bandwidth: float | None = None,
    ridge: float = 0.0,
    seed: int | torch.Generator = 0,
) -> dict[str, list[float]]:
    """Fit random-feature models for every N in the grid (nested features, one draw) and measure.

    ``y``/``y_test``: integer labels (one-hot targets) or float targets (see ``regression_targets``).
    Returns lists aligned with the sorted grid: ``n_features``, ``train_mse``, ``test_mse``,
    ``train_error``, ``test_error``, ``weight_norm`` (‖w‖_F, the RKHS-norm proxy of Belkin et al.).
    """
    grid = sorted({int(n) for n in n_features_grid})
    if not grid or grid[0] < 1:
        raise ValueError(f"n_features_grid must be non-empty positive integers, got {n_features_grid}")
    x64 = torch.as_tensor(x).to(torch.float64).flatten(1)
    xt64 = torch.as_tensor(x_test).to(torch.float64).flatten(1)
    num_classes = None
    if not torch.is_floating_point(torch.as_tensor(y)):
        num_classes = int(max(int(torch.as_tensor(y).max()), int(torch.as_tensor(y_test).max()))) + 1
    t, tt = regression_targets(y, num_classes), regression_targets(y_test, num_classes)
    bw = median_bandwidth(x64) if bandwidth is None else bandwidth
    fmap = random_feature_map(x64.shape[1], grid[-1], kind=kind, bandwidth=bw, seed=seed)
    # Raw features once; the prefix of N columns times sqrt(max/N) equals fmap(x, N).
    raw, raw_test = fmap(x64), fmap(xt64)
    out: dict[str, list[float]] = {k: [] for k in
                                   ("n_features", "train_mse", "test_mse", "train_error", "test_error", "weight_norm")}
    for n in grid:
        scale = math.sqrt(grid[-1] / n)
        phi, phi_test = raw[:, :n] * scale, raw_test[:, :n] * scale
        w = fit_random_features(phi, t, ridge=ridge)
        tr, te = regression_metrics(phi @ w, t), regression_metrics(phi_test @ w, tt)
        out["n_features"].append(n)
        out["train_mse"].append(tr["mse"])
        out["test_mse"].append(te["mse"])
        out["train_error"].append(tr["error"])
        out["test_error"].append(te["error"])
        out["weight_norm"].append(float(torch.linalg.matrix_norm(w)))
    return out
