"""saddles — Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio 2014, "Identifying and attacking the saddle
point problem in high-dimensional non-convex optimization", Fig. 1.

At the critical points of a network's training loss, the index α (the fraction of negative Hessian
eigenvalues) rises with the loss: low critical points are (near-)minima, high ones saddles with many
descending directions. We find critical points of a small tanh MLP on MNIST-1D and correlate α with the
loss (Spearman).

Setup. Inputs are the first ``pca_dims`` principal components of MNIST-1D, whitened; the net is
10-8-10 (178 parameters); the objective is F = cross-entropy + (wd/2)‖θ‖² (float64). Without whitening
and weight decay the critical-point search stalls in "gradient-flat" regions (the gradient lies in the
Hessian's near-null space: ill-conditioned input directions, tanh units saturating towards minima at
infinity; Frye et al. 2021 describe the same). Starts: ``eval_points`` log-spaced snapshots of SGD
trajectories (one per seed), so they span the losses from the initial plateau to near the minimum.
From each, Levenberg–Marquardt on ∇F = 0 with the exact Hessian; a point counts as critical when
‖∇F‖ < ``grad_tol``, and its index is the fraction of eigenvalues below −``zero_tol``·max|λ|.

    whynets run saddles --preset quick
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from whynets.data import Dataset, DataSpec
from whynets.data.corruptions import whitened_pca as _whitened_pca
from whynets.engine import TrainSpec
from whynets.measure.hvp import ModelLoss
from whynets.models import ModelSpec, build
from whynets.plotting import plt, save_figure
from whynets.measure.critical_points import find_critical_point
from whynets.probes import Snapshot
from whynets.spec import Spec

from whynets.stats import bootstrap_interval

from .base import Check, Claim, Experiment, exact_check, fact_check

SOURCE = "Dauphin et al. 2014, Fig. 1 (index vs training error at critical points)"


@dataclass(frozen=True)
class SaddlesSpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(n_train=300))
    pca_dims: int = field(default=10, metadata={"help": "inputs = this many whitened principal components"})
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=8, depth=1, activation="tanh"))
    seeds: tuple[int, ...] = field(default=tuple(range(8)), metadata={"help": "one SGD trajectory per seed"})
    # SGD with the same weight decay as the objective whose critical points we look for
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=50,
                                                               weight_decay=1e-2, steps=2000, eval_points=10))
    max_iters: int = field(default=50, metadata={"help": "Levenberg–Marquardt iterations per start"})
    grad_tol: float = field(default=1e-6, metadata={"help": "‖∇F‖ below this counts as a critical point"})
    zero_tol: float = field(default=1e-6, metadata={"help": "eigenvalues below -zero_tol·max|λ| count as negative"})
    stall_window: int = field(default=25, metadata={"help": "stop a search when ‖∇F‖ has not halved in this many steps"})
    min_points: int = field(default=8, metadata={"help": "critical points needed to test the correlation"})


def whitened_pca(ds: Dataset, dims: int) -> Dataset:
    """The whitened principal components (``data.corruptions.whitened_pca``, the ``pca-whiten`` transform)."""
    return _whitened_pca(ds, dims)


def run(spec: SaddlesSpec, ctx) -> dict[str, Any]:
    data = replace(spec.data, transform="pca-whiten", transform_arg=spec.pca_dims)
    ds = ctx.data(data)
    traj = ctx.train({"part": "trajectories"}, spec.model, data, spec.train, spec.seeds, probe=Snapshot())
    template = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0)).double()
    ml = ModelLoss(template, F.cross_entropy, [(ds.x, ds.y)], dtype=torch.float64)
    wd = spec.train.weight_decay
    objective = lambda th: ml.batch_loss(th, 0) + 0.5 * wd * (th * th).sum()  # noqa: E731
    points, wall = [], traj["wall_s"]
    for i, seed in enumerate(spec.seeds):
        def search(cell_dir: Path, i: int = i) -> dict[str, Any]:
            started, rows = time.perf_counter(), []
            for r in traj["history"]:
                start = torch.tensor(r["theta"][i], dtype=torch.float64)
                res = find_critical_point(objective, start, spec.max_iters, spec.grad_tol, spec.stall_window)
                lam = res["eigenvalues"]
                scale = float(lam.abs().max())
                rows.append({"step": r["step"], "start_loss": float(objective(start)),
                             "objective": float(objective(res["theta"])), "loss": float(ml.loss(res["theta"])),
                             "grad_norm": res["grad_norm"], "iterations": res["iterations"],
                             "flat_share": res["flat_share"], "critical": res["grad_norm"] < spec.grad_tol,
                             "history": res["history"],
                             "index": float((lam < -spec.zero_tol * scale).double().mean()),
                             "lambda_min": float(lam[0]), "lambda_max": float(lam[-1])})
            return {"points": rows, "wall_s": time.perf_counter() - started}
        out = ctx.cell({"search": seed}, search, trajectories=traj["cell"], member=i, iters=spec.max_iters,
                       tol=spec.grad_tol, zero=spec.zero_tol, stall=spec.stall_window)
        points += [dict(p, seed=seed) for p in out["points"]]
        wall += out["wall_s"]
    return {"points": points, "n_params": ml.size, "wall_s": wall}


def _spearman(points: list[dict[str, Any]]) -> float:
    if len(points) < 3:
        return float("nan")
    return float(spearmanr([p["objective"] for p in points], [p["index"] for p in points])[0])


def claims(results: dict[str, Any], spec: SaddlesSpec) -> list[Claim]:
    """Spearman's ρ over the critical points found, with a cluster bootstrap over the SGD trajectories (seeds):
    the points of one trajectory are not independent, so whole trajectories are resampled."""
    crit = [p for p in results["points"] if p["critical"]]
    seeds = sorted({p["seed"] for p in crit})

    def rho(idx) -> float:
        return _spearman([p for i in idx for p in crit if p["seed"] == seeds[int(i)]])

    corr = Check(name=f"Spearman(index, F) over the critical points (‖∇F‖ < {spec.grad_tol:g})", op=">=", threshold=0.7,
                 interval=bootstrap_interval(rho, list(range(len(seeds))), n_boot=2000)) if len(seeds) >= 2 else \
        fact_check("critical points from at least two trajectories", False)
    count = exact_check("critical points found", len(crit), ">=", spec.min_points, "a count")
    return [Claim(id="saddles/index-rises-with-loss", source=SOURCE,
                  paper={"Dauphin et al. 2014, Fig. 1 (a, c)": "the index rises monotonically with the error of the "
                                                               "critical point (MNIST, CIFAR-10 MLPs)",
                         "our threshold": "Spearman >= 0.7 (PHENOMENA proposal: 0.6)"},
                  statement="at critical points the index (fraction of negative Hessian eigenvalues) rises with the "
                            "loss (given enough critical points: the search's premise, checked as a count)",
                  measured={"spearman": _spearman(crit), "critical_points": len(crit), "starts": len(results["points"]),
                            "trajectories": len(seeds)}, checks=[corr, count])]


def figures(results: dict[str, Any], spec: SaddlesSpec, out: Path) -> list[str]:
    pts = results["points"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for crit, style in ((True, dict(c="C0", label="critical (‖∇F‖ < tol)")),
                        (False, dict(c="lightgray", label="stalled (gradient-flat)"))):
        sel = [p for p in pts if p["critical"] == crit]
        axes[0].scatter([p["objective"] for p in sel], [p["index"] for p in sel], **style)
        axes[1].scatter([p["start_loss"] for p in sel], [max(p["grad_norm"], 1e-16) for p in sel], **style)
    axes[0].set(xlabel="F = loss + (wd/2)‖θ‖² at the point", ylabel="index α (fraction of λ < 0)",
                title=f"(a) index vs loss, {results['n_params']}-parameter tanh MLP")
    axes[1].axhline(spec.grad_tol, ls=":", c="gray")
    axes[1].set(yscale="log", xlabel="F at the start (SGD snapshot)", ylabel="‖∇F‖ at the end",
                title="(b) convergence of the search")
    for ax in axes:
        ax.legend(fontsize=8)
    data = {k: [p[k] for p in pts] for k in ("objective", "loss", "index", "grad_norm", "start_loss", "critical")}
    return [save_figure(fig, data, out, "saddles")]


EXPERIMENT = Experiment(
    name="saddles",
    title="At critical points the index rises with the loss",
    paper="Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio 2014, Identifying and attacking the saddle point problem",
    claim="critical points found by Newton-type root finding: high-loss ones are saddles, low-loss ones near-minima",
    quick_wall_s=103,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=16,
    on_digits=True,
    presets={
        "smoke": SaddlesSpec(data=DataSpec(n_train=100, n_test=50), pca_dims=5, seeds=(0,), max_iters=10, min_points=2,
                             model=ModelSpec(kind="mlp", width=4, depth=1, activation="tanh"),
                             train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=50, weight_decay=1e-2,
                                             steps=100, eval_points=4)),
        "quick": SaddlesSpec(),
        "full": SaddlesSpec(seeds=tuple(range(12)), max_iters=200, stall_window=40),
    },
    run=run, claims=claims, figures=figures,
    cpu_on_auto=("a 178-parameter net, exact Hessians and Newton steps: "
                 "over 470 s on an H100 shared by 4-6 runs, against 273 s on one CPU core")
)
