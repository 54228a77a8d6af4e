"""The checks of question 5: each recommendation tried on the user's architecture with the user's recipe, briefly,
as store cells, decided on intervals; a recommendation that loses says "keep yours".

* init: the recommended scale against the factory's own initialization, the training loss after k = min(300,
  steps) recipe steps, paired by seed (the same data orders);
* learning rate: full-batch gradient descent on the first 1000 training examples from each seed's initialization
  at each step size f·2/λ_max (λ_max of that seed's initial loss on those examples), f in ``FACTORS``; the onset is
  the first f whose loss does not fall at every one of the first ``DECIDE_STEPS`` = 5 steps, bracketed by the grid:
  within [2/3, 3/2] passes when the whole bracket is, fails when the bracket is outside. Why the first 5: λ_max at
  initialization governs stability only while the sharpness has not moved, and it rises within the first handful of
  steps (progressive sharpening, Cohen et al. 2021), after which even smaller steps go unstable (the curves, 20
  steps, are drawn in the report);
* shape: the recommended depth × width at your parameter count against yours, test score after the full recipe,
  paired by seed;
* Adam's preconditioned sharpness after 20 recipe steps (Cohen et al. 2022), against its threshold.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from whynets.data import Dataset, DataSpec, save_tensors_file
from whynets.engine import TrainSpec, population_for
from whynets.measure.hvp import hessian_operator
from whynets.measure.lanczos import lanczos_eigenpairs
from whynets.measure.recommendations import BAND, DECIDE_STEPS, deepest_perturbative, onset_bracket, onset_verdict
from whynets.measure.recommendations import STEP_FACTORS as FACTORS  # shared with the recommendations experiment
from whynets.models import ModelSpec
from whynets.models.factory import factory_digest
from whynets.stats import paired_t_interval

from .core import instrument_loss, n_params
from .spec import DiagnoseSpec

__all__ = ["check_init", "check_lr", "check_shape", "preconditioned_sharpness", "FACTORS", "recommended_shape"]

LR_STEPS = 20  # steps run (drawn)
SUBSET = 1000


def _digest(spec: DiagnoseSpec) -> str | None:
    return factory_digest(spec.model.factory) if spec.model.kind == "factory" else None


def check_init(ctx, spec: DiagnoseSpec, ds: Dataset, init: dict[str, Any], kind: str, recipe) -> dict[str, Any] | None:
    st = init.get("stack")
    if st is None:
        return None
    if all(abs(f - 1) < 0.05 for f in st["scales"].values()):
        return {"verdict": "already", "sentence": "Your initialization is already within 5% of the critical scale: "
                "nothing to change (keep yours)."}
    k = min(300, recipe.steps)
    short = replace(recipe, steps=k, eval_points=2, schedule="constant" if recipe.schedule == "cosine" else recipe.schedule)
    seeds = list(spec.seeds)
    model = ModelSpec(kind="factory", factory="whynets.diagnosis.recommend:rescaled",
                      factory_args=json.dumps({"target": spec.model.factory, "args": spec.model.factory_args or "{}",
                                               "scales": json.dumps(st["scales"], sort_keys=True)}))
    label = {"stage": "recommend-check-init", "target": _digest(spec)}
    yours = ctx.train(dict(label, arm="yours"), spec.model, spec.data, short, seeds)
    rec = ctx.train(dict(label, arm="recommended"), model, spec.data, short, seeds)
    a, b = rec["final"]["train_loss"], yours["final"]["train_loss"]
    iv = paired_t_interval(a, b)
    better, worse = iv.hi < 0, iv.lo > 0
    what = f"training loss after {k} steps of your recipe: recommended {sum(a) / len(a):.4g} vs yours {sum(b) / len(b):.4g}"
    if better:
        verdict, tail = "better", "the recommended initialization trains faster"
    elif worse:
        verdict, tail = "worse", "keep yours: the recommended initialization trains slower here"
    else:
        verdict, tail = "no difference", "no measurable difference at this depth (keep yours, or take it for deeper nets)"
    return {"verdict": verdict, "k": k, "recommended": a, "yours": b, "difference": [iv.estimate, iv.lo, iv.hi],
            "sentence": f"Check (init, {len(seeds)} seeds paired): {what}, difference {iv.estimate:+.3g} "
                        f"[{iv.lo:+.3g}, {iv.hi:+.3g}] — {tail}."}


def _subset(ctx, spec: DiagnoseSpec, ds: Dataset) -> DataSpec:
    def fn(cell_dir: Path) -> dict[str, Any]:
        n = min(SUBSET, len(ds.y))
        save_tensors_file(cell_dir / "subset.safetensors", x=ds.x[:n].numpy(), y=ds.y[:n].numpy(),
                          x_test=ds.x_test.numpy(), y_test=ds.y_test.numpy())
        return {"cell": cell_dir.name}
    cell = ctx.cell({"stage": "recommend-subset"}, fn, require=("subset.safetensors",), data=spec.data, n=SUBSET)
    return DataSpec(name="safetensors", path=str(ctx.store.cell_dir(cell["cell"]) / "subset.safetensors"))


def _member_lambdas(ctx, spec: DiagnoseSpec, ds: Dataset, kind: str, seeds: list[int]) -> list[float]:
    from .recommend import _lambda_max

    def fn(_: Path) -> dict[str, Any]:
        pop = population_for(spec.model, ds, seeds)
        n = min(SUBSET, len(ds.y))
        return {"lambda": [_lambda_max(pop.member(i), instrument_loss(kind), ds.x[:n], ds.y[:n])
                           for i in range(len(seeds))]}
    return ctx.cell({"stage": "recommend-member-lambda"}, fn, model=spec.model, data=spec.data, seeds=seeds,
                    loss=kind, n=SUBSET, target=_digest(spec))["lambda"]


def check_lr(ctx, spec: DiagnoseSpec, ds: Dataset, lr: dict[str, Any], kind: str) -> dict[str, Any]:
    seeds = list(spec.seeds)[:2]
    data = _subset(ctx, spec, ds)
    lambdas = _member_lambdas(ctx, spec, ds, kind, seeds)
    curves, onsets = {}, []
    for i, (seed, lam) in enumerate(zip(seeds, lambdas)):
        runs = {}
        for f in FACTORS:
            gd = TrainSpec(optimizer="sgd", momentum=0.0, lr=f * 2 / lam, batch_size=0, steps=LR_STEPS, eval_every=1,
                           loss=kind)
            r = ctx.train({"stage": "recommend-lr-sweep", "factor": round(f, 4), "target": _digest(spec)}, spec.model,
                          data, gd, [seed])
            runs[f] = [row["train_loss"][0] for row in r["history"]]
        if i == 0:
            curves = {f"{f:.3g}": losses for f, losses in runs.items()}
        bracket = onset_bracket(runs, DECIDE_STEPS)
        onsets.append({"seed": seed, "lambda_max": lam, "onset": bracket[1], "bracket": list(bracket),
                       "verdict": onset_verdict(bracket)})
    verdicts = [o["verdict"] for o in onsets]
    verdict = "fail" if "fail" in verdicts else "pass" if all(v == "pass" for v in verdicts) else "inconclusive"
    premise = _sharpness_moves(ctx, spec, ds, data, kind, seeds[0], lambdas[0])
    brackets = "; ".join(f"seed {o['seed']}: " + ("no onset up to 3×" if o["onset"] is None else
                                                  f"({o['bracket'][0] or 0:.3g}, {o['onset']:.3g}]×") for o in onsets)
    said = {"pass": "the prediction holds", "fail": "the prediction does NOT hold on your model",
            "inconclusive": "the grid cannot decide (the bracket straddles the band)"}[verdict]
    growth = premise["growth"]
    steady = BAND[0] <= growth <= BAND[1]
    caveat = ("" if steady else f" But λ_max itself moved ×{growth:.2g} within those {DECIDE_STEPS} steps (at half the "
              "stable step: progressive sharpening, Cohen et al. 2021), so the sharpness at initialization does not "
              "govern them here and this verdict says little about the prediction.")
    return {"verdict": verdict, "onsets": onsets, "curves": curves, "factors": list(FACTORS), "steps": LR_STEPS,
            "decide_steps": DECIDE_STEPS, "premise": dict(premise, steady=steady),
            "sentence": f"Check (learning rate, full-batch gradient descent on {min(SUBSET, len(ds.y))} examples): over "
                        f"the first {DECIDE_STEPS} steps the loss first stops falling at a step of {brackets} of "
                        f"2/λ_max (predicted within [2/3, 3/2]): {said}.{caveat}"}


def _sharpness_moves(ctx, spec: DiagnoseSpec, ds: Dataset, data: DataSpec, kind: str, seed: int,
                     lam0: float) -> dict[str, float]:
    """The premise of the prediction: λ_max after the decided steps at half the stable step, against λ_max at init."""
    from .recommend import _lambda_max

    gd = TrainSpec(optimizer="sgd", momentum=0.0, lr=0.5 * 2 / lam0, batch_size=0, steps=LR_STEPS, eval_every=1,
                   loss=kind)
    early = ctx.train({"stage": "recommend-lr-premise", "target": _digest(spec)}, spec.model, data, gd, [seed],
                      until=DECIDE_STEPS)

    def fn(_: Path) -> dict[str, Any]:
        state = ctx.state(early)
        pop = population_for(spec.model, ds, state.seeds)
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        n = min(SUBSET, len(ds.y))
        return {"lambda_after": _lambda_max(pop.member(0), instrument_loss(kind), ds.x[:n], ds.y[:n])}

    after = ctx.cell({"stage": "recommend-lr-premise-lambda"}, fn, parent=early["cell"], loss=kind)["lambda_after"]
    return {"lambda_init": lam0, "lambda_after": after, "growth": after / lam0 if lam0 > 0 else float("inf")}


def preconditioned_sharpness(ctx, spec: DiagnoseSpec, ds: Dataset, kind: str, recipe, steps: int = 20) -> dict[str, Any]:
    """λ_max(P⁻¹H) after ``steps`` of the recipe (one seed), P = diag(√v̂ + ε) from Adam's second moments."""
    early = ctx.train({"stage": "recommend-adam", "target": _digest(spec)}, spec.model, spec.data,
                      replace(recipe, eval_points=1), [spec.seeds[0]], until=min(steps, recipe.steps))

    def fn(_: Path) -> dict[str, Any]:
        state = ctx.state(early)
        pop = population_for(spec.model, ds, state.seeds)
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        module = pop.member(0).eval()
        names = list(state.params)
        opt = state.optimizer["state"]
        t = max(1, int(float(next(iter(opt.values()))["step"])))
        beta2, eps = 0.999, 1e-8
        diag = torch.cat([(opt[i]["exp_avg_sq"][0] / (1 - beta2 ** t)).sqrt().add(eps).flatten().double()
                          for i in range(len(names))])
        n = min(SUBSET, len(ds.y))
        op = hessian_operator(module, instrument_loss(kind), [(ds.x[:n], ds.y[:n])], dtype=torch.float64)
        scale = diag.rsqrt().to(op.device)

        class Preconditioned:
            size, dtype, device = op.size, op.dtype, op.device

            def matmat(self, V):
                return op.matmat(V * scale) * scale

            def matvec(self, v):
                return self.matmat(v[None])[0]

        top = lanczos_eigenpairs(Preconditioned(), 1, seed=0, tol=1e-4)
        return {"preconditioned_sharpness": float(top.eigenvalues[0]), "step": t}

    res = ctx.cell({"stage": "recommend-adam-sharpness"}, fn, parent=early["cell"], loss=kind)
    beta1 = 0.9
    threshold = (2 + 2 * beta1) / ((1 - beta1) * recipe.lr)
    ratio = res["preconditioned_sharpness"] / threshold
    return dict(res, threshold=threshold, ratio=ratio,
                sentence=f"Adam after {res['step']} of your steps: preconditioned sharpness λ_max(P⁻¹H) = "
                         f"{res['preconditioned_sharpness']:.3g} against (2 + 2β₁)/((1 − β₁)η) = {threshold:.3g} "
                         f"({ratio:.2g}×: {'above: expect instability or a catapult' if ratio > 1 else 'below the threshold'}).")


def _params_for(spec: DiagnoseSpec, ds: Dataset, depth: int, width: int) -> int:
    args = dict(json.loads(spec.model.factory_args or "{}"), **{spec.width_arg: width, spec.depth_arg: depth})
    return n_params(population_for(replace(spec.model, factory_args=json.dumps(args)), ds, [0]).member(0))


def recommended_shape(spec: DiagnoseSpec, ds: Dataset, activation: str, budget: int, max_depth: int = 12) -> tuple[int, int] | None:
    """The deepest (depth, width) at ``budget`` parameters whose predicted output excess kurtosis is <= 1."""
    return deepest_perturbative(lambda d, w: _params_for(spec, ds, d, w), activation, budget, max_depth)


def check_shape(ctx, spec: DiagnoseSpec, ds: Dataset, shape: dict[str, Any], kind: str, recipe) -> dict[str, Any] | None:
    if not shape.get("covered") or not (spec.width_arg and spec.depth_arg) or shape.get("kurtosis") is None:
        if shape.get("covered") and not spec.depth_arg:
            shape["why_check"] = "give --depth-arg (and --width-arg) to check a recommended shape"
        return None
    args = json.loads(spec.model.factory_args or "{}")
    depth, width = int(args.get(spec.depth_arg, shape["depth"])), int(args[spec.width_arg])
    budget = _params_for(spec, ds, depth, width)
    rec = recommended_shape(spec, ds, shape["activation"], budget)
    if rec is None:
        return {"verdict": "none", "sentence": "Shape: no depth keeps the predicted kurtosis <= 1 at your parameter "
                "count (your width is too small for the perturbative range)."}
    shape["recommended"] = {"depth": rec[0], "width": rec[1], "params": _params_for(spec, ds, *rec)}
    if rec == (depth, width):
        return {"verdict": "already", "sentence": f"Shape: yours ({depth} × {width}) is the recommended one."}
    seeds = list(spec.seeds)
    model = replace(spec.model, factory_args=json.dumps(dict(args, **{spec.width_arg: rec[1], spec.depth_arg: rec[0]})))
    label = {"stage": "recommend-check-shape", "target": _digest(spec)}
    mine = ctx.train(dict(label, arm="yours"), spec.model, spec.data, recipe, seeds)
    theirs = ctx.train(dict(label, arm="recommended"), model, spec.data, recipe, seeds)
    regression = kind == "mse"
    key = "test_loss" if regression else "test_acc"
    a = [v if regression else 100 * v for v in theirs["final"][key]]
    b = [v if regression else 100 * v for v in mine["final"][key]]
    iv = paired_t_interval(a, b)
    better = iv.hi < 0 if regression else iv.lo > 0
    worse = iv.lo > 0 if regression else iv.hi < 0
    unit = "test MSE" if regression else "test accuracy (%)"
    tail = ("the recommended shape wins" if better else "keep yours: the recommended shape loses" if worse else
            "no measurable difference (keep yours)")
    return {"verdict": "better" if better else "worse" if worse else "no difference", "recommended": rec,
            "yours": [depth, width], "scores": {"recommended": a, "yours": b}, "difference": [iv.estimate, iv.lo, iv.hi],
            "sentence": f"Check (shape, equal parameters {shape['recommended']['params']} vs {budget}): {rec[0]} × {rec[1]} "
                        f"against your {depth} × {width}, {unit} {sum(a) / len(a):.4g} vs {sum(b) / len(b):.4g}, "
                        f"difference {iv.estimate:+.3g} [{iv.lo:+.3g}, {iv.hi:+.3g}] — {tail}."}
