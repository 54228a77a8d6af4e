"""soft-inductive-bias — Wilson 2025, "Deep Learning is Not So Mysterious or Different", Fig. 1(a, b).

A flexible hypothesis space with a *soft* preference for simple solutions fits simple and complex
data alike: a Legendre polynomial of high order (``degree``, 30) with the order-dependent penalty
λ Σ_j γ^j w_j², against hard-restricted fits of fixed order k (least squares) and the unpenalized
order-``degree`` fit, on few noisy samples of (a) a simple function (a cubic) and (b) a complex one
(sin 4πx + ½ cos 9πx), averaged over data seeds.

Selection uses the training data only: the soft model's (λ, γ) and the hard model's order k are each
picked by closed-form leave-one-out (``whynets.solvers.polynomial``). "The best hard-restricted model"
is therefore the LOO-picked order (what a practitioner can do); we also report the oracle — the
single fixed order with the lowest mean *test* error — which uses information the soft model never sees.

    whynets run soft-inductive-bias --preset quick
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from whynets.solvers.polynomial import (fit_polynomial, fit_soft_polynomial, make_regression_data, predict_polynomial,
                                        select_lambda, select_order, target_function)
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from whynets.stats import paired_bootstrap_interval

from .base import Check, Claim, Experiment, Prediction, mean, mean_check, rate_check

SOURCE = "Wilson 2025, Fig. 1(a, b)"


@dataclass(frozen=True)
class SoftInductiveBiasSpec(Spec):
    simple: str = field(default="cubic", metadata={"help": "target of (a): cubic | sine | complex"})
    complex: str = field(default="complex", metadata={"help": "target of (b): cubic | sine | complex"})
    n_train: int = field(default=50, metadata={"help": "noisy training samples, x ~ U[-1, 1]"})
    noise: float = field(default=0.1, metadata={"help": "noise standard deviation σ of the training targets"})
    n_test: int = field(default=1000, metadata={"help": "noiseless test points, x ~ U[-1, 1]"})
    degree: int = field(default=30, metadata={"help": "order of the soft and of the unpenalized polynomial"})
    gammas: tuple[float, ...] = field(default=(1.1, 1.25, 1.5, 2.0, 4.0, 8.0, 16.0),
                                      metadata={"help": "order-dependence γ of the penalty, picked by LOO with λ"})
    low_order: int = field(default=3, metadata={"help": "order of the hard-restricted low-order fit"})
    seeds: tuple[int, ...] = field(default=tuple(range(16)), metadata={"help": "data seeds (means are over these)"})
    within: float = field(default=0.1, metadata={"help": "claim: soft test MSE <= (1 + within) × best hard"})


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


def _one_seed(spec: SoftInductiveBiasSpec, kind: str, seed: int, curves: bool) -> dict[str, Any]:
    d = make_regression_data(kind, spec.n_train, noise=spec.noise, n_test=spec.n_test, seed=seed)
    x, y, xt, yt = d["x"], d["y"], d["x_test"], d["y_test"]
    best = min((dict(select_lambda(x, y, spec.degree, gamma=g), gamma=g) for g in spec.gammas), key=lambda r: r["loo"])
    soft = fit_soft_polynomial(x, y, spec.degree, lam=best["lam"], gamma=best["gamma"])
    max_order = min(spec.degree, spec.n_train - 2)
    hard = [fit_polynomial(x, y, k) for k in range(max_order + 1)]
    order = select_order(x, y, orders=range(max_order + 1))["order"]
    unpen = fit_polynomial(x, y, spec.degree)
    out = {"soft": {"test": _mse(predict_polynomial(xt, soft), yt), "train": _mse(predict_polynomial(x, soft), y),
                    "lam": best["lam"], "gamma": best["gamma"], "loo": best["loo"]},
           "hard_test": [_mse(predict_polynomial(xt, c), yt) for c in hard],
           "hard_train": [_mse(predict_polynomial(x, c), y) for c in hard], "loo_order": order,
           "unpenalized": {"test": _mse(predict_polynomial(xt, unpen), yt), "train": _mse(predict_polynomial(x, unpen), y)}}
    if curves:
        grid = torch.linspace(-1, 1, 201, dtype=torch.float64)
        out["curves"] = {"x": grid.tolist(), "truth": target_function(kind)(grid).tolist(), "x_train": x.tolist(),
                         "y_train": y.tolist(), "soft": predict_polynomial(grid, soft).tolist(),
                         "hard_loo": predict_polynomial(grid, hard[order]).tolist(),
                         "low_order": predict_polynomial(grid, hard[min(spec.low_order, max_order)]).tolist(),
                         "unpenalized": predict_polynomial(grid, unpen).tolist()}
    return out


def _target_cell(spec: SoftInductiveBiasSpec, kind: str) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    per_seed = [_one_seed(spec, kind, s, curves=(i == 0)) for i, s in enumerate(spec.seeds)]
    return {"per_seed": per_seed, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def _summary(cell: dict[str, Any], spec: SoftInductiveBiasSpec) -> dict[str, Any]:
    rows = cell["per_seed"]
    orders = len(rows[0]["hard_test"])
    hard_mean = [mean([r["hard_test"][k] for r in rows]) for k in range(orders)]
    hard_median = [float(np.median([r["hard_test"][k] for r in rows])) for k in range(orders)]
    oracle = min(range(orders), key=lambda k: hard_median[k])  # by the median: a mean is ruled by blow-up seeds
    low = min(spec.low_order, orders - 1)
    return {"soft_test": mean([r["soft"]["test"] for r in rows]),
            "hard_loo_test": mean([r["hard_test"][r["loo_order"]] for r in rows]),
            "oracle_order": oracle, "oracle_test": hard_mean[oracle], "hard_test_mean_by_order": hard_mean,
            "soft_test_median": float(np.median([r["soft"]["test"] for r in rows])),
            "hard_loo_test_median": float(np.median([r["hard_test"][r["loo_order"]] for r in rows])),
            "per_seed_oracle_test": mean([min(r["hard_test"]) for r in rows]),
            "hard_test_by_order": hard_median, "hard_train_by_order": [mean([r["hard_train"][k] for r in rows])
                                                                     for k in range(orders)],
            "loo_orders": [r["loo_order"] for r in rows], "gammas": [r["soft"]["gamma"] for r in rows],
            "unpenalized_test": mean([r["unpenalized"]["test"] for r in rows]),
            "unpenalized_train": mean([r["unpenalized"]["train"] for r in rows]),
            "low_test": hard_mean[low], "low_train": mean([r["hard_train"][low] for r in rows]),
            "soft_over_loo_per_seed": [r["soft"]["test"] / r["hard_test"][r["loo_order"]] for r in rows],
            "per_seed": {"soft": [r["soft"]["test"] for r in rows],
                         "hard_loo": [r["hard_test"][r["loo_order"]] for r in rows],
                         "hard_oracle": [r["hard_test"][oracle] for r in rows],
                         "unpenalized_train": [r["unpenalized"]["train"] for r in rows],
                         "unpenalized_test": [r["unpenalized"]["test"] for r in rows],
                         "low_train": [r["hard_train"][low] for r in rows], "low_test": [r["hard_test"][low] for r in rows]},
            "curves": rows[0]["curves"], "wall_s": cell["wall_s"], "cpu_s": cell["cpu_s"]}


def run(spec: SoftInductiveBiasSpec, ctx) -> dict[str, Any]:
    if spec.n_train < 3 or spec.degree < spec.low_order or not spec.seeds or not spec.gammas:
        raise SpecError("soft-inductive-bias: need n_train >= 3, degree >= low_order, and non-empty seeds and gammas")
    out = {}
    for role, kind in (("simple", spec.simple), ("complex", spec.complex)):
        label = {"target": kind}
        consumed = dict(n=spec.n_train, noise=spec.noise, n_test=spec.n_test, degree=spec.degree,
                        gammas=list(spec.gammas), seeds=list(spec.seeds), low_order=spec.low_order)
        def compute(_, kind=kind, role=role):
            cell = _target_cell(spec, kind)
            ctx.store.append_metrics({"target": kind, "role": role, "wall_s": cell["wall_s"], "cpu_s": cell["cpu_s"],
                                      "soft_test": [r["soft"]["test"] for r in cell["per_seed"]]})
            return cell

        out[role] = dict(_summary(ctx.cell(label, compute, **consumed), spec), target=kind)
        ctx.log(f"soft-inductive-bias: {role} ({kind}): {out[role]['wall_s']:.1f}s")
    return {"targets": out, "noise_var": spec.noise ** 2}


def _ratio(a, b) -> float:
    """The median over data seeds of the per-seed ratio a_i / b_i."""
    return float(np.median(a / b))


def claims(results: dict[str, Any], spec: SoftInductiveBiasSpec) -> list[Claim]:
    """Per data seed (one noisy sample each) the ratio of two fits' test MSEs; the claims read its MEDIAN over seeds,
    with a paired bootstrap interval. Why not the ratio of means: the per-seed test MSEs are heavy-tailed — on a few
    seeds LOO picks a (λ, γ) or an order whose fit explodes between the samples (measured: with 64 seeds one such seed
    makes the mean ratio 30-1000×, whichever fit it hits) — so a mean reports the worst seeds, not the typical fit.
    How often the soft fit fails badly is reported on its own (``soft-fit-tail``)."""
    T, s2, f = results["targets"], results["noise_var"], 1 + spec.within
    a, b = T["simple"], T["complex"]
    pre = f"order-{spec.degree} soft fit ((λ, γ) by LOO)"

    def ratio_check(role: str, hard: str, label: str) -> Check:
        p = T[role]["per_seed"]
        return Check(name=f"({'a' if role == 'simple' else 'b'}, {T[role]['target']}) test MSE(soft) / test MSE({label}), "
                          "median over seeds", op="<=", threshold=f,
                     interval=paired_bootstrap_interval(_ratio, p["soft"], p[hard]))

    loo = [ratio_check(r, "hard_loo", "hard, order by LOO") for r in ("simple", "complex")]
    orc = [ratio_check(r, "hard_oracle", f"hard order {T[r]['oracle_order']} (oracle)") for r in ("simple", "complex")]
    qualitative = {"Wilson 2025, Fig. 1(a, b)": "qualitative: one flexible model with a soft simplicity bias fits "
                                                "both the simple and the complex data well",
                   "our threshold": f"test MSE within {spec.within:.0%} of the hard fit's (PHENOMENA proposal: 20%)"}
    out = [Claim(id="soft-inductive-bias/soft-matches-validated-order", source=SOURCE, paper=qualitative,
                 statement=f"the {pre} is as good as the best hard-restricted fit whose order is picked by LOO, on "
                           "simple and complex data", checks=loo),
           Claim(id="soft-inductive-bias/soft-matches-oracle-order", source=SOURCE, paper=qualitative,
                 statement=f"the {pre} is as good as the best fixed order chosen with test data (an oracle)", checks=orc,
                 expected=Prediction(
                     outcome=f"on the simple ({spec.simple}) target the oracle's order beats the soft fit by more "
                             f"than {spec.within:.0%}; on the complex target the soft fit still matches it",
                     why=f"the {spec.simple} target is exactly a polynomial of order 3: the oracle, told the best "
                         "order by the test data, fits it with no bias and the fewest parameters, while the soft fit "
                         f"picks (λ, γ) by LOO on {spec.n_train} noisy points",
                     checks=[Check(name="(a) test MSE(soft) / test MSE(hard, oracle order), median over seeds",
                                   op=">", threshold=f, interval=orc[0].interval),
                             Check(name="(b) test MSE(soft) / test MSE(hard, oracle order), median over seeds",
                                   op="<=", threshold=f, interval=orc[1].interval)])
                 if spec.simple == "cubic" else None)]
    tail = {r: sum(x > 2 * y for x, y in zip(T[r]["per_seed"]["soft"], T[r]["per_seed"]["hard_loo"])) for r in T}
    pa, pb = a["per_seed"], b["per_seed"]
    out.append(Claim(id="soft-inductive-bias/unpenalized-overfits-simple", source=SOURCE, paper="overfits",
                     statement=f"the unpenalized order-{spec.degree} fit overfits the simple data",
                     checks=[mean_check(f"(a) mean train MSE(unpenalized) (σ² = {s2:g})", pa["unpenalized_train"], "<", s2),
                             Check(name="(a) test MSE(unpenalized) / test MSE(soft), median over seeds", op=">=",
                                   threshold=2.0,
                                   interval=paired_bootstrap_interval(_ratio, pa["unpenalized_test"], pa["soft"]))]))
    out.append(Claim(id="soft-inductive-bias/low-order-underfits-complex", source=SOURCE, paper="underfits",
                     statement=f"the order-{spec.low_order} fit underfits the complex data",
                     checks=[mean_check(f"(b) mean train MSE(order {spec.low_order}) (2σ² = {2 * s2:g})", pb["low_train"],
                                        ">=", 2 * s2),
                             Check(name=f"(b) test MSE(order {spec.low_order}) / test MSE(soft), median over seeds",
                                   op=">=", threshold=2.0, interval=paired_bootstrap_interval(_ratio, pb["low_test"], pb["soft"]))]))
    n = len(a["per_seed"]["soft"])
    out.append(Claim(id="soft-inductive-bias/soft-fit-tail", source=SOURCE, reported=True,
                     statement="how often the soft fit is more than twice as bad as the LOO-picked order (a failure of "
                               "selecting (λ, γ) on few points; reported, not gated)",
                     paper="not in the paper (our diagnostic; 10% is our threshold)",
                     measured={r: f"{tail[r]} of {n} seeds" for r in T},
                     checks=[rate_check(f"({'a' if r == 'simple' else 'b'}, {T[r]['target']}) seeds with test MSE(soft) "
                                        "> 2 × test MSE(LOO order)", tail[r], n, "<=", 0.1) for r in T]))
    return out


def figures(results: dict[str, Any], spec: SoftInductiveBiasSpec, out: Path) -> list[str]:
    T = results["targets"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    data = {}
    for col, (role, label) in enumerate((("simple", "(a) simple"), ("complex", "(b) complex"))):
        t, c = T[role], T[role]["curves"]
        ax = axes[0, col]
        ax.plot(c["x_train"], c["y_train"], "k.", label="noisy samples")
        ax.plot(c["x"], c["truth"], "k-", lw=1, label="truth")
        for name, style in (("soft", "C0-"), ("hard_loo", "C1--"), ("low_order", "C2:"), ("unpenalized", "C3-")):
            ax.plot(c["x"], c[name], style, lw=1.3, label=name.replace("_", " "))
        lo, hi = min(c["truth"]), max(c["truth"])
        ax.set(ylim=(lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)), xlabel="x",
               title=f"{label}: {t['target']}, n={spec.n_train}, seed {spec.seeds[0]}")
        ax.legend(fontsize=7)
        ax = axes[1, col]
        ax.plot(range(len(t["hard_test_by_order"])), t["hard_test_by_order"], "o-", ms=3, label="hard order k (test)")
        ax.plot(range(len(t["hard_train_by_order"])), t["hard_train_by_order"], "s-", ms=2, alpha=0.5,
                label="hard order k (train)")
        ax.axhline(t["soft_test_median"], c="C0", label=f"soft order {spec.degree} (test)")
        ax.axhline(t["hard_loo_test_median"], c="C1", ls="--", label="hard, LOO order (test)")
        ax.axhline(results["noise_var"], c="gray", ls=":", label="σ²")
        ax.set(yscale="log", xlabel="order k", ylabel="test MSE (median over seeds)", title=f"{label}: error vs order")
        ax.legend(fontsize=7)
        data[role] = {k: t[k] for k in ("hard_test_by_order", "hard_train_by_order", "soft_test", "hard_loo_test",
                                        "unpenalized_test", "curves")}
    fig.tight_layout()
    return [save_figure(fig, data, out, "soft_inductive_bias")]


EXPERIMENT = Experiment(
    name="soft-inductive-bias",
    title="Soft inductive bias: one penalized high-order polynomial fits simple and complex data",
    paper="Wilson 2025, Deep Learning is Not So Mysterious or Different",
    claim="an order-dependent penalty on a high-order polynomial matches the best hard-restricted order on simple and "
          "complex data, while the unpenalized fit overfits and a low-order fit underfits",
    quick_wall_s=14,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=32,
    presets={
        "smoke": SoftInductiveBiasSpec(n_train=20, degree=12, n_test=200, gammas=(1.5, 4.0), seeds=(0, 1)),
        "quick": SoftInductiveBiasSpec(),
        "full": SoftInductiveBiasSpec(seeds=tuple(range(100))),
    },
    run=run, claims=claims, figures=figures,
    cpu_on_auto=("float64 polynomial least squares: "
                 "176 s on an H100 shared by 4-6 runs, against 15 s on one CPU core")
)
