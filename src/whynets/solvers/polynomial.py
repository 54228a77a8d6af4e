"""Polynomial regression with a soft inductive bias (Wilson 2025, "Deep learning is not so
mysterious or different").

A high-order polynomial with an order-dependent penalty λ Σ_j γ^j w_j² (γ > 1) keeps a huge
hypothesis space but prefers low-order explanations, so one model fits simple and complex data
alike; a hard restriction to order k must guess k, and an unpenalized high-order fit overfits.

* Basis: Legendre polynomials on [-1, 1], by default normalized to be orthonormal in L²[-1, 1]
  (φ_j = sqrt((2j + 1)/2) P_j), so Σ w_j² is the squared L² norm of the fitted function.
* ``fit_soft_polynomial`` minimizes ‖Φw − y‖² + λ Σ_j γ^j w_j² in closed form: with D = diag(sqrt(λ γ^j))
  and v = D w it is the ridge problem ‖Φ D⁻¹ v − y‖² + ‖v‖², solved as the least-squares problem
  [Φ D⁻¹; I] v ≈ [y; 0] by Householder QR (``gels``; the stacked matrix has singular values ≥ 1, so
  it is well conditioned whatever γ^j is). λ = 0 is the minimum-norm least-squares fit (SVD).
* Leave-one-out CV in closed form: LOO residual_i = r_i / (1 − H_ii), with the hat matrix's diagonal
  read off the QR factor (H = Q₁Q₁ᵀ, Q₁ the top n rows of Q; no inverse).
* ``make_regression_data``: noisy samples of a simple (cubic, sin πx) or complex (high-frequency)
  target, x ~ U[-1, 1] from an explicit seed; the test targets are noiseless.
"""

from __future__ import annotations

import math

import torch

from whynets.solvers.minnorm import min_norm_lstsq

__all__ = [
    "legendre_features",
    "fit_soft_polynomial",
    "fit_polynomial",
    "predict_polynomial",
    "loo_mse",
    "select_lambda",
    "select_order",
    "target_function",
    "make_regression_data",
]

TARGETS = {
    "cubic": lambda x: x**3 - 0.5 * x,  # order 3: a "simple" function
    "sine": lambda x: torch.sin(math.pi * x),  # smooth, effectively order ~7
    "complex": lambda x: torch.sin(4 * math.pi * x) + 0.5 * torch.cos(9 * math.pi * x),  # order ~40
}


def _vec(x: torch.Tensor, name: str) -> torch.Tensor:
    v = torch.as_tensor(x).to(torch.float64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be a vector (n,), got shape {tuple(v.shape)}")
    return v


def legendre_features(x: torch.Tensor, degree: int, *, normalized: bool = True) -> torch.Tensor:
    """[P_0(x), …, P_degree(x)] (n, degree + 1) by Bonnet's recurrence (k+1)P_{k+1} = (2k+1)xP_k − kP_{k−1};
    times sqrt((2k+1)/2) if ``normalized`` (orthonormal on [-1, 1]). Raises if |x| > 1."""
    xv = _vec(x, "x")
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}")
    if xv.numel() and float(xv.abs().max()) > 1 + 1e-12:
        raise ValueError(f"Legendre features need x in [-1, 1]; got max |x| = {float(xv.abs().max()):.4g}")
    cols = [torch.ones_like(xv)]
    if degree >= 1:
        cols.append(xv.clone())
    for k in range(1, degree):
        cols.append(((2 * k + 1) * xv * cols[k] - k * cols[k - 1]) / (k + 1))
    phi = torch.stack(cols, 1)
    if normalized:
        phi = phi * torch.sqrt((2 * torch.arange(degree + 1, dtype=torch.float64) + 1) / 2)
    return phi


def _soft_system(phi: torch.Tensor, lam: float, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled features Φ D⁻¹ and the scale D = sqrt(λ γ^j) for the ridge change of variables."""
    j = torch.arange(phi.shape[1], dtype=torch.float64)
    d = torch.exp(0.5 * (math.log(lam) + j * math.log(gamma)))
    return phi / d, d


def fit_soft_polynomial(x: torch.Tensor, y: torch.Tensor, degree: int, *, lam: float, gamma: float = 2.0,
                        normalized: bool = True) -> torch.Tensor:
    """Coefficients (degree + 1,) minimizing ‖Φw − y‖² + lam Σ_j gamma^j w_j² (module docstring).

    ``gamma = 1`` is ordinary ridge; ``lam = 0`` the minimum-norm least-squares fit.
    """
    if lam < 0 or gamma <= 0:
        raise ValueError(f"need lam >= 0 and gamma > 0, got lam={lam}, gamma={gamma}")
    phi = legendre_features(x, degree, normalized=normalized)
    yv = _vec(y, "y")
    if lam == 0:
        return min_norm_lstsq(phi, yv)
    scaled, d = _soft_system(phi, lam, gamma)
    p = phi.shape[1]
    a = torch.cat([scaled, torch.eye(p, dtype=torch.float64)])
    b = torch.cat([yv, torch.zeros(p, dtype=torch.float64)])
    v = torch.linalg.lstsq(a, b[:, None], driver="gels").solution[:, 0]
    return v / d


def fit_polynomial(x: torch.Tensor, y: torch.Tensor, degree: int, *, normalized: bool = True) -> torch.Tensor:
    """Unpenalized fit of order ``degree``: least squares, minimum-norm when degree + 1 > n."""
    return min_norm_lstsq(legendre_features(x, degree, normalized=normalized), _vec(y, "y"))


def predict_polynomial(x: torch.Tensor, coef: torch.Tensor, *, normalized: bool = True) -> torch.Tensor:
    """Σ_j coef_j φ_j(x)."""
    c = _vec(coef, "coef")
    return legendre_features(x, c.numel() - 1, normalized=normalized) @ c


def loo_mse(x: torch.Tensor, y: torch.Tensor, degree: int, *, lam: float = 0.0, gamma: float = 2.0,
            normalized: bool = True) -> float:
    """Closed-form leave-one-out mean squared error of ``fit_soft_polynomial`` (``lam = 0``: the
    hard order-``degree`` least-squares fit). ``inf`` when a point's leverage H_ii is 1 (the fit
    interpolates it, e.g. degree + 1 ≥ n with lam = 0)."""
    phi = legendre_features(x, degree, normalized=normalized)
    yv = _vec(y, "y")
    n, p = phi.shape
    if lam == 0:
        if p >= n:
            return math.inf
        q, r = torch.linalg.qr(phi)
        if float(r.diagonal().abs().min()) <= 1e-12 * float(r.diagonal().abs().max()):
            return math.inf  # rank deficient: the hard fit is not unique
        lev = (q * q).sum(1)
        resid = yv - q @ (q.T @ yv)
    else:
        scaled, _ = _soft_system(phi, lam, gamma)
        a = torch.cat([scaled, torch.eye(p, dtype=torch.float64)])
        q, _ = torch.linalg.qr(a)
        q1 = q[:n]
        lev = (q1 * q1).sum(1)
        resid = yv - q1 @ (q1.T @ yv)  # the fit Φw = H y = Q₁Q₁ᵀ y
    denom = 1.0 - lev
    if float(denom.min()) <= 1e-12:
        return math.inf
    return float(((resid / denom) ** 2).mean())


def select_lambda(x: torch.Tensor, y: torch.Tensor, degree: int, *, gamma: float = 2.0,
                  lambdas=None, normalized: bool = True) -> dict:
    """Pick lam from a grid (default 10^-12 … 10^4 in half decades) by closed-form LOO; returns
    ``{"lam", "loo", "table": [(lam, loo), …]}``."""
    grid = [10.0 ** (e / 2) for e in range(-24, 9)] if lambdas is None else list(lambdas)
    table = [(lam, loo_mse(x, y, degree, lam=lam, gamma=gamma, normalized=normalized)) for lam in grid]
    best = min(table, key=lambda t: t[1])
    return {"lam": best[0], "loo": best[1], "table": table}


def select_order(x: torch.Tensor, y: torch.Tensor, orders=None, *, normalized: bool = True) -> dict:
    """Pick the hard order k (default 0 … n − 2) by closed-form LOO of the least-squares fit."""
    n = _vec(x, "x").numel()
    ks = list(range(0, max(n - 1, 1))) if orders is None else list(orders)
    table = [(k, loo_mse(x, y, k, normalized=normalized)) for k in ks]
    best = min(table, key=lambda t: t[1])
    return {"order": best[0], "loo": best[1], "table": table}


def target_function(kind: str):
    """The named target: ``"cubic"``, ``"sine"`` (simple) or ``"complex"`` (high frequency)."""
    if kind not in TARGETS:
        raise ValueError(f"kind must be one of {sorted(TARGETS)}, got {kind!r}")
    return TARGETS[kind]


def make_regression_data(kind: str, n_train: int, *, noise: float = 0.1, n_test: int = 1000,
                         seed: int | torch.Generator = 0) -> dict[str, torch.Tensor]:
    """``{"x", "y", "x_test", "y_test"}``: x ~ U[-1, 1], y = f(x) + noise·N(0, 1), noiseless test."""
    f = target_function(kind)
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    x = torch.rand(n_train, generator=g, dtype=torch.float64) * 2 - 1
    y = f(x) + noise * torch.randn(n_train, generator=g, dtype=torch.float64)
    x_test = torch.rand(n_test, generator=g, dtype=torch.float64) * 2 - 1
    return {"x": x, "y": y, "x_test": x_test, "y_test": f(x_test)}
