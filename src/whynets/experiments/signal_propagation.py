"""signal-propagation — order, chaos and the depth a random initialization lets you train.

Poole et al. 2016 ("Exponential expressivity in deep neural networks through transient chaos") and Schoenholz et
al. 2017 ("Deep information propagation"): a wide random tanh net with W ~ N(0, σ_w²/N), b ~ N(0, σ_b²) has a
length fixed point q* and a correlation fixed point c*; χ₁ = σ_w² E[φ'(√q* z)²] = 1 separates order (c* = 1) from
chaos (c* < 1), at σ_w² ≈ 1.76 for σ_b² = 0.05. Correlations between inputs are forgotten over ξ_c layers, which
diverges at the transition, and nets train only to a depth of about 6 ξ_c (their trainability heat map over
(σ_w², L) with 6 ξ_c drawn over it). Pennington et al. 2017 ("Resurrecting the sigmoid in deep learning through
dynamical isometry"): at criticality with a small q*, orthogonal weights keep the input–output Jacobian's singular
values near 1 at any depth while Gaussian weights spread them.

Here (instruments: ``whynets.kernels.meanfield``):

1. the mean-field critical σ_w² of tanh at σ_b² = 0.05 (Gauss–Hermite, float64), and the length and correlation
   maps iterated layer by layer against wide random nets (width 1000, 30 layers, 64 input pairs of q0 = 2, c0 = 0.6;
   σ_w² = 1.3 ordered, 3.0 chaotic), compared over the last 15 layers, where q* and c* are reached;
2. the heat map: tanh MLPs of width 64 with depths 10 … 60 and σ_w² from 1.0 to 8.0 (σ_b² = 0.05), trained by the
   engine for 400 Adam steps on scikit-learn's 8×8 digits (1297 training images); train accuracy per cell, 6 ξ_c
   drawn over it. The claims: at depth 60 the critical net trains and nets far beyond 6 ξ_c on either side
   (σ_w² = 1.0: 6 ξ_c = 22; σ_w² = 8.0: 6 ξ_c = 28) stay at chance; at depth 10 all train; and over the whole map,
   cells with L ≤ 4 ξ_c train and cells with L ≥ 9 ξ_c do not (the boundary within a factor 1.5 of 6 ξ_c), with
   a declared prediction for Adam: the chaotic side follows 6 ξ_c, the ordered side may train deeper;
3. the Jacobian of random nets at depth 64 (width 128) at criticality: the spread of ln s (singular values) with
   orthogonal weights < .5 × with Gaussian weights at σ_b² = 10⁻³ (q* = 0.11); at σ_b² = 0.05 (q* = 0.57) reported.

Calibration (PHENOMENA's proposed criteria, what changed and why): PHENOMENA's setting (MNIST-1D, width 128, 400
steps) did not train even at criticality here: 0.12–0.18 train accuracy at depth 60 after 400–1000 steps of SGD
(lr 0.01–0.1) or Adam (10⁻³), width 64 (2026-12). On the 8×8 digits, the closest data we have to the paper's MNIST,
Adam 3·10⁻⁴ trains the critical depth-60 net to 0.76–0.96 in 400 steps while σ_w² = 1.0 stays at 0.10, so the data
and optimizer follow the phenomenon; width 64 (not 128) keeps the quick preset within its budget. PHENOMENA's chaotic
off-critical point σ_w² = 3 has 6 ξ_c = 54, within 10% of depth 60, so "untrainable" is not what the theory predicts
there (measured 0.64): the chaotic point is σ_w² = 8 (6 ξ_c = 28), the paper's setting of L well beyond 6 ξ_c. Adam
undoes the ordered phase's vanishing gradients, so there nets train past 6 ξ_c (σ_w² = 1.0, 6 ξ_c = 22: 0.2–0.86 at
depth 40 over six seeds), and beyond their trainable depth some seeds still fit a little (0.1–0.2 at depth 60, also
at σ_w² = 0.8): the ordered point keeps PHENOMENA's σ_w² = 1.0 and its ≤ 0.15.

    whynets run signal-propagation --preset quick
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.kernels.meanfield import (c_star, correlation_map, critical_sigma_w2, jacobian_singular_values,
                                       length_map, mean_field, q_star)
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, Prediction, exact_check, fact_check, mean, mean_check

__all__ = ["SignalPropagationSpec", "EXPERIMENT"]

SCHOENHOLZ = "Schoenholz et al. 2017, Deep information propagation"
POOLE = "Poole et al. 2016, Exponential expressivity in deep neural networks through transient chaos"
PENNINGTON = "Pennington et al. 2017, Resurrecting the sigmoid in deep learning through dynamical isometry"
# PHENOMENA: critical σ_w² 1.76 ± .01; depth 60 critical >= .35, off-critical <= .15; depth 10 all >= .45; Jacobian
# ln-s spread orthogonal < .5 × Gaussian (proposed criteria, kept; see the module docstring for the setting)
CRIT_BAND, CRIT_MIN, OFF_MAX, SHALLOW_MIN, ISO_RATIO = (1.75, 1.77), 0.35, 0.15, 0.45, 0.5
TRAIN_BELOW, FAIL_ABOVE, TRAIN_MIN, FAIL_MAX = 4.0, 9.0, 0.5, 0.2  # heat-map bands in units of ξ_c (6 ξ_c ÷ or × 1.5)


@dataclass(frozen=True)
class SignalPropagationSpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(name="digits"))
    sigma_b2: float = field(default=0.05, metadata={"help": "bias variance of every net (Schoenholz: 0.05)"})
    width: int = field(default=64, metadata={"help": "units per hidden layer of the trained nets"})
    heat_sigma_w2: tuple[float, ...] = field(default=(1.0, 1.15, 1.76, 2.5, 5.0, 8.0), metadata={"help": "σ_w² columns of the heat map"})
    heat_depths: tuple[int, ...] = field(default=(10, 20, 40, 60), metadata={"help": "depth rows of the heat map"})
    heat_seeds: tuple[int, ...] = field(default=(0,), metadata={"help": "members per heat-map cell (the claim cells train seeds)"})
    ordered: float = field(default=1.0, metadata={"help": "off-critical σ_w², ordered side"})
    critical: float = field(default=1.76, metadata={"help": "σ_w² at criticality"})
    chaotic: float = field(default=8.0, metadata={"help": "off-critical σ_w², chaotic side"})
    shallow: int = field(default=10, metadata={"help": "depth where every σ_w² trains"})
    deep: int = field(default=60, metadata={"help": "depth where only criticality trains"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members of the claim cells"})
    # Adam 3e-4, batch 100, 400 steps (31 epochs of 1297 images): the critical depth-60 net trains, see the docstring
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="adam", lr=3e-4, batch_size=100, steps=400,
                                                               eval_points=2))
    curve_points: int = field(default=41, metadata={"help": "σ_w² points of the drawn 6 ξ_c curve"})
    mc_sigma_w2: tuple[float, ...] = field(default=(1.3, 3.0), metadata={"help": "σ_w² of the Monte-Carlo wide nets"})
    mc_width: int = field(default=1000, metadata={"help": "units of the Monte-Carlo nets"})
    mc_depth: int = field(default=30, metadata={"help": "layers of the Monte-Carlo nets"})
    mc_pairs: int = field(default=64, metadata={"help": "input pairs per Monte-Carlo net"})
    mc_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one Monte-Carlo net per seed"})
    jac_sigma_b2: tuple[float, ...] = field(default=(1e-3, 0.05), metadata={"help": "σ_b² of the Jacobian nets (first: claimed)"})
    jac_depth: int = field(default=64, metadata={"help": "layers of the Jacobian nets"})
    jac_width: int = field(default=128, metadata={"help": "units of the Jacobian nets"})
    jac_samples: int = field(default=3, metadata={"help": "random nets per (σ_b², weights)"})

    def validate(self) -> None:
        super().validate()
        for name in ("ordered", "critical", "chaotic"):
            if getattr(self, name) not in self.heat_sigma_w2:
                raise SpecError(f"{name}={getattr(self, name)} must be one of heat_sigma_w2={self.heat_sigma_w2}")
        for name in ("shallow", "deep"):
            if getattr(self, name) not in self.heat_depths:
                raise SpecError(f"{name}={getattr(self, name)} must be one of heat_depths={self.heat_depths}")


def _theory(spec: SignalPropagationSpec, ctx) -> dict[str, Any]:
    def fn(_: Path) -> dict[str, Any]:
        grid = np.geomspace(0.8, 10.0, spec.curve_points).tolist()
        crit = critical_sigma_w2("tanh", spec.sigma_b2)
        return {"critical_sigma_w2": crit, "curve": [mean_field("tanh", s, spec.sigma_b2).to_dict() for s in grid + [crit]],
                "cells": {str(s): mean_field("tanh", s, spec.sigma_b2).to_dict() for s in spec.heat_sigma_w2}}
    return ctx.cell({"part": "mean-field"}, fn, sigma_b2=spec.sigma_b2, points=spec.curve_points,
                    sigma_w2=list(spec.heat_sigma_w2), method="gauss-hermite 100/60 nodes, float64")


def _mean_field_path(sw2: float, sb2: float, q0: float, c0: float, depth: int) -> tuple[list[float], list[float]]:
    """q_l and c_l of the mean-field maps layer by layer from inputs of length q0 and correlation c0 (the first layer
    reads the raw input, h₁ = W x + b; later layers read φ(h))."""
    q = sw2 * q0 + sb2
    c = (sw2 * q0 * c0 + sb2) / q
    qs, cs = [q], [c]
    for _ in range(depth - 1):
        c = float(correlation_map(c, "tanh", sw2, sb2, q=q))
        q = float(length_map(q, "tanh", sw2, sb2))
        qs.append(q)
        cs.append(c)
    return qs, cs


def _monte_carlo(spec: SignalPropagationSpec, ctx) -> dict[str, Any]:
    """q_l and c_l of a wide random tanh net for ``mc_pairs`` input pairs (q0 = 2, c0 = 0.6), beside the mean-field
    maps iterated from the same inputs; the claim averages the last half of the layers (fixed point reached)."""
    def fn(_: Path) -> dict[str, Any]:
        out = {}
        for sw2 in spec.mc_sigma_w2:
            q_emp, c_emp = [], []
            for seed in spec.mc_seeds:
                g = torch.Generator().manual_seed(7000 + seed)
                n, k = spec.mc_width, spec.mc_pairs
                z = torch.randn(2 * k, n, generator=g, dtype=torch.float64)
                h = torch.cat([z[:k], 0.6 * z[:k] + 0.8 * z[k:]]) * math.sqrt(2.0)
                qs, cs = [], []
                for layer in range(spec.mc_depth):
                    w = torch.randn(n, n, generator=g, dtype=torch.float64) * math.sqrt(sw2 / n)
                    b = torch.randn(n, generator=g, dtype=torch.float64) * math.sqrt(spec.sigma_b2)
                    h = (h if layer == 0 else torch.tanh(h)) @ w.T + b
                    qs.append(float((h ** 2).mean()))
                    cs.append(float(((h[:k] * h[k:]).sum(1) / (h[:k].norm(dim=1) * h[k:].norm(dim=1))).mean()))
                q_emp.append(qs)
                c_emp.append(cs)
            q_mf, c_mf = _mean_field_path(sw2, spec.sigma_b2, 2.0, 0.6, spec.mc_depth)
            out[str(sw2)] = {"q": q_emp, "c": c_emp, "q_mf": q_mf, "c_mf": c_mf,
                             "q_star": q_star("tanh", sw2, spec.sigma_b2), "c_star": c_star("tanh", sw2, spec.sigma_b2)}
        return out
    return ctx.cell({"part": "monte-carlo"}, fn, sigma_w2=list(spec.mc_sigma_w2), sigma_b2=spec.sigma_b2,
                    width=spec.mc_width, depth=spec.mc_depth, pairs=spec.mc_pairs, seeds=list(spec.mc_seeds),
                    inputs="q0=2, c0=0.6, per layer")


def _jacobians(spec: SignalPropagationSpec, ctx) -> dict[str, Any]:
    out = {}
    for sb2 in spec.jac_sigma_b2:
        def fn(_: Path, sb2=sb2) -> dict[str, Any]:
            sw2 = critical_sigma_w2("tanh", sb2)
            res = {"sigma_w2": sw2, "q_star": q_star("tanh", sw2, sb2)}
            for kind in ("gaussian", "orthogonal"):
                sv = jacobian_singular_values("tanh", sw2, sb2, spec.jac_depth, spec.jac_width, weights=kind,
                                              samples=spec.jac_samples, generator=torch.Generator().manual_seed(31))
                res[kind] = {"log_s_std": sv.log().std(1).tolist(), "mean_s2": (sv ** 2).mean(1).tolist(),
                             "log_s": [[round(float(v), 4) for v in row] for row in sv.log()]}
            return res
        out[str(sb2)] = ctx.cell({"part": "jacobian", "sigma_b2": sb2}, fn, depth=spec.jac_depth,
                                 width=spec.jac_width, samples=spec.jac_samples)
    return out


def run(spec: SignalPropagationSpec, ctx) -> dict[str, Any]:
    theory = _theory(spec, ctx)
    claim_cells = {(s, d) for s in (spec.ordered, spec.critical, spec.chaotic) for d in (spec.shallow, spec.deep)}
    cells = {}
    for sw2 in spec.heat_sigma_w2:
        for depth in spec.heat_depths:
            seeds = spec.seeds if (sw2, depth) in claim_cells else spec.heat_seeds
            model = ModelSpec(kind="mlp", width=spec.width, depth=depth, activation="tanh", init="gaussian",
                              sigma_w2=sw2, sigma_b2=spec.sigma_b2)
            r = ctx.train({"sigma_w2": sw2, "depth": depth}, model, spec.data, spec.train, seeds)
            cells[f"{sw2}/{depth}"] = {"sigma_w2": sw2, "depth": depth, "seeds": list(seeds),
                                       "train_acc": r["final"]["train_acc"], "diverged": r["diverged"]}
    jac = _jacobians(spec, ctx)
    return {"critical_sigma_w2": theory["critical_sigma_w2"], "curve": theory["curve"], "theory": theory["cells"],
            "cells": cells, "monte_carlo": {k: v for k, v in _monte_carlo(spec, ctx).items() if k != "cell"},
            "jacobian": {k: {kk: vv for kk, vv in v.items() if kk != "cell"} for k, v in jac.items()},
            "points": {"ordered": spec.ordered, "critical": spec.critical, "chaotic": spec.chaotic,
                       "shallow": spec.shallow, "deep": spec.deep}}


def _acc(results: dict[str, Any], sw2: float, depth: int) -> list[float]:
    return results["cells"][f"{sw2}/{depth}"]["train_acc"]


def claims(results: dict[str, Any], spec: SignalPropagationSpec) -> list[Claim]:
    p, out = results["points"], []
    out.append(Claim(id="signal-propagation/critical-point", source=f"{SCHOENHOLZ} (tanh, σ_b² = 0.05)",
                     paper="1.76 (as PHENOMENA quotes the paper; the figure was not re-read here)",
                     statement="the mean-field order-to-chaos transition χ₁ = 1 of tanh at σ_b² = 0.05 is at σ_w² ≈ 1.76",
                     checks=[exact_check("critical σ_w² (Gauss–Hermite, float64)", results["critical_sigma_w2"],
                                         "within", CRIT_BAND, why="quadrature + root finding, float64")]))
    mc_checks = []
    for sw2, v in results["monte_carlo"].items():
        half = len(v["q_mf"]) // 2
        q_ratio = [mean([a / b for a, b in zip(run[half:], v["q_mf"][half:])]) for run in v["q"]]
        c_diff = [mean([a - b for a, b in zip(run[half:], v["c_mf"][half:])]) for run in v["c"]]
        mc_checks.append(mean_check(f"q_l / mean-field q_l, last half of the layers, σ_w² = {sw2}", q_ratio, "within",
                                    (0.9, 1.1)))
        mc_checks.append(mean_check(f"c_l − mean-field c_l, last half of the layers, σ_w² = {sw2}", c_diff, "within",
                                    (-0.05, 0.05)))
    out.append(Claim(id="signal-propagation/mean-field-fixed-points", source=f"{POOLE} (theory vs simulation, Fig. 2)",
                     paper="simulations follow the maps to q*, c*; tolerances 10% and 0.05: ours",
                     statement="wide random tanh nets follow the mean-field length and correlation maps layer by layer "
                               "to q* and c* (c* = 1 ordered, c* < 1 chaotic)", checks=mc_checks))
    crit = _acc(results, p["critical"], p["deep"])
    out.append(Claim(id="signal-propagation/trainable-at-criticality", source=f"{SCHOENHOLZ} (trainability heat map)",
                     paper=f">= {CRIT_MIN} (PHENOMENA calibration on MNIST-1D: .46)",
                     statement=f"at depth {p['deep']} the critical net (σ_w² = {p['critical']}) trains: train accuracy "
                               f">= {CRIT_MIN} after {spec.train.steps} steps",
                     checks=[mean_check(f"train acc, σ_w² = {p['critical']}, depth {p['deep']}", crit, ">=", CRIT_MIN)]))
    off = []
    for side in ("ordered", "chaotic"):
        off.append(mean_check(f"train acc, σ_w² = {p[side]} ({side}), depth {p['deep']}", _acc(results, p[side], p["deep"]),
                              "<=", OFF_MAX))
    theory = results["theory"]
    six = {side: 6 * theory[str(p[side])]["xi_c"] for side in ("ordered", "chaotic")}
    out.append(Claim(id="signal-propagation/untrainable-off-critical", source=f"{SCHOENHOLZ} (trainability heat map)",
                     paper=f"chance (0.1) beyond 6 ξ_c; <= {OFF_MAX}: PHENOMENA calibration",
                     statement=f"at depth {p['deep']}, far beyond 6 ξ_c (σ_w² = {p['ordered']}: {six['ordered']:.0f} layers; "
                               f"σ_w² = {p['chaotic']}: {six['chaotic']:.0f}), nets stay at chance: train acc <= {OFF_MAX}",
                     checks=off))
    shallow = [mean_check(f"train acc, σ_w² = {p[k]}, depth {p['shallow']}", _acc(results, p[k], p["shallow"]), ">=",
                          SHALLOW_MIN) for k in ("ordered", "critical", "chaotic")]
    out.append(Claim(id="signal-propagation/shallow-trainable", source=f"{SCHOENHOLZ} (trainability heat map)",
                     paper=f">= {SHALLOW_MIN} (PHENOMENA calibration)", checks=shallow,
                     statement=f"at depth {p['shallow']} (within 6 ξ_c of every σ_w²) all three nets train"))
    trainable, failing, chaotic_failing = {}, {}, {}
    for key, cell in results["cells"].items():
        xi = theory[str(cell["sigma_w2"])]["xi_c"]
        acc = round(mean(cell["train_acc"]), 3)
        if cell["depth"] <= TRAIN_BELOW * xi:
            trainable[key] = acc
        elif cell["depth"] >= FAIL_ABOVE * xi:
            failing[key] = acc
            if cell["sigma_w2"] > results["critical_sigma_w2"]:
                chaotic_failing[key] = acc

    def all_cells(name: str, cells: dict[str, float], ok) -> Any:
        wrong = {k: a for k, a in cells.items() if not ok(a)}
        return fact_check(name, bool(cells) and not wrong, {"cells": cells, "wrong": wrong})
    train_check = lambda: all_cells(f"every cell with L <= {TRAIN_BELOW:g} ξ_c trains (acc >= {TRAIN_MIN})",  # noqa: E731
                                    trainable, lambda a: a >= TRAIN_MIN)
    expected = None
    if spec.train.optimizer != "sgd":
        expected = Prediction(
            outcome=f"the chaotic side follows 6 ξ_c, but ordered nets (χ₁ < 1) may train past {FAIL_ABOVE:g} ξ_c (where "
                    "they stop is not predicted)",
            why=f"{spec.train.optimizer} (the paper: SGD, which trains no depth-60 net in {spec.train.steps} steps here) "
                "rescales each weight's gradient, undoing the exponentially vanishing gradients of the ordered phase; "
                "the chaotic phase's decorrelation of inputs (c* < 1) is a forward loss no optimizer undoes",
            checks=[train_check(),
                    all_cells(f"every chaotic cell with L >= {FAIL_ABOVE:g} ξ_c fails (acc <= {FAIL_MAX})", chaotic_failing,
                              lambda a: a <= FAIL_MAX)])
    out.append(Claim(id="signal-propagation/six-xi-c", source=f"{SCHOENHOLZ} (trainable depth ≈ 6 ξ_c)",
                     paper="boundary at 6 ξ_c; bands 4 ξ_c and 9 ξ_c (a factor 1.5): ours",
                     statement=f"over the heat map, every cell with L <= {TRAIN_BELOW:g} ξ_c trains (acc >= {TRAIN_MIN}) and "
                               f"every cell with L >= {FAIL_ABOVE:g} ξ_c stays near chance (acc <= {FAIL_MAX})",
                     checks=[train_check(),
                             all_cells(f"every cell with L >= {FAIL_ABOVE:g} ξ_c fails (acc <= {FAIL_MAX})", failing,
                                       lambda a: a <= FAIL_MAX)],
                     expected=expected))
    jac = results["jacobian"]
    first, rest = str(spec.jac_sigma_b2[0]), [str(s) for s in spec.jac_sigma_b2[1:]]

    def iso(key: str) -> list[float]:
        return [o / g for o, g in zip(jac[key]["orthogonal"]["log_s_std"], jac[key]["gaussian"]["log_s_std"])]
    out.append(Claim(id="signal-propagation/dynamical-isometry", source=f"{PENNINGTON} (orthogonal vs Gaussian, small q*)",
                     paper=f"orthogonal concentrates, Gaussian spreads; ratio < {ISO_RATIO}: PHENOMENA (proposed), ours",
                     statement=f"at criticality with q* = {jac[first]['q_star']:.2f} (σ_b² = {first}), depth {spec.jac_depth}: "
                               f"the spread of ln s with orthogonal weights is < {ISO_RATIO} × that with Gaussian weights",
                     checks=[mean_check("std ln s orthogonal / Gaussian, per net", iso(first), "<", ISO_RATIO)]))
    if rest:
        out.append(Claim(id="signal-propagation/isometry-needs-small-q", source=f"{PENNINGTON} (reported)",
                         paper="isometry degrades as q* grows", reported=True,
                         statement="with a larger q* the orthogonal advantage shrinks: "
                                   + ", ".join(f"q* = {jac[k]['q_star']:.2f} (σ_b² = {k})" for k in rest),
                         checks=[mean_check(f"std ln s orthogonal / Gaussian, σ_b² = {k}", iso(k), "<", ISO_RATIO)
                                 for k in rest]))
    return out


def figures(results: dict[str, Any], spec: SignalPropagationSpec, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    sig = sorted({c["sigma_w2"] for c in results["cells"].values()})
    dep = sorted({c["depth"] for c in results["cells"].values()})
    acc = np.array([[mean(results["cells"][f"{s}/{d}"]["train_acc"]) for s in sig] for d in dep])
    edges = lambda v: np.concatenate([[v[0] ** 1.5 / v[1] ** 0.5], np.sqrt(np.multiply(v[:-1], v[1:])),  # noqa: E731
                                      [v[-1] ** 1.5 / v[-2] ** 0.5]])
    dep_edges = np.concatenate([[dep[0] - (dep[1] - dep[0]) / 2], (np.array(dep[:-1]) + np.array(dep[1:])) / 2,
                                [dep[-1] + (dep[-1] - dep[-2]) / 2]])
    mesh = axes[0].pcolormesh(edges(np.array(sig, float)), dep_edges, acc, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(mesh, ax=axes[0], label="train accuracy")
    curve = sorted(results["curve"], key=lambda m: m["sigma_w2"])
    xs = [m["sigma_w2"] for m in curve]
    axes[0].plot(xs, [min(6 * m["xi_c"], 1e4) for m in curve], "w--", lw=2, label="6 ξ_c (mean field)")
    axes[0].axvline(results["critical_sigma_w2"], c="w", lw=0.8, ls=":")
    axes[0].set(xscale="log", xlim=(edges(np.array(sig, float))[0], edges(np.array(sig, float))[-1]),
                ylim=(dep_edges[0], dep_edges[-1]), xlabel="σ_w²", ylabel="depth L",
                title=f"(a) trained accuracy, tanh, σ_b² = {spec.sigma_b2}")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].plot(xs, [m["xi_c"] for m in curve], label="ξ_c")
    axes[1].plot(xs, [m["c_star"] for m in curve], label="c*")
    axes[1].plot(xs, [m["q_star"] for m in curve], label="q*")
    for sw2, v in results["monte_carlo"].items():
        half = len(v["q_mf"]) // 2
        axes[1].scatter([float(sw2)] * len(v["q"]), [mean(run[half:]) for run in v["q"]], marker="x", c="C2")
        axes[1].scatter([float(sw2)] * len(v["c"]), [mean(run[half:]) for run in v["c"]], marker="x", c="C1")
    axes[1].set(xscale="log", yscale="log", ylim=(1e-2, 1e3), xlabel="σ_w²",
                title="(b) mean field (lines) vs width-1000 nets (x)")
    axes[1].legend(fontsize=8)
    jac = results["jacobian"]
    first = next(iter(jac))
    for j, kind in enumerate(("gaussian", "orthogonal")):
        values = [v for row in jac[first][kind]["log_s"] for v in row]
        axes[2].hist(values, bins=60, alpha=0.6, density=True, color=f"C{j}", label=kind)
    axes[2].annotate("Gaussian's smallest values\nat float64's floor (e^-37 × max)", xy=(-36, 0.02), xytext=(-33, 0.12),
                     fontsize=7, arrowprops={"arrowstyle": "->", "lw": 0.6})
    axes[2].set(xlabel="ln singular value of the input-output Jacobian", ylabel="density",
                title=f"(c) depth {spec.jac_depth}, critical, q* = {jac[first]['q_star']:.2f}")
    axes[2].legend(fontsize=8)
    data = {"sigma_w2": sig, "depths": dep, "train_acc": acc.tolist(),
            "six_xi_c": {"sigma_w2": xs, "depth": [6 * m["xi_c"] for m in curve]},
            "critical_sigma_w2": results["critical_sigma_w2"]}
    return [save_figure(fig, data, out, "signal_propagation")]


EXPERIMENT = Experiment(
    name="signal-propagation",
    title="Signal propagation: the order-to-chaos transition sets the trainable depth",
    paper="Poole et al. 2016; Schoenholz et al. 2017; Pennington et al. 2017",
    claim="tanh at σ_b² = 0.05 turns chaotic at σ_w² = 1.76; nets train to about 6 ξ_c layers (at depth 60 only near "
          "criticality); orthogonal weights at criticality with small q* keep the Jacobian's singular values together",
    quick_wall_s=65,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds", "mc_seeds", "heat_seeds"), max_seeds=6, seed_block=3,
    presets={
        "smoke": SignalPropagationSpec(heat_sigma_w2=(1.0, 1.76, 8.0), heat_depths=(2, 6), shallow=2, deep=6, width=16,
                                       seeds=(0, 1), heat_seeds=(0,), curve_points=9, mc_width=100, mc_depth=6, mc_pairs=2,
                                       mc_seeds=(0, 1), jac_depth=6, jac_width=16, jac_samples=2,
                                       train=TrainSpec(optimizer="adam", lr=1e-3, batch_size=100, steps=20, eval_points=2)),
        "quick": SignalPropagationSpec(),
        "full": SignalPropagationSpec(width=128, heat_sigma_w2=(0.8, 1.0, 1.15, 1.3, 1.5, 1.76, 2.0, 2.5, 3.0, 4.0, 5.0, 8.0),
                                      heat_depths=(10, 20, 30, 40, 60, 80, 100), heat_seeds=(0, 1, 2), seeds=(0, 1, 2),
                                      mc_width=2000, jac_width=256, jac_samples=6,
                                      train=TrainSpec(optimizer="adam", lr=3e-4, batch_size=100, steps=1000, eval_points=5)),
    },
    run=run, claims=claims, figures=figures,
)
