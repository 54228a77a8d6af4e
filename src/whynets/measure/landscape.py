"""Loss landscapes: linear interpolation between two solutions, and filter-normalized 1-D/2-D surfaces.

Linear interpolation (Goodfellow, Vinyals & Saxe 2015; Frankle, Dziugaite, Roy & Carbin 2020):
L and the error at θ(t) = (1−t)θ_a + tθ_b for ``num_points`` values of t in [0, 1]. The barrier is
max_t [v(t) − ((1−t)v(0) + t·v(1))], the largest rise above the straight line between the endpoints
(0 for a convex path; Frankle et al. call two solutions linearly connected when the error barrier is ≈ 0).
Floating buffers (BatchNorm running statistics) are interpolated too; integer buffers come from θ_a.

Filter-normalized directions (Li, Xu, Taylor, Studer & Goldstein 2018, §4): a Gaussian direction d,
each filter (slice along the first dimension of a weight: a conv filter or one neuron's input
weights) rescaled to the norm of the matching filter of the weights, d_i ← d_i·‖θ_i‖/‖d_i‖. Parameters
with ≤ 1 dimension (biases, BatchNorm/LayerNorm scales and shifts) get a zero direction by default,
as in their "ignore biasbn" setting (or a copy of the weights, their other setting). Surfaces are
L(θ + a·d₁ [+ b·d₂]) on a grid, with BatchNorm in the caller's mode; buffers are never changed.

Run the oracle tests with ``pytest tests/test_measure_landscape.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .hvp import LossFn, ModelLoss
from .lanczos import make_generator

__all__ = ["InterpolationResult", "LossSurface", "barrier", "linear_interpolation",
           "filter_normalized_direction", "loss_surface_1d", "loss_surface_2d"]

ErrorFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class InterpolationResult:
    """t (p,), loss (p,), error (p,) or None, and the barriers of loss and error."""

    t: torch.Tensor
    loss: torch.Tensor
    error: torch.Tensor | None
    loss_barrier: float
    error_barrier: float | None


@dataclass(frozen=True)
class LossSurface:
    """Loss (and error) at θ + a·d₁ (shape (A,)) or θ + a·d₁ + b·d₂ (shape (A, B)); the directions used."""

    alphas: torch.Tensor
    betas: torch.Tensor | None
    loss: torch.Tensor
    error: torch.Tensor | None
    directions: list[dict[str, torch.Tensor]]


def classification_error(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max is not the label."""
    return (out.argmax(1) != y).double().mean()


def barrier(values: torch.Tensor, t: torch.Tensor) -> float:
    """max_t [v(t) − ((1−t)v(0) + t·v(1))] for a path sampled at increasing t from 0 to 1."""
    line = (1 - t) * values[0] + t * values[-1]
    return float((values - line).max())


def _error_fn(error_fn, ml: ModelLoss):
    if error_fn != "auto":
        return error_fn
    y = ml.batches[0][1]
    return classification_error if not y.is_floating_point() and y.dim() == 1 else None


def _evaluate(ml: ModelLoss, theta: torch.Tensor, buffers: dict, error_fn) -> tuple[float, float]:
    """(average loss, average error or NaN) at θ, each batch on fresh copies of ``buffers``."""
    loss = err = 0.0
    with torch.no_grad():
        for b, (_, y, w) in enumerate(ml.batches):
            out = ml.outputs(theta, b, {n: t.clone() for n, t in buffers.items()})
            loss += w * float(ml.loss_fn(out, y))
            err = err + w * float(error_fn(out, y)) if error_fn is not None else float("nan")
    return loss, err


def _point(ml: ModelLoss, params) -> tuple[torch.Tensor, dict]:
    """A parameter set as (flat θ, buffers): an nn.Module, or a dict such as a state_dict."""
    if isinstance(params, nn.Module):
        named = {**dict(params.named_parameters()), **dict(params.named_buffers())}
    elif isinstance(params, dict):
        named = params
    else:
        raise TypeError(f"parameters must be an nn.Module or a dict of tensors, got {type(params).__name__}")
    buffers = {n: ml._cast(named[n].detach()) if n in named else b for n, b in ml.buffers.items()}
    return ml.flatten(named), buffers


def linear_interpolation(model: nn.Module, loss_fn: LossFn, batches, params_a, params_b, num_points: int = 11, *,
                         bn_mode: str = "eval", dtype: torch.dtype | None = None,
                         error_fn: ErrorFn | str | None = "auto") -> InterpolationResult:
    """Loss and error along (1−t)θ_a + tθ_b, t = 0 … 1 (``num_points``), and their barriers.

    ``model`` gives the architecture; ``params_a``/``params_b`` are models or state dicts.
    ``error_fn="auto"`` is the classification error when the labels are class indices.

    >>> r = linear_interpolation(model, nn.functional.cross_entropy, [(x, y)], model_a, model_b)
    >>> r.error_barrier
    """
    if num_points < 2:
        raise ValueError(f"num_points must be >= 2 (the endpoints), got {num_points}")
    ml = ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    error_fn = _error_fn(error_fn, ml)
    (theta_a, buf_a), (theta_b, buf_b) = _point(ml, params_a), _point(ml, params_b)
    t = torch.linspace(0, 1, num_points, dtype=torch.float64)
    losses, errors = [], []
    for ti in t.tolist():
        bufs = {n: (1 - ti) * a + ti * buf_b[n] if a.is_floating_point() else a for n, a in buf_a.items()}
        loss, err = _evaluate(ml, (1 - ti) * theta_a + ti * theta_b, bufs, error_fn)
        losses.append(loss)
        errors.append(err)
    losses, errors = torch.tensor(losses, dtype=torch.float64), torch.tensor(errors, dtype=torch.float64)
    has_error = error_fn is not None
    return InterpolationResult(t, losses, errors if has_error else None, barrier(losses, t),
                               barrier(errors, t) if has_error else None)


def filter_normalized_direction(model: nn.Module, *, generator: torch.Generator | None = None, seed: int = 0,
                                ignore_bias_and_bn: bool = True) -> dict[str, torch.Tensor]:
    """A Gaussian direction with each filter scaled to the norm of the model's matching weight filter.

    Parameters with ≤ 1 dimension get zeros (``ignore_bias_and_bn``) or a copy of their values.
    Drawn on the CPU from ``generator`` (or ``seed``) in ``named_parameters`` order.
    """
    gen = make_generator(generator, seed)
    direction = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        w = p.detach()
        d = torch.randn(w.shape, generator=gen, dtype=torch.float64).to(w.device, w.dtype)
        if w.dim() <= 1:
            d = torch.zeros_like(w) if ignore_bias_and_bn else w.clone()
        else:
            w_norms = w.reshape(len(w), -1).norm(dim=1)
            d_norms = d.reshape(len(d), -1).norm(dim=1)
            d = d * (w_norms / (d_norms + 1e-10)).reshape(-1, *[1] * (w.dim() - 1))
        direction[name] = d
    return direction


def _surface(model, loss_fn, batches, alphas, betas, directions, bn_mode, dtype, error_fn) -> LossSurface:
    ml = ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    error_fn = _error_fn(error_fn, ml)
    flat = [ml.flatten(d) for d in directions]
    alphas = torch.as_tensor(alphas, dtype=torch.float64)
    grid_b = [0.0] if betas is None else torch.as_tensor(betas, dtype=torch.float64).tolist()
    loss = torch.empty(len(alphas), len(grid_b), dtype=torch.float64)
    error = torch.empty_like(loss)
    for i, a in enumerate(alphas.tolist()):
        for j, b in enumerate(grid_b):
            theta = ml.theta + a * flat[0] + (b * flat[1] if betas is not None else 0)
            loss[i, j], error[i, j] = _evaluate(ml, theta, ml.buffers, error_fn)
    if betas is None:
        loss, error = loss[:, 0], error[:, 0]
    betas = None if betas is None else torch.as_tensor(betas, dtype=torch.float64)
    return LossSurface(alphas, betas, loss, error if error_fn is not None else None, directions)


def loss_surface_1d(model: nn.Module, loss_fn: LossFn, batches, alphas=None, *, direction=None, seed: int = 0,
                    generator: torch.Generator | None = None, bn_mode: str = "eval",
                    dtype: torch.dtype | None = None, error_fn: ErrorFn | str | None = "auto") -> LossSurface:
    """L(θ + a·d) for a in ``alphas`` (default 21 points in [−1, 1]); d filter-normalized unless given."""
    alphas = torch.linspace(-1, 1, 21) if alphas is None else alphas
    direction = direction or filter_normalized_direction(model, generator=generator, seed=seed)
    return _surface(model, loss_fn, batches, alphas, None, [direction], bn_mode, dtype, error_fn)


def loss_surface_2d(model: nn.Module, loss_fn: LossFn, batches, alphas=None, betas=None, *, directions=None,
                    seed: int = 0, generator: torch.Generator | None = None, bn_mode: str = "eval",
                    dtype: torch.dtype | None = None, error_fn: ErrorFn | str | None = "auto") -> LossSurface:
    """L(θ + a·d₁ + b·d₂) on the ``alphas`` × ``betas`` grid (default 11 × 11 in [−1, 1]²).

    >>> s = loss_surface_2d(model, nn.functional.cross_entropy, [(x, y)], seed=0)
    >>> plt.contour(s.alphas, s.betas, s.loss.T)
    """
    alphas = torch.linspace(-1, 1, 11) if alphas is None else alphas
    betas = torch.linspace(-1, 1, 11) if betas is None else betas
    if directions is None:
        gen = make_generator(generator, seed)
        directions = [filter_normalized_direction(model, generator=gen) for _ in range(2)]
    if len(directions) != 2:
        raise ValueError(f"a 2-D surface needs two directions, got {len(directions)}")
    return _surface(model, loss_fn, batches, alphas, betas, list(directions), bn_mode, dtype, error_fn)
