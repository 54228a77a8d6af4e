"""Inference with infinite-width kernels: the exact GP posterior (NNGP) and the gradient-flow prediction of an
infinitely wide network trained by MSE (NTK; Lee et al. 2019, "Wide neural networks of any depth evolve as linear
models under gradient descent", Eqs. 15–16).

Time convention: the flow ḟ(X) = −Θ(X, X)(f(X) − Y), i.e. gradient flow on ½ Σ_i ‖f(x_i) − y_i‖² with unit step.
Gradient descent with step η on the mean loss (1/N) Σ_i ‖f(x_i) − y_i‖² (whynets' ``loss=mse``) for k steps is
t = 2 η k / N; on PyTorch's ``mse_loss`` (mean over N × O entries) t = 2 η k / (N O).

* ``gp_posterior(k_train, k_test_train, y, k_test, noise)``: mean K*ᵀ(K + σ²I)⁻¹Y and the variance
  K** − K*ᵀ(K + σ²I)⁻¹K* (the diagonal for a vector ``k_test``, the covariance for a matrix), Cholesky in float64
  with a jitter that grows only when K is numerically singular (recorded).
* ``ntk_predict(theta_train, theta_test_train, y, t, ...)``: mean Θ*Θ⁻¹(I − e^{−Θt})Y at any t ≥ 0, t = ∞ included
  (Θ⁻¹(I − e^{−Θt}) = V diag((1 − e^{−λt})/λ) Vᵀ, which is t at λ = 0 and a pseudo-inverse at t = ∞). Given a
  network's own initial outputs ``f0_train``, ``f0_test`` it is that network's linearized prediction
  f0(x) + Θ*Θ⁻¹(I − e^{−Θt})(Y − f0(X)). Given the NNGP (``k_train``, ``k_test_train``, ``k_test``) it also returns
  the variance over random initializations, Lee et al. Eq. 16.

    >>> import torch, whynets as wn
    >>> g = torch.Generator().manual_seed(0)
    >>> x, xt = torch.randn(20, 5, generator=g), torch.randn(4, 5, generator=g)
    >>> y = torch.sin(x.sum(1, keepdim=True))
    >>> th, th_t = wn.kernels.ntk(x, depth=2), wn.kernels.ntk(xt, x, depth=2)
    >>> pred = wn.kernels.ntk_predict(th, th_t, y, t=float("inf"))
    >>> pred.mean.shape
    torch.Size([4, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .activations import KernelSpecError

__all__ = ["Posterior", "gp_posterior", "ntk_predict", "flow_coefficients"]

_JITTERS = (0.0, 1e-12, 1e-10, 1e-8, 1e-6)  # relative to mean(diag K)


@dataclass(frozen=True)
class Posterior:
    """Predictive mean (m, k) and variance ((m,) diagonal, (m, m) covariance, or None) with how it was solved."""

    mean: torch.Tensor
    variance: torch.Tensor | None
    jitter: float = 0.0  # added to the diagonal of K (absolute)


def _targets(y: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    y = torch.as_tensor(y).to(dtype)
    y = y[:, None] if y.ndim == 1 else y
    if y.ndim != 2 or y.shape[0] != n:
        raise KernelSpecError(f"y must have {n} rows (one per training example), got shape {tuple(y.shape)}")
    return y


def _square(k: torch.Tensor, name: str) -> torch.Tensor:
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise KernelSpecError(f"{name} must be a square (n, n) kernel matrix, got shape {tuple(k.shape)}")
    return k


def _cross(k: torch.Tensor, n: int, name: str) -> torch.Tensor:
    if k.ndim != 2 or k.shape[1] != n:
        raise KernelSpecError(f"{name} must be (m, n) with n = {n} training examples, got shape {tuple(k.shape)}")
    return k


def gp_posterior(k_train: torch.Tensor, k_test_train: torch.Tensor, y: torch.Tensor,
                 k_test: torch.Tensor | None = None, noise: float = 0.0) -> Posterior:
    """Exact GP regression with kernel K and Gaussian observation noise of variance ``noise`` (see module doc)."""
    dtype = torch.float64
    k = _square(k_train, "k_train").to(dtype)
    n = k.shape[0]
    ks = _cross(k_test_train, n, "k_test_train").to(dtype)
    y = _targets(y, n, dtype).to(k.device)
    if not (math.isfinite(noise) and noise >= 0):
        raise KernelSpecError(f"noise must be a variance >= 0, got {noise}")
    scale = float(k.diagonal().mean())
    eye = torch.eye(n, dtype=dtype, device=k.device)
    for eps in _JITTERS:
        jitter = eps * scale
        chol, info = torch.linalg.cholesky_ex(k + (noise + jitter) * eye)
        if int(info) == 0:
            break
    else:
        raise KernelSpecError("gp_posterior: K + noise·I is not positive definite even with a jitter of "
                              f"{_JITTERS[-1]:g}·mean(diag K); pass noise > 0")
    mean = ks @ torch.cholesky_solve(y, chol)
    variance = None
    if k_test is not None:
        kt = k_test.to(dtype)
        half = torch.linalg.solve_triangular(chol, ks.T, upper=False)  # L⁻¹ K*ᵀ
        if kt.ndim == 1:
            variance = kt - (half * half).sum(0)
        else:
            variance = kt - half.T @ half
    return Posterior(mean=mean, variance=variance, jitter=jitter)


def flow_coefficients(eigenvalues: torch.Tensor, t: float, rcond: float = 1e-12,
                      gd_step: float | None = None) -> torch.Tensor:
    """g(λ) = (1 − e^{−λt})/λ per eigenvalue of Θ: t at λ = 0; 1/λ at t = ∞ (0 below rcond·λ_max: pseudo-inverse).
    With ``gd_step`` = s: gradient descent instead of the flow, t/s steps of size s: g(λ) = (1 − (1 − sλ)^{t/s})/λ."""
    lam = eigenvalues.clamp_min(0)
    tiny = rcond * float(lam.max()) if lam.numel() else 0.0
    if math.isinf(t):
        return torch.where(lam > tiny, 1 / lam.clamp_min(tiny if tiny > 0 else 1e-300), torch.zeros_like(lam))
    if gd_step is not None:
        steps = round(t / gd_step)  # a whole number of steps (1 − sλ may be negative)
        safe = torch.where(lam > tiny, lam, torch.ones_like(lam))
        return torch.where(lam > tiny, (1 - (1 - gd_step * lam) ** steps) / safe, torch.full_like(lam, t))
    small = lam * t < 1e-8
    return torch.where(small, t * (1 - lam * t / 2), -torch.expm1(-lam * t) / torch.where(small, torch.ones_like(lam), lam))


def ntk_predict(theta_train: torch.Tensor, theta_test_train: torch.Tensor, y: torch.Tensor, t: float = math.inf, *,
                gd_step: float | None = None,
                f0_train: torch.Tensor | None = None, f0_test: torch.Tensor | None = None,
                k_train: torch.Tensor | None = None, k_test_train: torch.Tensor | None = None,
                k_test: torch.Tensor | None = None) -> Posterior:
    """The MSE gradient-flow prediction at time ``t`` (module docstring for the time unit), with the variance over
    initializations (Lee et al. 2019, Eq. 16) when the NNGP blocks are given. ``gd_step``: discrete gradient descent
    with that step (in the same units: whynets' mse with learning rate η on N examples is 2η/N) for t/gd_step steps."""
    if not (t >= 0):
        raise KernelSpecError(f"t must be a time >= 0 (or math.inf), got {t}")
    dtype = torch.float64
    th = _square(theta_train, "theta_train").to(dtype)
    n = th.shape[0]
    ths = _cross(theta_test_train, n, "theta_test_train").to(dtype)
    y = _targets(y, n, dtype).to(th.device)
    lam, vec = torch.linalg.eigh((th + th.T) / 2)
    g = flow_coefficients(lam, t, gd_step=gd_step)
    weights = (ths @ vec) * g @ vec.T  # T = Θ* Θ⁻¹(I − e^{−Θt}): (m, n)
    residual = y if f0_train is None else y - _targets(f0_train, n, dtype).to(th.device)
    mean = weights @ residual
    if f0_test is not None:
        mean = mean + torch.as_tensor(f0_test).to(dtype).reshape(mean.shape)
    variance = None
    if k_train is not None and k_test_train is not None and k_test is not None:
        k = _square(k_train, "k_train").to(dtype)
        ks = _cross(k_test_train, n, "k_test_train").to(dtype)
        kt = k_test.to(dtype)
        tk = weights @ k
        if kt.ndim == 1:
            variance = kt + (tk * weights).sum(1) - 2 * (weights * ks).sum(1)
        else:
            cross = weights @ ks.T
            variance = kt + tk @ weights.T - cross - cross.T
    return Posterior(mean=mean, variance=variance)
