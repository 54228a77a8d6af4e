"""Shared pieces of the dynamics experiments (edge-of-stability, convergence, kernel-machine).

* ``Sharpness``: a probe reading every member's sharpness λ_max (top eigenvalue of the training-loss Hessian, the loss
  the run trains on; Lanczos) at each measurement step — Cohen et al.'s curve of sharpness along training.
* ``PathKernel``: a probe that accumulates, step by step, the path-kernel machine Σ_t Σ_i a_i(t) K_t(x, x_i) at the
  test inputs (``measure.path_kernel``) and reads the reconstruction error of the trained network against it.
* ``float64_mlp``: a whynets MLP in float64 (a model factory, ``ModelSpec(kind="factory")``): the engine trains in
  the model's dtype, and a loss followed down to 1e-12 of its start needs more than float32's 7 digits.
* ``fit_log_linear``: least-squares line through (step, log loss) with its R².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn as nn

from whynets.data import Dataset
from whynets.engine import Population, member_loss
from whynets.measure.hvp import HessianOperator, ModelLoss
from whynets.measure.lanczos import lanczos_eigenpairs
from whynets.measure.path_kernel import path_kernel_step
from whynets.models import ModelSpec, build
from whynets.probes import Probe

__all__ = ["Sharpness", "PathKernel", "float64_mlp", "sharpness", "fit_log_linear", "loss_fn"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def loss_fn(kind: str, n_classes: int):
    """The engine's training loss (``engine.member_loss``) as ``loss(outputs (B, C), y)`` of one model."""
    return lambda out, y: member_loss(out.unsqueeze(0), y, kind, n_classes, per_member=False)[0]


def sharpness(model: nn.Module, data: Dataset, loss: str = "mse", dtype: str = "float32", tol: float = 1e-3,
              seed: int = 0, max_steps: int | None = None) -> float:
    """λ_max of the Hessian of the full training loss (the engine's ``loss``) at the model's weights (Lanczos, at most
    ``max_steps`` Hessian-vector products: the extreme Ritz value converges long before its vector does when the top
    eigenvalues cluster, as the C output copies of a wide net's NTK do at initialization)."""
    model_loss = ModelLoss(model.eval(), loss_fn(loss, data.n_classes), [(data.x, data.y)], dtype=_DTYPES[dtype])
    pairs = lanczos_eigenpairs(HessianOperator(model_loss), 1, tol=tol, seed=seed, max_steps=max_steps)
    return float(pairs.eigenvalues[0])


@dataclass(frozen=True)
class Sharpness(Probe):
    """At every measurement: each member's sharpness λ_max of the training loss (``loss``), by Lanczos to a residual
    of ``tol``·λ_max, in ``dtype``; None for a member that diverged."""

    loss: str = field(default="mse", metadata={"help": "the training loss whose Hessian is measured"})
    tol: float = field(default=1e-3, metadata={"help": "Lanczos residual tolerance (relative to λ_max)"})
    dtype: str = field(default="float32", metadata={"help": "float32 | float64 Hessian-vector products"})
    max_steps: int = field(default=0, metadata={"help": "at most this many Lanczos steps (0: Lanczos' own default)"})

    def member(self, model, step, data):
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            return {"sharpness": None}
        return {"sharpness": sharpness(model, data, self.loss, self.dtype, self.tol, seed=step,
                                       max_steps=self.max_steps or None)}


def _flat(t: torch.Tensor) -> list[float]:
    return t.reshape(-1).double().tolist()


@dataclass(frozen=True)
class PathKernel(Probe):
    """The path-kernel machine accumulated step by step at the test inputs (run it with ``eval_every=1`` and plain
    full-batch gradient descent of step ``lr``). Row t holds, per member:

    * ``pk_sum``: A_t = Σ_{u ≤ t} Σ_i a_i(u) K_u(x, x_i) (the term of step t included), flattened (n_test · C);
    * ``pk_f0``: f_0 at the test inputs (row 0 only);
    * ``pk_change`` = ‖f_t − f_0‖ and ``pk_error`` = ‖f_t − f_0 − A_{t−1}‖ over the test inputs and outputs.

    Everything it needs from earlier steps is in the rows already measured (``history``), so it resumes exactly."""

    lr: float = field(default=0.01, metadata={"help": "the gradient-descent step the run trains with"})
    loss: str = field(default="mse", metadata={"help": "the training loss"})

    def __call__(self, pop: Population, step: int, data: Dataset, history: list[dict[str, Any]]) -> dict[str, list]:
        rows = [r for r in history if "pk_sum" in r]
        if rows and rows[-1]["step"] != step - 1:
            raise ValueError(f"PathKernel needs a measurement at every step (train.eval_every=1): step {step} follows "
                             f"{rows[-1]['step']}")
        out: dict[str, list] = {k: [None] * pop.size for k in ("pk_sum", "pk_f0", "pk_change", "pk_error")}
        for m in range(pop.size):
            model = pop.member(m).eval().double()
            xq = data.x_test.double()
            with torch.no_grad():
                f = model(xq).double()
            if not rows:
                f0, before = f.clone(), torch.zeros_like(f)
                out["pk_f0"][m] = _flat(f0)
            else:
                f0 = torch.tensor(rows[0]["pk_f0"][m], dtype=torch.float64).view_as(f)
                before = torch.tensor(rows[-1]["pk_sum"][m], dtype=torch.float64).view_as(f)
            term = path_kernel_step(model, data.x.double(), data.y, xq, self.lr, self.loss, data.n_classes)
            out["pk_sum"][m] = _flat(before + term)
            out["pk_change"][m] = float((f - f0).norm())
            out["pk_error"][m] = float((f - f0 - before).norm())
        return out


class Float64(nn.Module):
    """A module run in float64: its inputs are cast on the way in."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.double())


def float64_mlp(n_in: int, n_out: int, width: int, depth: int = 1, activation: str = "relu", sigma_w2: float = 2.0,
                sigma_b2: float = 0.0, parametrization: str = "ntk") -> nn.Module:
    """A whynets MLP (Gaussian init, σ_w², σ_b², ``parametrization``) in float64, for ``ModelSpec(kind="factory",
    factory="whynets.experiments._dynamics:float64_mlp")``. The factory is called with the member's seed set on
    torch's generator (``models.factory.call_factory``); the weights are drawn from an explicit generator with that
    seed."""
    spec = ModelSpec(kind="mlp", width=width, depth=depth, activation=activation, init="gaussian",
                     sigma_w2=sigma_w2, sigma_b2=sigma_b2, parametrization=parametrization)
    return Float64(build(spec, (n_in,), n_out, torch.Generator().manual_seed(torch.initial_seed())))


def fit_log_linear(steps: Sequence[float], losses: Sequence[float]) -> dict[str, float] | None:
    """Least squares log(loss) = a + slope·step: slope (per step), R², points; None with fewer than 3 points."""
    pts = [(float(s), math.log(v)) for s, v in zip(steps, losses) if v is not None and v > 0 and math.isfinite(v)]
    if len(pts) < 3:
        return None
    n = len(pts)
    mx = sum(s for s, _ in pts) / n
    my = sum(v for _, v in pts) / n
    sxx = sum((s - mx) ** 2 for s, _ in pts)
    sxy = sum((s - mx) * (v - my) for s, v in pts)
    syy = sum((v - my) ** 2 for _, v in pts)
    if sxx == 0 or syy == 0:
        return None
    slope = sxy / sxx
    resid = sum((v - my - slope * (s - mx)) ** 2 for s, v in pts)
    return {"slope": slope, "intercept": my - slope * mx, "r2": 1 - resid / syy, "points": n}
