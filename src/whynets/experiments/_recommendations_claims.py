"""The claims of the ``recommendations`` experiment, decided from its results record only (see its module docstring).

The step-size sweep is decided exactly as ``diagnose`` decides it: per seed ``onset_bracket`` over the first
``DECIDE_STEPS`` losses, then ``onset_verdict``; per architecture fail if any seed fails, pass if every seed passes,
inconclusive otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from whynets.measure.recommendations import BAND, DECIDE_STEPS, onset_bracket, onset_verdict
from whynets.stats import Interval

from .base import Check, Claim, Prediction, bootstrap_check, direction_check, fact_check, mean, mean_check

__all__ = ["claims", "onsets"]

SCHOENHOLZ = "Schoenholz et al. 2017, Deep information propagation"
COHEN = "Cohen et al. 2021, Gradient descent on neural networks typically occurs at the edge of stability"
LEWKOWYCZ = "Lewkowycz et al. 2020, The large learning rate phase of deep learning: the catapult mechanism"
RYH = "Roberts, Yaida & Hanin 2022, The principles of deep learning theory"


def onsets(entry: dict[str, Any], decide_steps: int = DECIDE_STEPS) -> list[dict[str, Any]]:
    """Per seed: the bracket and the verdict of ``onset_bracket``/``onset_verdict`` on the sweep's curves."""
    out = []
    for s in entry["seeds"]:
        curves = {float(f): [math.inf if v is None else v for v in c] for f, c in s["curves"].items()}
        bracket = onset_bracket(curves, decide_steps)
        out.append({"seed": s["seed"], "bracket": list(bracket), "verdict": onset_verdict(bracket)})
    return out


def _diagnose_check(name: str, per_seed: list[dict[str, Any]]) -> Check:
    """diagnose's aggregate over seeds: fail if any seed fails, pass if every seed passes, else inconclusive."""
    verdicts = [o["verdict"] for o in per_seed]
    agg = "fail" if "fail" in verdicts else "pass" if verdicts and all(v == "pass" for v in verdicts) else "inconclusive"
    k = sum(v == "pass" for v in verdicts)
    n = len(verdicts)
    iv = Interval(k / n if n else math.nan, k / n if n else math.nan, k / n if n else math.nan, n,
                  f"onset_verdict per seed: {', '.join(verdicts)}")
    return Check(name=name, op="all", threshold=None, interval=iv, values=[o["bracket"] for o in per_seed], verdict=agg)


def _init_claims(results: dict[str, Any], spec) -> list[Claim]:
    out = []
    crit_checks, train_checks, off_checks = [], [], []
    depth = spec.init_depth + 1  # weighted layers: the hidden ones and the readout
    band = (math.exp(-1 / depth), math.exp(1 / depth))
    for start in spec.init_starts:
        v = results["init"][start]
        crit_checks.append(mean_check(f"χ̄ of the recommended init from {start} (per probe; critical: e^±1/L, L = {depth})",
                                      v["recommended_phase"]["chi_per_probe"], "within", band))
        train_checks.append(mean_check(f"train acc, recommended init from {start}", v["arms"]["recommended"]["train_acc"],
                                       ">=", spec.acc_trains))
        off_checks.append(mean_check(f"train acc, {start} init as it is", v["arms"]["start"]["train_acc"], "<=",
                                     spec.acc_chance))
        chi = v["start_phase"]["chi_per_probe"]
        off_checks.append(fact_check(f"the {start} init measures off-critical (χ̄ outside e^±1/L)",
                                     bool(chi) and not band[0] <= mean(chi) <= band[1], round(mean(chi), 4)))
    out.append(Claim(id="recommendations/recommended-init-is-critical", source=f"{SCHOENHOLZ} (χ₁ = 1); diagnose's rule",
                     paper="χ₁ = 1 (mean field); critical as measured: depth scale ξ = 1/|ln χ̄| >= L (ours)",
                     statement="rescaled by critical_scales, each start measures critical at init: the geometric-mean "
                               "layer-to-layer χ̄ within e^±1/L", checks=crit_checks))
    out.append(Claim(id="recommendations/recommended-init-trains",
                     source=f"{SCHOENHOLZ} (trainable depth ≈ 6 ξ_c, diverging at criticality)",
                     paper=f">= {spec.acc_trains} (PHENOMENA's criterion; its calibration: critical .46 after 400 steps)",
                     statement=f"at depth {spec.init_depth} the recommended init trains: train accuracy >= "
                               f"{spec.acc_trains} after {spec.init_train.steps} steps, from every start",
                     checks=train_checks))
    out.append(Claim(id="recommendations/off-critical-init-untrainable",
                     source=f"{SCHOENHOLZ} (depth beyond 6 ξ_c does not train)",
                     paper=f"<= {spec.acc_chance} (PHENOMENA's criterion; its calibration: σ_w² = 1 and 3 <= .13)",
                     statement=f"the starts themselves (off-critical as measured) stay near chance at depth "
                               f"{spec.init_depth}: train accuracy <= {spec.acc_chance}", checks=off_checks))
    return out


def _ratio_flags(entry: dict[str, Any], ok) -> list[bool | None]:
    return [None if s["lambda_after"] is None or not s["lambda_max"] else ok(s["lambda_after"] / s["lambda_max"])
            for s in entry["seeds"]]


def _lr_claims(results: dict[str, Any], spec) -> list[Claim]:
    lr, lo, hi, steps = results["lr"], BAND[0], BAND[1], DECIDE_STEPS
    mse = {f"{a}/mse": lr[f"{a}/mse"] for a in spec.lr_archs}
    ce = {f"{a}/ce": lr[f"{a}/ce"] for a in spec.ce_archs}
    out = []
    in_band = lambda r: lo <= r <= hi  # noqa: E731
    out.append(Claim(id="recommendations/lr-sharpness-steady",
                     source=f"{COHEN} (Sec. 2: the quadratic model's threshold 2/η); {LEWKOWYCZ} (squared error)",
                     paper=f"λ_max(t) ≈ λ_max(0) early on (the quadratic model); within [{lo:.3g}, {hi:.3g}]: ours",
                     statement=f"with squared error, λ_max after {steps} gradient-descent steps at the sweep's smallest step "
                               f"stays within [{lo:.3g}, {hi:.3g}] × its value at init (the premise of deciding the onset "
                               f"on those steps), on every seed",
                     checks=[direction_check(f"{v['arch']}: λ_max({steps}) / λ_max(0) in [{lo:.3g}, {hi:.3g}]",
                                             _ratio_flags(v, in_band)) for v in mse.values()]))
    per = {k: onsets(v, steps) for k, v in mse.items()}
    expected = Prediction(
        outcome=f"no onset below the band (the loss falls at each of the first {steps} steps for every step below "
                f"{lo:.3g}·2/λ_max), but above 2/λ_max the window sees the instability late: brackets above "
                f"{hi:.3g}·2/λ_max on some seeds, or no onset within the sweep",
        why=f"the loss of the unstable direction grows by (2f − 1)² a step from the small share it holds at init, so with "
            f"{steps} steps (DECIDE_STEPS) the total loss stops falling only once that share outweighs the fall of the "
            "others — late for f near 1–2; below 2/λ_max nothing grows",
        checks=[fact_check(f"{v['arch']}: onset >= {lo:.3g}·2/λ_max on every seed",
                           all(o["bracket"][1] is None or o["bracket"][1] >= lo - 1e-9 for o in per[k]),
                           [o["bracket"] for o in per[k]]) for k, v in mse.items()])
    out.append(Claim(id="recommendations/lr-onset", source=f"{COHEN} (Sec. 2); {LEWKOWYCZ} (η_crit = 2/λ₀)",
                     paper=f"2/λ_max (the papers); the band [{lo:.3g}, {hi:.3g}]: issue #23 (ours)",
                     statement=f"with squared error, the first step size at which full-batch gradient descent's loss stops "
                               f"falling over the first {steps} steps lies within [{lo:.3g}, {hi:.3g}]·2/λ_max, on every "
                               f"architecture ({', '.join(v['arch'] for v in mse.values())}), as diagnose decides it",
                     checks=[_diagnose_check(f"{v['arch']}: onset within the band (diagnose's verdict)", per[k])
                             for k, v in mse.items()],
                     expected=expected))
    if ce:
        per_ce = {k: onsets(v, steps) for k, v in ce.items()}
        ce_expected = Prediction(
            outcome=f"λ_max grows >= {hi:.3g}× within the {steps} steps, and the loss stops falling below 2/λ_max(init) "
                    f"on every seed (where the quadratic model says it cannot)",
            why="cross-entropy's sharpness at init is small (outputs near 0, a flat softmax) and rises several-fold as "
                "the first large steps grow the outputs (progressive sharpening, fast at steps near 2/λ_max), so "
                "λ_max at init overstates the stable step over the window",
            checks=[c for k, v in ce.items() for c in (
                direction_check(f"{v['arch']} (cross-entropy): λ_max({steps}) / λ_max(0) >= {hi:.3g}",
                                _ratio_flags(v, lambda r: r >= hi)),
                fact_check(f"{v['arch']} (cross-entropy): onset < 2/λ_max on every seed",
                           all(o["bracket"][1] is not None and o["bracket"][1] < 1 - 1e-9 for o in per_ce[k]),
                           [o["bracket"] for o in per_ce[k]]))])
        out.append(Claim(id="recommendations/lr-sharpness-steady-cross-entropy",
                         source=f"{COHEN} (progressive sharpening); diagnose's {steps}-step window",
                         paper=f"λ_max(t) ≈ λ_max(0) over the window (the rule's premise); [{lo:.3g}, {hi:.3g}]: ours",
                         statement=f"with cross-entropy (what diagnose meets on a classifier), λ_max after {steps} steps at "
                                   f"the smallest step stays within [{lo:.3g}, {hi:.3g}] × its value at init, on every seed",
                         checks=[direction_check(f"{v['arch']} (cross-entropy): λ_max({steps}) / λ_max(0) in "
                                                 f"[{lo:.3g}, {hi:.3g}]", _ratio_flags(v, in_band)) for v in ce.values()],
                         expected=ce_expected))
    return out


def _shape_claim(results: dict[str, Any], spec) -> Claim:
    shape = results["shape"]
    cells, rec = shape["cells"], shape["recommended"]
    k = math.ceil(len(cells) / 3)
    statement = (f"at {shape['budget']} parameters on MNIST-1D, the deepest ReLU shape with predicted output excess "
                 f"kurtosis <= 1 is within the best third (top {k} of {len(cells)}) of the depths at that budget by "
                 "mean test accuracy")
    src = f"{RYH} (effects ∝ L/n; an optimal aspect ratio)"
    paper = "the kurtosis <= 1 rule and 'best third': issue #23 / diagnose (ours); the budget: the MNIST-1D paper's MLP"
    if rec is None:
        return Claim(id="recommendations/shape-best-third", source=src, paper=paper, statement=statement,
                     checks=[fact_check("a depth keeps the predicted kurtosis <= 1 at the budget", False)])
    ours = next(c for c in cells if c["depth"] == rec["depth"])
    others = [c for c in cells if c is not ours]

    def gap(mine, *rest) -> float:  # my mean minus the k-th best mean of the others: >= 0 <=> in the top k
        return float(np.mean(mine) - sorted((np.mean(r) for r in rest), reverse=True)[k - 1])
    check = bootstrap_check(f"test acc (%) of {rec['depth']} × {rec['width']} minus the {k}-th best other shape",
                            gap, [ours["test_acc"]] + [c["test_acc"] for c in others], ">=", 0.0)
    return Claim(id="recommendations/shape-best-third", source=src, paper=paper, statement=statement, checks=[check])


def claims(results: dict[str, Any], spec) -> list[Claim]:
    return _init_claims(results, spec) + _lr_claims(results, spec) + [_shape_claim(results, spec)]
