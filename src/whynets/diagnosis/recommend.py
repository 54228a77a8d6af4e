"""Question 5 — what does theory recommend: initialization, learning rate, shape? Each recommendation is measured on
the user's module at initialization, and then checked by training the user's architecture with the user's recipe.

1. **Initialization** (Poole et al. 2016; Schoenholz et al. 2017): a signal's length q and two inputs' correlation
   c pushed through the module at init (``measure.propagation``), the per-layer χ (mean squared singular value of
   the layer-to-layer Jacobian), its geometric mean χ̄ over the hidden layers with an interval over perturbation
   probes, the depth scale ξ = 1/|ln χ̄| against the depth L: ordered (χ̄ < 1, ξ < L), chaotic (χ̄ > 1, ξ < L) or
   critical (ξ ≥ L: a perturbation neither dies nor explodes over the whole depth). For an MLP-like stack the
   mean-field prediction is set beside every measured χ_l and q_l, and the critical σ_w² for the activation at
   the stack's σ_b²: the recommendation multiplies each hidden layer's initial weights by √(σ_w²,crit / σ_w²);
   other modules get the measurement and a sentence on why mean-field theory does not cover them.
2. **Learning rate** (Cohen et al. 2021; 2022): λ_max of the training loss's Hessian at init (Lanczos), over four
   batches of the training set (an interval), and the largest stable full-batch step 2/λ_max; the recipe's step
   against it — for SGD directly, for Adam its preconditioned sharpness λ_max(P⁻¹H) after a few steps against
   (2 + 2β₁)/((1 − β₁)η) (38/η at β₁ = 0.9); the trained model's λ_max against 2/η.
3. **Shape** (Roberts, Yaida & Hanin 2022): finite-width effects grow like L/n — for piecewise-linear activations
   the output's excess kurtosis 3[(1 + κ/n)^L − 1] (``kernels.finite_width``). Our rule, declared here: the
   perturbative range is an excess kurtosis <= 1, and at your parameter count we recommend the deepest shape that
   stays in it (deeper within the range adds representation learning, beyond it the kernel description and
   trainability break down). Needs ``--width-arg`` and ``--depth-arg``.
Checks (``recommend_checks``): the recommended init against yours (training loss after k recipe steps, seeds
paired); a full-batch gradient-descent sweep of the step around 2/λ_max — the first step at which the loss stops
falling monotonically lies within [2/3, 3/2] of the prediction, or the report says it did not; the recommended shape
against yours at equal parameters. A recommendation that loses to your choice says "keep yours".
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from whynets.data import Dataset
from whynets.measure.lanczos import hessian_eigenpairs
from whynets.measure.propagation import layer_signals, stack_of
from whynets.measure.recommendations import apply_scales, critical_scales, propagation_phase
from whynets.models import build
from whynets.stats import t_interval
from whynets.store import file_digest

from .core import instrument_loss
from .model_io import apply_weights, load_weights
from .spec import DiagnoseSpec

__all__ = ["question_recommend", "rescaled", "init_module"]


def rescaled(target: str, args: str = "{}", scales: str = "{}") -> nn.Module:
    """A factory: the user's factory ``target`` called with ``args``, then each named parameter multiplied by its
    factor (``scales``: {name: factor}) — the user's own initialization with the recommended scale."""
    from whynets.models.factory import resolve_factory

    return apply_scales(resolve_factory(target)(**json.loads(args)), json.loads(scales))


def init_module(spec: DiagnoseSpec, ds: Dataset) -> tuple[nn.Module, str]:
    """Your module at initialization: ``--init``, else the factory's own initialization (seed 0)."""
    module = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
    if spec.init:
        apply_weights(module, load_weights(spec.init), where=spec.init)
        return module.eval(), "--init"
    return module.eval(), "the factory's initialization (seed 0)"


def _initialization(ctx, spec: DiagnoseSpec, ds: Dataset, key: str) -> dict[str, Any]:
    def fn(_: Path) -> dict[str, Any]:
        module, origin = init_module(spec, ds)
        x = ds.x[: min(64, len(ds.x))]
        try:
            sig = layer_signals(module, x, probes=6, seed=0)
        except ValueError as err:  # no Linear/Conv layer to follow a signal through
            return {"origin": origin, "signals": None, "covered": False, "why_not": str(err), "stack": None,
                    "phase": "not measured", "chi_mean": None, "chi_interval": None, "depth": 0, "depth_scale": None}
        stack, why = stack_of(module, x)
        ph = propagation_phase(sig)  # χ̄ over the hidden layers, its interval over probes, ξ against L, the phase
        out = {"origin": origin, "signals": sig, "chi_mean": ph["chi_mean"], "chi_interval": ph["chi_interval"],
               "depth": ph["depth"], "depth_scale": ph["depth_scale"], "phase": ph["phase"], "stack": None,
               "covered": stack is not None, "why_not": why}
        if stack is not None:
            out["stack"] = _mean_field(stack, sig)
        return out

    return ctx.cell({"stage": "recommend-init"}, fn, model=key, data=spec.data,
                    init=file_digest(spec.init) if spec.init else None)


def _mean_field(stack, sig) -> dict[str, Any]:
    from whynets.kernels.meanfield import chi_1, length_map

    rows = []
    for i, layer in enumerate(stack):
        pred_chi = None
        if i > 0 and stack[i - 1].activation:
            pred_chi = float(chi_1(stack[i - 1].activation, layer.sigma_w2, layer.sigma_b2, q=sig["q"][i - 1]))
        pred_q = (layer.sigma_w2 * sig["q_in"] + layer.sigma_b2 if i == 0 else
                  float(length_map(sig["q"][i - 1], stack[i - 1].activation or "linear", layer.sigma_w2,
                                   layer.sigma_b2)))
        rows.append({"layer": layer.name, "sigma_w2": layer.sigma_w2, "sigma_b2": layer.sigma_b2, "q": sig["q"][i],
                     "q_mean_field": pred_q, "chi": sig["chi"][i] if i > 0 else None, "chi_mean_field": pred_chi})
    return {"rows": rows, **critical_scales(stack)}


def _lambda_max(module: nn.Module, loss, x: torch.Tensor, y: torch.Tensor) -> float:
    top = hessian_eigenpairs(copy.deepcopy(module).eval(), loss, [(x, y)], k=1, dtype=torch.float64, seed=0, tol=1e-4)
    return float(top.eigenvalues[0])


def _learning_rate(ctx, spec: DiagnoseSpec, ds: Dataset, key: str, kind: str, recipe) -> dict[str, Any]:
    def fn(_: Path) -> dict[str, Any]:
        module, _origin = init_module(spec, ds)
        loss = instrument_loss(kind)
        n = min(len(ds.y), 1000)
        size = max(n // 4, 1)
        per_batch = [_lambda_max(module, loss, ds.x[i * size:(i + 1) * size], ds.y[i * size:(i + 1) * size])
                     for i in range(4)]
        iv = t_interval(per_batch)
        return {"lambda_max_batches": per_batch, "lambda_max": iv.estimate, "interval": [iv.lo, iv.hi],
                "batch": size, "stable_step": 2 / iv.estimate if iv.estimate > 0 else math.inf,
                "stable_step_interval": [2 / iv.hi if iv.hi > 0 else math.inf,
                                         2 / iv.lo if iv.lo > 0 else math.inf]}

    out = dict(ctx.cell({"stage": "recommend-lr"}, fn, model=key, data=spec.data, loss=kind,
                        init=file_digest(spec.init) if spec.init else None))
    eta = recipe.lr
    if recipe.optimizer == "sgd":
        ratio = eta / out["stable_step"]
        out["recipe"] = (f"your recipe's step η = {eta:g} is {ratio:.2g}× the largest stable full-batch step "
                         f"2/λ_max = {out['stable_step']:.3g}"
                         + (" (above it: stable only through the noise of small batches or by catapulting into a "
                            "flatter region, Lewkowycz et al. 2020)" if ratio > 1 else ""))
    else:
        out["recipe"] = (f"your recipe uses {recipe.optimizer} (η = {eta:g}): 2/λ_max bounds full-batch gradient "
                         "descent, not an adaptive method; what bounds Adam is its preconditioned sharpness "
                         "λ_max(P⁻¹H) against (2 + 2β₁)/((1 − β₁)η) (Cohen et al. 2022), measured below after a few "
                         "of your recipe's steps")
    return out


def _shape(spec: DiagnoseSpec, ds: Dataset, init: dict[str, Any]) -> dict[str, Any]:
    from whynets.kernels.finite_width import excess_kurtosis

    stack = init.get("stack")
    if stack is None:
        return {"covered": False, "why": "the L/n theory of finite-width corrections is stated for fully-connected "
                "stacks; your model is not one (" + init["why_not"] + ")"}
    act = stack["activation"]
    widths = [json.loads(spec.model.factory_args or "{}").get(spec.width_arg)] if spec.width_arg else []
    hidden = len([r for r in stack["rows"]]) - 1
    n = int(widths[0]) if widths and widths[0] else None
    out: dict[str, Any] = {"covered": True, "depth": hidden, "width": n, "activation": act}
    if n is None:
        out["why"] = "give --width-arg (and --depth-arg) to place your model on the L/n axis"
        return out
    out["ratio"] = hidden / n
    try:
        out["kurtosis"] = excess_kurtosis(hidden, n, act)
    except Exception as err:  # noqa: BLE001 - not piecewise linear: reported without the threshold
        out["kurtosis"] = None
        out["why_kurtosis"] = f"the excess-kurtosis formula is exact for piecewise-linear activations only ({err})"
    out["perturbative"] = None if out["kurtosis"] is None else out["kurtosis"] <= 1.0
    return out


def question_recommend(ctx, spec: DiagnoseSpec, ds: Dataset, module: nn.Module, key: str, kind: str, recipe,
                       trained_lambda_max: float | None = None) -> dict[str, Any]:
    from .recommend_checks import check_init, check_lr, check_shape, preconditioned_sharpness

    ctx.log("diagnose: recommendations — signal propagation at initialization")
    init = _initialization(ctx, spec, ds, key)
    ctx.log("diagnose: recommendations — learning rate (Hessian at initialization)")
    lr = _learning_rate(ctx, spec, ds, key, kind, recipe)
    if recipe.optimizer in ("adam", "adamw"):
        lr["adam"] = preconditioned_sharpness(ctx, spec, ds, kind, recipe)
    if trained_lambda_max is None:
        trained_lambda_max = _trained_lambda_max(ctx, spec, ds, module, key, kind)
    lr["trained_lambda_max"] = trained_lambda_max
    lr["edge"] = trained_lambda_max * recipe.lr / 2 if recipe.optimizer == "sgd" else None
    shape = _shape(spec, ds, init)
    ctx.log("diagnose: recommendations — checks on your model (short trainings with your recipe)")
    checks = {"init": check_init(ctx, spec, ds, init, kind, recipe), "lr": check_lr(ctx, spec, ds, lr, kind),
              "shape": check_shape(ctx, spec, ds, shape, kind, recipe)}
    return {"init": init, "lr": lr, "shape": shape, "checks": checks,
            "verdict": _words(init, lr, shape, checks, recipe)}


def _trained_lambda_max(ctx, spec, ds, module, key, kind) -> float:
    def fn(_: Path) -> dict[str, Any]:
        n = min(len(ds.y), 1000)
        return {"lambda_max": _lambda_max(module, instrument_loss(kind), ds.x[:n], ds.y[:n])}
    return ctx.cell({"stage": "recommend-trained-lambda"}, fn, model=key, data=spec.data, loss=kind)["lambda_max"]


def _words(init, lr, shape, checks, recipe) -> list[str]:
    lines = []
    phase = init["phase"]
    if init.get("signals") is None:
        lines.append(f"Initialization ({init['origin']}): not measured — {init['why_not']}.")
    else:
        lines.append(f"Initialization ({init['origin']}): χ̄ = {init['chi_mean']:.3g} per layer "
                     f"[{init['chi_interval'][0]:.3g}, {init['chi_interval'][1]:.3g}] over {init['depth']} layers, "
                     f"depth scale {init['depth_scale']:.3g}: {phase}.")
    st = init.get("stack")
    if st is None:
        lines.append(f"The mean-field prediction does not cover your model, because {init['why_not']}; the "
                     "measurement above is what it is.")
    else:
        factors = sorted(set(round(v, 2) for v in st["scales"].values()))
        lines.append(f"Mean field ({st['activation']}, σ_b² = {st['sigma_b2']:.3g}): critical σ_w² = "
                     f"{st['critical_sigma_w2']:.3g}; your hidden layers have σ_w² = {st['sigma_w2_hidden']:.3g} — "
                     f"multiply the initial weights of the {len(st['scales'])} hidden layer(s) by "
                     f"{' / '.join(f'{f:g}' for f in factors)} (the readout unchanged).")
    c = checks["init"]
    if c:
        lines.append(c["sentence"])
    lines.append(f"Learning rate: λ_max at init {lr['lambda_max']:.3g} [{lr['interval'][0]:.3g}, {lr['interval'][1]:.3g}] "
                 f"over 4 batches of {lr['batch']}: the largest stable full-batch step is 2/λ_max ≈ "
                 f"{lr['stable_step']:.3g}. {lr['recipe']}.")
    if lr.get("adam"):
        a = lr["adam"]
        lines.append(a["sentence"])
    if recipe.optimizer == "sgd":
        lines.append(f"Your trained model's λ_max = {lr['trained_lambda_max']:.3g} against 2/η = {2 / recipe.lr:.3g} "
                     f"({'at the edge of stability' if 0.8 <= lr['edge'] <= 1.2 else 'below the edge' if lr['edge'] < 0.8 else 'above the edge'}).")
    else:
        lines.append(f"Your trained model's λ_max = {lr['trained_lambda_max']:.3g} (for reference: 2/η = "
                     f"{2 / recipe.lr:.3g} would be gradient descent's edge; Adam's is preconditioned).")
    if checks["lr"]:
        lines.append(checks["lr"]["sentence"])
    if not shape.get("covered"):
        lines.append(f"Shape: not covered — {shape['why']}.")
    elif shape.get("ratio") is not None:
        k = shape.get("kurtosis")
        lines.append(f"Shape: depth/width L/n = {shape['ratio']:.3g} ({shape['depth']} hidden layers of {shape['width']})"
                     + (f", predicted output excess kurtosis {k:.3g} ({'inside' if k <= 1 else 'outside'} the "
                        "perturbative range, <= 1)" if k is not None else f"; {shape.get('why_kurtosis', '')}") + ".")
    if checks["shape"]:
        lines.append(checks["shape"]["sentence"])
    return lines
