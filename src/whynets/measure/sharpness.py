"""Sharpness of a minimum: ε-sharpness (Keskar et al. 2017) and worst-case ℓ2 sharpness (SAM-style).

ε-sharpness (Keskar, Mudigere, Nocedal, Smelyanskiy & Tang 2017, Metric 2.1, full space A = I):

    φ(w, ε) = 100 · (max_{δ ∈ C_ε} L(w + δ) − L(w)) / (1 + L(w)),   C_ε = {δ : |δ_i| ≤ ε(|w_i| + 1)}

in percent, as in the paper's tables. The paper solves the inner max with L-BFGS-B; here a few
steps of projected sign-gradient ascent: start at the corner that maximizes the linearization,
δ = ε(|w|+1)·sign(∇L), then δ ← clip(δ + η·ε(|w|+1)·sign(∇L(w+δ)), box). The best point seen
is reported, so the result is a lower bound on the true max (exact for a linear loss).

Worst-case sharpness in the ℓ2 ball (Foret et al. 2021, SAM's inner problem):

    max_{‖δ‖₂ ≤ ρ} L(w + δ) − L(w)

from the first-order step δ = ρ∇L/‖∇L‖ plus ``steps`` projected normalized-gradient ascent steps.

Adaptive worst-case sharpness (Kwon et al. 2021, ASAM; Andriushchenko et al. 2023, "A modern look at the
relationship between sharpness and generalization"): the ℓ2 ball measured in units of each weight's own size,

    max_{‖δ / |w|‖₂ ≤ ρ} L(w + δ) − L(w)      (δ = |w| ⊙ u, ‖u‖₂ ≤ ρ)

so it does not change when a ReLU network is reparametrized without changing its function (layer l's weights
× c, layer l+1's ÷ c), while plain ℓ2 and ε-sharpness do (tested).

Magnitude-aware PAC-Bayes flatness (Jiang et al. 2020, "Fantastic generalization measures", eq. 61):
``magnitude_aware_sigma`` — the largest σ whose noise u_i ~ N(0, σ²w_i² + ε²) costs at most a target accuracy.

Run the oracle tests with ``pytest tests/test_measure_landscape.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from .hvp import LossFn, ModelLoss

__all__ = ["SharpnessResult", "epsilon_sharpness", "worst_case_sharpness", "adaptive_sharpness", "magnitude_aware_sigma"]


@dataclass(frozen=True)
class SharpnessResult:
    """``sharpness`` (percent for ε-sharpness, loss increase for ℓ2), L(w), max L(w+δ) found, the δ, steps."""

    sharpness: float
    base_loss: float
    max_loss: float
    delta: torch.Tensor
    steps: int


def _ascent(ml: ModelLoss, delta: torch.Tensor, step, project, steps: int):
    """Projected ascent from ``delta``; returns (best loss, best delta)."""
    best_loss, best = float(ml.loss(ml.theta + delta)), delta
    for _ in range(steps):
        _, g = ml.gradient(ml.theta + delta)
        if not torch.isfinite(g).all():
            raise FloatingPointError("non-finite gradient during the sharpness ascent; lower epsilon/rho")
        delta = project(delta + step(g))
        loss = float(ml.loss(ml.theta + delta))
        if loss > best_loss:
            best_loss, best = loss, delta
    return best_loss, best


def epsilon_sharpness(model: nn.Module, loss_fn: LossFn, batches, epsilon: float = 1e-3, *, steps: int = 10,
                      step_size: float = 0.5, bn_mode: str = "eval", dtype: torch.dtype | None = None) -> SharpnessResult:
    """Keskar et al.'s ε-sharpness in percent (box |δ_i| ≤ ε(|w_i|+1); ``steps`` ascent steps after the
    first-order corner; each step moves ``step_size`` of the box width per coordinate).

    >>> epsilon_sharpness(model, nn.functional.cross_entropy, [(x, y)], epsilon=5e-4).sharpness
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    ml = ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    box = epsilon * (ml.theta.abs() + 1)
    base, g = ml.gradient()
    base = float(base)
    best_loss, best = _ascent(ml, box * torch.sign(g), lambda g: step_size * box * torch.sign(g),
                              lambda d: torch.maximum(torch.minimum(d, box), -box), steps)
    sharp = 100.0 * (max(best_loss, base) - base) / (1.0 + base)
    return SharpnessResult(sharp, base, max(best_loss, base), best, steps)


def worst_case_sharpness(model: nn.Module, loss_fn: LossFn, batches, rho: float = 0.05, *, steps: int = 0,
                         step_size: float = 0.5, bn_mode: str = "eval", dtype: torch.dtype | None = None) -> SharpnessResult:
    """max over ‖δ‖₂ ≤ ρ of L(w+δ) − L(w): SAM's step ρ∇L/‖∇L‖, then ``steps`` projected ascent steps
    of length ``step_size``·ρ along the normalized gradient.

    >>> worst_case_sharpness(model, nn.functional.cross_entropy, [(x, y)], rho=0.05, steps=5).sharpness
    """
    if rho <= 0:
        raise ValueError(f"rho must be > 0, got {rho}")
    ml = ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    base, g = ml.gradient()
    base = float(base)
    norm = g.norm()
    if norm == 0:
        raise ValueError("the gradient is exactly zero, so the first-order step has no direction; "
                         "use epsilon_sharpness or pass a point with a non-zero gradient")

    def project(d):
        n = d.norm()
        return d if n <= rho else d * (rho / n)

    best_loss, best = _ascent(ml, rho * g / norm, lambda g: step_size * rho * g / g.norm().clamp_min(1e-300),
                              project, steps)
    return SharpnessResult(max(best_loss, base) - base, base, max(best_loss, base), best, steps)


def adaptive_sharpness(model: nn.Module, loss_fn: LossFn, batches, rho: float = 0.05, *, steps: int = 5,
                       step_size: float = 0.5, bn_mode: str = "eval", dtype: torch.dtype | None = None) -> SharpnessResult:
    """max over ‖δ/|w|‖₂ ≤ ρ of L(w+δ) − L(w) (elementwise-normalized ℓ2 ball: invariant to the rescalings that
    keep a ReLU network's function): first-order step, then ``steps`` projected ascent steps in the normalized
    coordinates u = δ/|w| (weights that are exactly 0 cannot move).

    >>> adaptive_sharpness(model, nn.functional.cross_entropy, [(x, y)], rho=0.05).sharpness
    """
    if rho <= 0:
        raise ValueError(f"rho must be > 0, got {rho}")
    ml = ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    scale = ml.theta.abs()
    base, g = ml.gradient()
    base = float(base)
    gu = g * scale  # the gradient with respect to u
    norm = gu.norm()
    if norm == 0:
        raise ValueError("the gradient is zero in the normalized coordinates: no ascent direction at this point")

    tiny = torch.finfo(scale.dtype).tiny  # 1e-300 is 0 in float32: a zero weight then gave 0/0 and a NaN ball

    def project(d):
        u = torch.where(scale > 0, d / scale.clamp_min(tiny), torch.zeros_like(d))  # a zero weight cannot move
        n = u.norm()
        return d if n <= rho else d * (rho / n)

    best_loss, best = _ascent(ml, scale * (rho * gu / norm),
                              lambda g: scale * (step_size * rho * (g * scale) / (g * scale).norm().clamp_min(tiny)),
                              project, steps)
    return SharpnessResult(max(best_loss, base) - base, base, max(best_loss, base), best, steps)


def magnitude_aware_sigma(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, target: float = 0.1,
                          eps: float = 1e-3, samples: int = 8, steps: int = 12, sigma_max: float = 2.0,
                          seed: int = 0) -> float:
    """Jiang et al.'s σ' (their eq. 61): the largest σ with E_u[acc(w) − acc(w + u)] <= ``target`` on (x, y),
    u_i ~ N(0, σ²w_i² + ε²), by bisection on [0, ``sigma_max``]; the same ``samples`` standard-normal draws serve
    every σ (common random numbers), so the search is deterministic given ``seed``. ``sigma_max`` if even it
    costs less than ``target``. Returns the midpoint of the last bracket (resolution sigma_max / 2^steps)."""
    params = {k: v.detach() for k, v in net.named_parameters()}
    gen = torch.Generator().manual_seed(seed)
    noise = [{k: torch.randn(v.shape, generator=gen, dtype=torch.float64).to(v) for k, v in params.items()}
             for _ in range(samples)]

    @torch.no_grad()
    def acc(p: dict[str, torch.Tensor]) -> float:
        return float((functional_call(net, p, (x,)).argmax(-1) == y).double().mean())

    base = acc(params)

    def drop(sigma: float) -> float:
        return base - sum(acc({k: v + z[k] * torch.sqrt(sigma ** 2 * v ** 2 + eps ** 2) for k, v in params.items()})
                          for z in noise) / samples

    if drop(sigma_max) <= target:
        return sigma_max
    lo, hi = 0.0, sigma_max
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if drop(mid) > target else (mid, hi)
    return (lo + hi) / 2
