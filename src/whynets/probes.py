"""Probes: an instrument applied to every member of a population at each measurement step.

A probe is a frozen ``Spec``, so its parameters are part of the key of every cell that uses it (change one and
the cell is new). ``probe(pop, step, data, history)`` returns per-member lists for the measurement row;
``history`` holds the rows measured so far, so a probe that reads each member once (at a matched loss, say)
needs no state of its own and resumes correctly. ``probe.member(model, step, data)`` is the same reading of one
``nn.Module`` — a population member or a user's model, by one code path.

    >>> from whynets.probes import Validation          # ctx.train(..., probe=Validation())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from whynets.data import Dataset
from whynets.engine import Population, evaluate
from whynets.measure.curvature import eigengap_outliers
from whynets.measure.fisher import fisher_trace
from whynets.measure.hvp import HessianOperator, ModelLoss
from whynets.measure.lanczos import lanczos_eigenpairs
from whynets.measure.norms import path_norm
from whynets.measure.sharpness import epsilon_sharpness
from whynets.measure.stability import parameter_divergence
from whynets.models.padding import padding_residual
from whynets.spec import Spec

__all__ = ["Probe", "Validation", "SharpnessAtLoss", "OutlierCount", "InitCurvature", "PaddedNorms", "FisherTrace",
           "Snapshot", "PairDivergence"]


def _loss64(model: torch.nn.Module, ds: Dataset) -> ModelLoss:
    return ModelLoss(model, F.cross_entropy, [(ds.x, ds.y)], dtype=torch.float64)


@dataclass(frozen=True)
class Probe(Spec):
    """Base class: ``member`` reads one model; ``__call__`` reads every member of a population."""

    def member(self, model: torch.nn.Module, step: int, data: Dataset) -> dict[str, Any]:
        raise NotImplementedError

    def __call__(self, pop: Population, step: int, data: Dataset, history: list[dict[str, Any]]) -> dict[str, list]:
        rows = [self.member(pop.member(m), step, data) for m in range(pop.size)]
        return {key: [r.get(key) for r in rows] for key in (rows[0] if rows else {})}


@dataclass(frozen=True)
class Validation(Probe):
    """Loss (cross-entropy; squared error for float targets) and accuracy on the data's validation split
    (``DataSpec.holdout``), for early stopping."""

    def __call__(self, pop, step, data, history):
        if data.x_val is None:
            raise ValueError("the Validation probe needs a validation split: set data.holdout=N")
        kind = "mse" if data.y_val.is_floating_point() else "ce"  # regression targets: squared error
        loss, acc = evaluate(pop, data.x_val.to(pop.device), data.y_val.to(pop.device), kind, data.n_classes)
        return {"val_loss": loss.tolist(), "val_acc": acc.tolist()}


@dataclass(frozen=True)
class SharpnessAtLoss(Probe):
    """At each member's first measurement with training loss <= ``target_loss``: λ_max of the training-loss
    Hessian (Lanczos, float64), Keskar et al.'s ε-sharpness and the float64 loss; None elsewhere."""

    target_loss: float = field(default=0.1, metadata={"help": "matched training loss"})
    epsilon: float = field(default=1e-3, metadata={"help": "ε of Keskar et al.'s box"})
    ascent_steps: int = field(default=10, metadata={"help": "projected ascent steps of the ε-sharpness max"})
    lanczos_tol: float = field(default=1e-4, metadata={"help": "Lanczos residual tolerance"})

    def member(self, model, step, data):
        model = model.eval()
        ml = _loss64(model, data)
        top = lanczos_eigenpairs(HessianOperator(ml), 1, tol=self.lanczos_tol, seed=step)
        sharp = epsilon_sharpness(model, F.cross_entropy, [(data.x, data.y)], self.epsilon, steps=self.ascent_steps,
                                  dtype=torch.float64)
        return {"lambda_max": float(top.eigenvalues[0]), "eps_sharpness": sharp.sharpness, "matched_loss": float(ml.loss())}

    def __call__(self, pop, step, data, history):
        done = {m for r in history for m, v in enumerate(r.get("lambda_max") or []) if v is not None}
        losses, _ = evaluate(pop, data.x.to(pop.device), data.y.to(pop.device), "ce", data.n_classes)
        out: dict[str, list] = {k: [None] * pop.size for k in ("lambda_max", "eps_sharpness", "matched_loss")}
        for m in range(pop.size):
            if m in done or float(losses[m]) > self.target_loss:
                continue
            for k, v in self.member(pop.member(m), m, data).items():  # seed of Lanczos: the member index
                out[k][m] = v
        return out


@dataclass(frozen=True)
class OutlierCount(Probe):
    """In a training-loss window: the top 2C + 1 Hessian eigenvalues (Lanczos, float64) and the eigengap count."""

    window: tuple[float, float] = field(default=(0.3, 1.0), metadata={"help": "training-loss window"})
    lanczos_tol: float = field(default=1e-3, metadata={"help": "Lanczos residual tolerance (relative to λ_max)"})

    def member(self, model, step, data):
        ml = _loss64(model, data)
        loss = float(ml.loss())
        top = None
        if self.window[0] <= loss <= self.window[1]:
            pairs = lanczos_eigenpairs(HessianOperator(ml), 2 * data.n_classes + 1, tol=self.lanczos_tol, seed=step)
            top = pairs.eigenvalues.tolist()
        return {"loss64": loss, "top": top, "outliers": None if top is None else eigengap_outliers(top, data.n_classes)}


@dataclass(frozen=True)
class InitCurvature(Probe):
    """At step 0 only: λ_max and λ_min of the training-loss Hessian (Lanczos, float64)."""

    tol: float = field(default=1e-4, metadata={"help": "Lanczos residual tolerance"})

    def member(self, model, step, data):
        op = HessianOperator(_loss64(model, data))
        return {"init_max": float(lanczos_eigenpairs(op, 1, tol=self.tol).eigenvalues[0]),
                "init_min": float(lanczos_eigenpairs(op, 1, which="smallest", tol=self.tol).eigenvalues[0])}

    def __call__(self, pop, step, data, history):
        return super().__call__(pop, step, data, history) if step == 0 else {}


@dataclass(frozen=True)
class PaddedNorms(Probe):
    """Every member's ℓ2 path norm and how far its padding strayed from zero (member k is ``widths[k]`` wide)."""

    widths: tuple[int, ...] = field(default=(), metadata={"help": "each member's own hidden width"})

    def __call__(self, pop, step, data, history):
        members = [pop.member(k) for k in range(pop.size)]
        return {"path_norm": [path_norm(m) for m in members],
                "padding": [padding_residual(m, w) for m, w in zip(members, self.widths)]}


@dataclass(frozen=True)
class FisherTrace(Probe):
    """The exact Fisher trace E_{ŷ~p}‖∇ log p(ŷ|x)‖² over the first ``examples`` training examples."""

    examples: int = field(default=256, metadata={"help": "training examples the trace averages over"})

    def member(self, model, step, data):
        xb, yb = data.x[:self.examples], data.y[:self.examples]
        return {"fisher_trace": fisher_trace(model, [(xb, yb)], kind="exact").estimate}


@dataclass(frozen=True)
class Snapshot(Probe):
    """Every member's flat parameter vector (e.g. starts of a critical-point search)."""

    def __call__(self, pop, step, data, history):
        return {"theta": [torch.cat([t[m].detach().reshape(-1) for t in pop.params.values()]).tolist()
                          for m in range(pop.size)]}


@dataclass(frozen=True)
class PairDivergence(Probe):
    """Members (2i, 2i+1) are the two sides of pair i: ‖w − w'‖₂ over all parameters (``parameter_divergence``) and
    max over the test examples of |ℓ(w; z) − ℓ(w'; z)| (cross-entropy), each written for both members of the pair."""

    chunk: int = field(default=500, metadata={"help": "test examples per forward pass"})

    def __call__(self, pop: Population, step: int, data, history: list[dict[str, Any]]) -> dict[str, list]:
        if pop.size % 2:
            raise ValueError(f"PairDivergence needs members in pairs (2i, 2i+1); the population has {pop.size}")
        names = sorted(pop.params)
        div = parameter_divergence({k: pop.params[k][0::2] for k in names}, {k: pop.params[k][1::2] for k in names})
        change = torch.zeros(pop.size // 2, dtype=torch.float64)
        was_training = pop.training
        pop.eval()
        with torch.no_grad():
            for i in range(0, len(data.y_test), self.chunk):
                x = data.x_test[i:i + self.chunk].to(pop.device)
                y = data.y_test[i:i + self.chunk].to(pop.device)
                logits = pop(x)
                k, b, c = logits.shape
                loss = F.cross_entropy(logits.reshape(k * b, c), y.repeat(k), reduction="none").view(k, b)
                change = torch.maximum(change, (loss[0::2] - loss[1::2]).abs().amax(1).double().cpu())
        pop.train(was_training)
        return {"divergence": div.cpu().repeat_interleave(2).tolist(),
                "loss_change": change.repeat_interleave(2).tolist()}
