"""Uniform stability of SGD (Hardt, Recht & Singer 2016, "Train faster, generalize better: stability of
stochastic gradient descent", ICML; arXiv:1509.01240).

Setting: the stochastic gradient method w_{t+1} = w_t − α_t ∇f(w_t; z_{i_t}) with i_t uniform on {1..n}, run
on two data sets S, S' that differ in one example, with the same sequence i_t. Uniform stability ε_stab
bounds the expected generalization gap. Norms are Euclidean on the parameters; L is the Lipschitz
constant of w ↦ f(w; z) (sup_w,z ‖∇f(w; z)‖₂), β the smoothness (sup ‖∇²f‖₂), γ the strong convexity.

* Theorem 3.8 (convex, L-Lipschitz, β-smooth, α_t ≤ 2/β): ε_stab ≤ (2L²/n) Σ_{t≤T} α_t. Its proof bounds the
  parameter divergence δ_T = E‖w_T − w'_T‖ ≤ (2L/n) Σ_{t≤T} α_t (the gradient step is 1-expansive; the
  differing example, drawn with probability 1/n, adds at most 2α_tL), and ε_stab ≤ L·δ_T.
  ``convex_stability_bound`` / ``convex_divergence_bound`` return these after each step t = 1..T.
* Theorem 3.9 (γ-strongly convex, β-smooth, L-Lipschitz on the projection domain, α ≤ 1/β):
  ε_stab ≤ 2L²/(γn) for every T. The proof's recursion δ_{t+1} ≤ (1 − α_tγ)δ_t + 2α_tL/n gives the per-step
  δ_t; with a constant α, δ_t = (2L/(γn))(1 − (1 − αγ)^t) ↑ 2L/(γn). ``strongly_convex_stability_bound``
  returns L·δ_t (≤ the theorem's 2L²/(γn)), ``strongly_convex_divergence_bound`` returns δ_t.
* Theorem 3.12 (non-convex, f ∈ [0, 1], L-Lipschitz, β-smooth, non-increasing α_t ≤ c/t):
  ε_stab ≤ (1 + 1/(βc))/(n − 1) · (2cL²)^{1/(βc+1)} · T^{βc/(βc+1)}; ``nonconvex_stability_bound`` returns it
  for T = 1..num_steps.
* ``logistic_constants(X)`` — (L, β) of the logistic loss log(1 + exp(−y wᵀx)), y ∈ {±1}, over the rows of X:
  ∇ = −y σ(−y wᵀx) x so L = max_i ‖x_i‖₂, and ∇² = σ(1 − σ) x xᵀ ⪯ ‖x‖₂²/4 so β = max_i ‖x_i‖₂²/4 (the ℓ2 norm
  of x, the spectral norm of the Hessian). Append a column of ones to X to include a bias.
* ``softmax_constants(x)`` — (L, β, R) of multiclass softmax cross-entropy in (W, b): √2·R and R²/2.
* ``parameter_divergence(a, b)`` — ‖w − w'‖₂ for each pair of a population stacked on a leading axis.

Oracle tests: ``pytest tests/test_measure_stability.py``.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

__all__ = [
    "convex_stability_bound",
    "convex_divergence_bound",
    "strongly_convex_stability_bound",
    "strongly_convex_divergence_bound",
    "nonconvex_stability_bound",
    "logistic_constants",
    "softmax_constants",
    "parameter_divergence",
]


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _sample_size(n: int) -> int:
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be the number of training examples (a whole number ≥ 1), got {n!r}")
    return n


def _steps(step_sizes, limit: float | None, rule: str) -> torch.Tensor:
    alphas = torch.as_tensor(step_sizes, dtype=torch.float64).reshape(-1)
    if alphas.numel() == 0:
        raise ValueError("step_sizes is empty; give one step size per SGD step")
    if not (torch.isfinite(alphas).all() and (alphas >= 0).all()):
        raise ValueError("step_sizes must be finite and non-negative")
    if limit is not None and bool((alphas > limit * (1 + 1e-6)).any()):
        t = int(torch.nonzero(alphas > limit * (1 + 1e-6))[0]) + 1
        raise ValueError(f"step size α_{t} = {float(alphas[t - 1]):.6g} exceeds {rule} = {limit:.6g}; the theorem "
                         f"needs every α_t ≤ {rule} (use smaller steps or check β)")
    return alphas


def convex_divergence_bound(lipschitz: float, n: int, step_sizes, smoothness: float | None = None) -> torch.Tensor:
    """E‖w_t − w'_t‖ ≤ (2L/n) Σ_{s≤t} α_s for t = 1..T (proof of Thm 3.8); checks α_t ≤ 2/β when β is given."""
    lip, n = _positive(lipschitz, "lipschitz"), _sample_size(n)
    limit = None if smoothness is None else 2.0 / _positive(smoothness, "smoothness")
    return (2.0 * lip / n) * torch.cumsum(_steps(step_sizes, limit, "2/β"), 0)


def convex_stability_bound(lipschitz: float, n: int, step_sizes, smoothness: float | None = None) -> torch.Tensor:
    """Theorem 3.8: ε_stab ≤ (2L²/n) Σ_{s≤t} α_s for t = 1..T (convex, L-Lipschitz, β-smooth, α_t ≤ 2/β)."""
    return float(lipschitz) * convex_divergence_bound(lipschitz, n, step_sizes, smoothness)


def strongly_convex_divergence_bound(lipschitz: float, strong_convexity: float, n: int, step_sizes,
                                     smoothness: float | None = None) -> torch.Tensor:
    """δ_t from δ_{s+1} = (1 − α_sγ)δ_s + 2α_sL/n, δ_0 = 0, for t = 1..T (proof of Thm 3.9); ≤ 2L/(γn).
    Checks α_t ≤ 1/β when β is given (and always α_t ≤ 1/γ, as γ ≤ β)."""
    lip, gamma, n = _positive(lipschitz, "lipschitz"), _positive(strong_convexity, "strong_convexity"), _sample_size(n)
    if smoothness is not None and _positive(smoothness, "smoothness") < gamma:
        raise ValueError(f"smoothness β = {smoothness} is below strong_convexity γ = {gamma}; a function has γ ≤ β")
    limit, rule = (1.0 / gamma, "1/γ") if smoothness is None else (1.0 / smoothness, "1/β")
    alphas = _steps(step_sizes, limit, rule)
    out = torch.empty_like(alphas)
    delta = 0.0
    for t, alpha in enumerate(alphas.tolist()):
        delta = (1.0 - alpha * gamma) * delta + 2.0 * alpha * lip / n
        out[t] = delta
    return out


def strongly_convex_stability_bound(lipschitz: float, strong_convexity: float, n: int, step_sizes,
                                    smoothness: float | None = None) -> torch.Tensor:
    """L·δ_t for t = 1..T (proof of Thm 3.9); never above the theorem's ε_stab ≤ 2L²/(γn)."""
    return float(lipschitz) * strongly_convex_divergence_bound(lipschitz, strong_convexity, n, step_sizes, smoothness)


def nonconvex_stability_bound(lipschitz: float, smoothness: float, n: int, c: float, num_steps: int,
                              step_sizes=None) -> torch.Tensor:
    """Theorem 3.12: ε_stab ≤ (1 + 1/(βc))/(n − 1) · (2cL²)^{1/(βc+1)} · T^{βc/(βc+1)} for T = 1..num_steps
    (loss in [0, 1], L-Lipschitz, β-smooth, non-increasing α_t ≤ c/t; pass ``step_sizes`` to check that)."""
    lip, beta, c = _positive(lipschitz, "lipschitz"), _positive(smoothness, "smoothness"), _positive(c, "c")
    if not (isinstance(n, int) and n >= 2):
        raise ValueError(f"n must be a whole number ≥ 2 (the bound divides by n − 1), got {n!r}")
    if not (isinstance(num_steps, int) and num_steps >= 1):
        raise ValueError(f"num_steps must be a whole number ≥ 1, got {num_steps!r}")
    if step_sizes is not None:
        alphas = _steps(step_sizes, None, "")
        if alphas.numel() != num_steps:
            raise ValueError(f"step_sizes has {alphas.numel()} entries but num_steps = {num_steps}")
        t = torch.arange(1, num_steps + 1, dtype=torch.float64)
        bad = torch.nonzero(alphas > (c / t) * (1 + 1e-6))
        if bad.numel():
            i = int(bad[0])
            raise ValueError(f"step size α_{i + 1} = {float(alphas[i]):.6g} exceeds c/t = {c / (i + 1):.6g}; "
                             "Theorem 3.12 needs α_t ≤ c/t")
        if bool((alphas[1:] > alphas[:-1] * (1 + 1e-12)).any()):
            raise ValueError("Theorem 3.12 needs non-increasing step sizes; step_sizes increases somewhere")
    q = beta * c
    steps = torch.arange(1, num_steps + 1, dtype=torch.float64)
    return (1.0 + 1.0 / q) / (n - 1) * (2.0 * c * lip * lip) ** (1.0 / (q + 1.0)) * steps ** (q / (q + 1.0))


def logistic_constants(X: torch.Tensor) -> tuple[float, float]:
    """(L, β) = (max_i ‖x_i‖₂, max_i ‖x_i‖₂² / 4) of the logistic loss log(1 + exp(−y wᵀx)) over rows x_i of X,
    in the ℓ2 norm on w (β bounds the spectral norm of the Hessian)."""
    x = torch.as_tensor(X).to(torch.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (n, d) matrix of inputs, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("X contains NaN or Inf")
    top = float(torch.linalg.vector_norm(x, dim=1).max())
    return top, top * top / 4.0


def softmax_constants(x: torch.Tensor) -> tuple[float, float, float]:
    """(L, β, R) of softmax cross-entropy in (W, b) over the rows of ``x`` (flattened): R = max‖(x, 1)‖₂,
    L = √2·R, β = R²/2 (``logistic_constants`` of (x, 1), the binary loss's R and R²/4, times √2 and 2)."""
    flat = torch.as_tensor(x).flatten(1).to(torch.float64)
    lip, beta = logistic_constants(torch.cat([flat, torch.ones(len(flat), 1, dtype=torch.float64)], 1))
    return math.sqrt(2.0) * lip, 2.0 * beta, lip


def _flat(params, name: str) -> torch.Tensor:
    if isinstance(params, torch.Tensor):
        tensors = [params]
    elif isinstance(params, Mapping):
        tensors = [params[k] for k in sorted(params)]
    elif isinstance(params, Sequence):
        tensors = list(params)
    else:
        raise ValueError(f"{name} must be a tensor, a dict of tensors or a list of tensors (leading axis = pair)")
    if not tensors or any(torch.as_tensor(p).ndim == 0 for p in tensors):
        raise ValueError(f"{name}: every tensor needs a leading population axis (K, ...)")
    k = torch.as_tensor(tensors[0]).shape[0]
    if any(torch.as_tensor(p).shape[0] != k for p in tensors):
        raise ValueError(f"{name}: tensors disagree on the population size (leading axis)")
    return torch.cat([torch.as_tensor(p).detach().to(torch.float64).reshape(k, -1) for p in tensors], 1)


def parameter_divergence(params_a, params_b) -> torch.Tensor:
    """‖w_k − w'_k‖₂ over all parameters, one value per population member k (shape (K,)). Inputs: a (K, ...)
    tensor, or dicts / lists of such tensors with the same keys / order and shapes."""
    if isinstance(params_a, Mapping) and isinstance(params_b, Mapping) and set(params_a) != set(params_b):
        raise ValueError(f"params_a and params_b have different keys: {sorted(set(params_a) ^ set(params_b))}")
    a, b = _flat(params_a, "params_a"), _flat(params_b, "params_b")
    if a.shape != b.shape:
        raise ValueError(f"params_a and params_b differ in shape after flattening: {tuple(a.shape)} vs "
                         f"{tuple(b.shape)}")
    return torch.linalg.vector_norm(a - b.to(a.device), dim=1)
