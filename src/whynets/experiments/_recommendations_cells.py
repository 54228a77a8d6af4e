"""The cells of the ``recommendations`` experiment: each recommendation derived by the code path ``diagnose`` uses
(``whynets.measure.propagation`` + ``whynets.measure.recommendations``), then checked by training through the engine.

* ``init_part``: each starting initialization measured at init (``layer_signals``, ``stack_of``), its critical
  scales (``critical_scales``) applied to the same module (``apply_scales``, via the factory), the rescaled module
  measured again; both trained with one recipe;
* ``lr_part``: per architecture, loss and seed, λ_max of the training loss at init (Lanczos on the training set),
  then full-batch gradient descent at f·2/λ_max for f in ``STEP_FACTORS``; λ_max again after ``DECIDE_STEPS`` steps
  at the smallest f (does the sharpness stay put over the window the onset is decided on?);
* ``shape_part``: the deepest perturbative shape at a parameter budget (``deepest_perturbative``) and the grid of
  depths at that budget (each at the smallest width reaching it), trained with one recipe.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from whynets.engine import TrainSpec, member_loss, population_for
from whynets.kernels.finite_width import excess_kurtosis
from whynets.measure.lanczos import hessian_eigenpairs
from whynets.measure.propagation import layer_signals, stack_of
from whynets.measure.recommendations import (DECIDE_STEPS, STEP_FACTORS, critical_scales, deepest_perturbative,
                                             propagation_phase)
from whynets.models import MLP, ModelSpec, n_params

from ._recommendations_nets import FACTORY

__all__ = ["init_part", "lr_part", "shape_part", "start_model", "arch_model", "params_of", "width_for_budget"]


def start_model(spec, input_shape: tuple[int, ...], n_classes: int, start: str,
                scales: dict[str, float] | None = None) -> ModelSpec:
    """The depth-``init_depth`` tanh stack at a starting initialization, optionally rescaled by ``scales``."""
    kinds = {"torch": {"init": "torch"},
             "ordered": {"init": "gaussian", "sigma_w2": spec.ordered_sigma_w2, "sigma_b2": spec.start_sigma_b2},
             "chaotic": {"init": "gaussian", "sigma_w2": spec.chaotic_sigma_w2, "sigma_b2": spec.start_sigma_b2}}
    args = dict(in_features=int(math.prod(input_shape)), n_classes=n_classes, width=spec.init_width,
                depth=spec.init_depth, act="tanh", **kinds[start])
    if scales:
        args["scales"] = json.dumps(scales, sort_keys=True)
    return ModelSpec(kind="factory", factory=f"{FACTORY}:plain_mlp", factory_args=json.dumps(args, sort_keys=True))


def _phase_record(phase: dict[str, Any]) -> dict[str, Any]:
    xi = phase["depth_scale"]
    return dict(phase, depth_scale=xi if math.isfinite(xi) else None)  # JSON has no infinity


def init_part(spec, ctx) -> dict[str, Any]:
    ds = ctx.data(spec.init_data)
    out = {}
    for start in spec.init_starts:
        model = start_model(spec, ds.input_shape, ds.n_classes, start)

        def measure(_: Path, model=model, start=start) -> dict[str, Any]:
            x = ds.x[: spec.signal_inputs]
            module = population_for(model, ds, [0]).member(0)
            stack, why = stack_of(module, x)
            if stack is None:
                raise RuntimeError(f"recommendations: the {start} stack is not recognized as MLP-like ({why})")
            crit = critical_scales(stack)
            rec = population_for(start_model(spec, ds.input_shape, ds.n_classes, start, crit["scales"]), ds, [0]).member(0)
            sig = layer_signals(module, x, probes=spec.signal_probes, seed=0)
            rec_sig = layer_signals(rec, x, probes=spec.signal_probes, seed=0)
            return {"scales": crit["scales"], "critical_sigma_w2": crit["critical_sigma_w2"], "sigma_b2": crit["sigma_b2"],
                    "sigma_w2_hidden": crit["sigma_w2_hidden"], "activation": crit["activation"],
                    "start": _phase_record(propagation_phase(sig)), "recommended": _phase_record(propagation_phase(rec_sig))}

        m = ctx.cell({"part": "init-measure", "start": start}, measure, model=model, data=spec.init_data,
                     inputs=spec.signal_inputs, probes=spec.signal_probes, rule="critical_scales/propagation_phase v1")
        rec_model = start_model(spec, ds.input_shape, ds.n_classes, start, m["scales"])
        arms = {}
        for arm, mod in (("start", model), ("recommended", rec_model)):
            r = ctx.train({"part": "init", "start": start, "arm": arm}, mod, spec.init_data, spec.init_train,
                          spec.init_seeds)
            arms[arm] = {"train_acc": r["final"]["train_acc"], "test_acc": r["final"]["test_acc"],
                         "diverged": r["diverged"],
                         "curve": {"step": [row["step"] for row in r["history"]],
                                   "train_acc": [row["train_acc"] for row in r["history"]]}}
        factors = sorted(m["scales"].values())
        out[start] = {"start_phase": m["start"], "recommended_phase": m["recommended"], "arms": arms,
                      "critical_sigma_w2": m["critical_sigma_w2"], "sigma_b2": m["sigma_b2"],
                      "sigma_w2_hidden": m["sigma_w2_hidden"], "scale_range": [factors[0], factors[-1]],
                      "layers_rescaled": len(factors)}
    return out


def arch_model(spec, name: str, input_shape: tuple[int, ...], n_classes: int) -> ModelSpec:
    """The architectures of the step-size sweep (PyTorch's initialization, ReLU)."""
    if name == "mlp":
        return ModelSpec(kind="mlp", width=spec.mlp_width, depth=2)
    if name == "cnn":
        return ModelSpec(kind="cnn1d", width=spec.cnn_channels)
    if name == "residual":
        args = {"length": int(math.prod(input_shape)), "n_classes": n_classes, "channels": spec.residual_channels,
                "blocks": spec.residual_blocks}
        return ModelSpec(kind="factory", factory=f"{FACTORY}:residual_cnn", factory_args=json.dumps(args, sort_keys=True))
    raise ValueError(f"unknown architecture {name!r}")


def _loss_fn(kind: str, n_classes: int):
    """The engine's training loss (``member_loss``) as ``loss(outputs (B, C), y)`` of one model."""
    return lambda out, y: member_loss(out.unsqueeze(0), y, kind, n_classes, per_member=False)[0]


def _lambda_max(module: nn.Module, kind: str, ds) -> float:
    top = hessian_eigenpairs(copy.deepcopy(module).eval(), _loss_fn(kind, ds.n_classes), [(ds.x, ds.y)], k=1,
                             dtype=torch.float64, seed=0, tol=1e-4)
    return float(top.eigenvalues[0])


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def lr_part(spec, ctx) -> dict[str, Any]:
    ds = ctx.data(spec.lr_data)
    out = {}
    runs = [(a, "mse") for a in spec.lr_archs] + [(a, "ce") for a in spec.ce_archs]
    for arch, loss in runs:
        model = arch_model(spec, arch, ds.input_shape, ds.n_classes)

        def lambdas(_: Path, model=model, loss=loss) -> dict[str, Any]:
            pop = population_for(model, ds, list(spec.lr_seeds))
            return {"lambda": [_lambda_max(pop.member(i), loss, ds) for i in range(len(spec.lr_seeds))]}

        lams = ctx.cell({"part": "lr-lambda", "arch": arch, "loss": loss}, lambdas, model=model, data=spec.lr_data,
                        seeds=list(spec.lr_seeds), loss=loss, lanczos="float64 tol 1e-4")["lambda"]
        seeds = []
        for seed, lam in zip(spec.lr_seeds, lams):
            curves, after = {}, None
            for f in STEP_FACTORS:
                gd = TrainSpec(optimizer="sgd", momentum=0.0, lr=f * 2 / lam, batch_size=0, steps=spec.lr_steps,
                               eval_every=1, loss=loss)
                label = {"part": "lr-sweep", "arch": arch, "loss": loss, "factor": round(f, 4)}
                if f == STEP_FACTORS[0]:  # the smallest step: λ_max again where the onset's window ends
                    early = ctx.train(label, model, spec.lr_data, gd, [seed], until=DECIDE_STEPS)
                    r = ctx.train(label, model, spec.lr_data, gd, [seed], parent=early)
                    after = _lambda_after(ctx, spec, ds, model, loss, early)
                else:
                    r = ctx.train(label, model, spec.lr_data, gd, [seed])
                curves[repr(float(f))] = [_finite(row["train_loss"][0]) for row in r["history"]]
            seeds.append({"seed": seed, "lambda_max": lam, "lambda_after": after, "curves": curves})
        out[f"{arch}/{loss}"] = {"arch": arch, "loss": loss, "seeds": seeds}
    return out


def _lambda_after(ctx, spec, ds, model: ModelSpec, loss: str, early: dict[str, Any]) -> float:
    def fn(_: Path) -> dict[str, Any]:
        state = ctx.state(early)
        pop = population_for(model, ds, state.seeds)
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        return {"lambda": _lambda_max(pop.member(0), loss, ds)}
    return ctx.cell({"part": "lr-lambda-after"}, fn, parent=early["cell"], loss=loss,
                    lanczos="float64 tol 1e-4")["lambda"]


def params_of(input_shape: tuple[int, ...], n_classes: int):
    """Parameters of the whynets MLP of (depth, width) on this data (counted on the meta device)."""
    def count(depth: int, width: int) -> int:
        with torch.device("meta"):
            return n_params(MLP(int(math.prod(input_shape)), n_classes, width, depth))
    return count


def width_for_budget(count, depth: int, budget: int) -> int:
    """The smallest width whose ``count(depth, width)`` reaches ``budget`` (as ``deepest_perturbative`` picks it)."""
    lo, hi = 1, 1
    while count(depth, hi) < budget:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(depth, mid) < budget else (lo, mid)
    return lo


def shape_part(spec, ctx) -> dict[str, Any]:
    ds = ctx.data(spec.shape_data)
    count = params_of(ds.input_shape, ds.n_classes)
    rec = deepest_perturbative(count, "relu", spec.shape_budget, spec.shape_max_depth)
    depths = sorted(set(spec.shape_depths) | ({rec[0]} if rec else set()))
    cells = []
    for depth in depths:
        width = width_for_budget(count, depth, spec.shape_budget)
        r = ctx.train({"part": "shape", "depth": depth}, ModelSpec(kind="mlp", width=width, depth=depth),
                      spec.shape_data, spec.shape_train, spec.shape_seeds)
        cells.append({"depth": depth, "width": width, "params": count(depth, width),
                      "kurtosis": excess_kurtosis(depth, width, "relu"),
                      "test_acc": [100 * a for a in r["final"]["test_acc"]],
                      "train_acc": [100 * a for a in r["final"]["train_acc"]]})
    return {"recommended": None if rec is None else {"depth": rec[0], "width": rec[1]}, "cells": cells,
            "budget": spec.shape_budget}
