"""critical-periods — Achille, Rovere & Soatto 2019, "Critical learning periods in deep networks".

A deficit early in training leaves a permanent mark: a network trained on blurred inputs for its first
k epochs and on clean inputs after does worse at the end the later the blur is removed, while a
deficit that keeps the information (a flipped input) does no lasting harm. The trace of the Fisher
information rises quickly early in training and then falls ("memorization, then consolidation").

Here: a 3-layer 1-D CNN on MNIST-1D. Blur = downsample by ``blur_factor`` (block averages) and upsample
back by linear interpolation; flip = the signal reversed. Each condition is one cell with two
``engine.train`` calls (phase 1 on the deficit data for k epochs, phase 2 on clean data for the rest;
a checkpoint for each), the total number of steps equal for every k. The Fisher trace (exact:
E_{ŷ~p}‖∇log p(ŷ|x)‖², ``measure.fisher.fisher_trace``) is measured every few epochs of the clean run.

Confounds, stated: with a decaying LR a later removal would also mean a lower LR in the clean phase;
this experiment uses a constant LR, so that confound is absent. The total is fixed, so a later removal
also leaves fewer clean epochs; the flip control, removed at the same epoch with the same clean time
left, bounds that effect. Phase 2 starts a fresh optimizer (no momentum carried over from phase 1).

    whynets run critical-periods --preset quick
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from whynets.data import Dataset, DataSpec
from whynets.engine import TrainSpec, population_for, train
from whynets.measure.fisher import fisher_trace
from whynets.models import ModelSpec
from whynets.report.figures import plt, save_figure
from whynets.spec import Spec

from .base import Claim, Experiment, mean

SOURCE = "Achille, Rovere & Soatto 2019, Critical learning periods in deep networks"
DEFICITS = ("blur", "flip")


@dataclass(frozen=True)
class CriticalPeriodsSpec(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="cnn1d", width=32))
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one population member per seed"})
    blur_factor: int = field(default=4, metadata={"help": "blur: block-average by this factor, then upsample"})
    blur_epochs: tuple[int, ...] = field(default=(0, 10, 20, 30, 40),
                                         metadata={"help": "epochs at which the blur is removed"})
    flip_epochs: tuple[int, ...] = field(default=(40,), metadata={"help": "epochs at which the flip is removed"})
    late_epoch: int = field(default=40, metadata={"help": "claims compare blur and flip removed at this epoch"})
    fisher_every: int = field(default=5, metadata={"help": "epochs between Fisher-trace measurements (clean run)"})
    fisher_examples: int = field(default=256, metadata={"help": "training examples the Fisher trace averages over"})
    # SGD, constant lr 0.05, momentum 0.9, batch 100 (40 steps per epoch of 4000), 2400 steps = 60 epochs
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=100,
                                                               steps=2400, eval_points=6))


def blur(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Block-average a batch of 1-D signals (N, L) by ``factor`` and upsample back to L (linear)."""
    if factor < 1 or factor > x.shape[-1]:
        raise ValueError(f"blur_factor must be in [1, {x.shape[-1]}], got {factor}")
    low = F.avg_pool1d(x.reshape(len(x), 1, -1), factor, factor)
    return F.interpolate(low, size=x.shape[-1], mode="linear", align_corners=False).reshape(x.shape)


def with_deficit(ds: Dataset, deficit: str, factor: int) -> Dataset:
    """The data set with the deficit applied to every input (train and test)."""
    if deficit == "blur":
        tf = lambda x: blur(x, factor)
    elif deficit == "flip":
        tf = lambda x: x.flip(-1)
    else:
        raise ValueError(f"unknown deficit {deficit!r}; choose one of {', '.join(DEFICITS)}")
    return Dataset(tf(ds.x), ds.y, tf(ds.x_test), ds.y_test, dict(ds.meta, deficit=deficit))


def steps_per_epoch(ds: Dataset, spec: TrainSpec) -> int:
    n = len(ds.y)
    batch = spec.batch_size if 0 < spec.batch_size < n else n
    return -(-n // batch)


def _condition(ctx, spec: CriticalPeriodsSpec, deficit: str, epoch: int) -> dict[str, Any]:
    key = {"deficit": deficit if epoch > 0 else "none", "remove_epoch": epoch, "model": spec.model.hash(),
           "train": spec.train.hash(), "data": spec.data.hash(), "seeds": ",".join(map(str, spec.seeds))}
    if deficit == "blur" and epoch > 0:
        key["factor"] = spec.blur_factor
    if epoch == 0:
        key.update(fisher_every=spec.fisher_every, fisher_examples=spec.fisher_examples)

    def fn(cell_dir: Path) -> dict[str, Any]:
        started = time.perf_counter()
        clean = ctx.data(spec.data).to(ctx.device)
        spe = steps_per_epoch(clean, spec.train)
        k = epoch * spe
        log = lambda phase: (lambda row: ctx.store.append_metrics(dict(deficit=key["deficit"], remove_epoch=epoch,
                                                                       phase=phase, **row)))
        pop = population_for(spec.model, clean, spec.seeds, ctx.device)
        if k > 0:
            train(pop, with_deficit(clean, deficit, spec.blur_factor), replace(spec.train, steps=k, eval_points=3),
                  checkpoint=cell_dir / "phase1.pt", on_measure=log("deficit"))
        phase2, measure = replace(spec.train, steps=spec.train.steps - k), None
        if epoch == 0:  # the clean run: the Fisher trace every few epochs
            xb, yb = clean.x[:spec.fisher_examples], clean.y[:spec.fisher_examples]
            phase2 = replace(phase2, eval_every=spec.fisher_every * spe)
            measure = lambda p, step: {"fisher_trace": [fisher_trace(p.member(i), [(xb, yb)], kind="exact").estimate
                                                        for i in range(p.size)]}
        result = train(pop, clean, phase2, checkpoint=cell_dir / "checkpoint.pt", measure=measure,
                       on_measure=log("clean"))
        if (cell_dir / "phase1.pt").exists() and os.environ.get("WHYNETS_KEEP_CHECKPOINTS", "0") != "1":
            (cell_dir / "phase1.pt").unlink()
        out = {"deficit": key["deficit"], "remove_epoch": epoch, "steps_per_epoch": spe,
               "test_acc": result.final["test_acc"], "train_acc": result.final["train_acc"],
               "wall_s": time.perf_counter() - started}  # this process's time (a resumed cell: since the resume)
        if epoch == 0:
            out["fisher"] = {"epoch": [r["step"] / spe for r in result.history],
                             "trace": [r["fisher_trace"] for r in result.history]}
        return out

    return ctx.cell(key, fn)


def run(spec: CriticalPeriodsSpec, ctx) -> dict[str, Any]:
    clean = _condition(ctx, spec, "blur", 0)
    total_epochs = spec.train.steps / clean["steps_per_epoch"]
    if any(e >= total_epochs for e in spec.blur_epochs + spec.flip_epochs):
        raise ValueError(f"critical-periods: removal epochs must be < the {total_epochs:g} epochs of training")
    rows = {"clean": clean}
    for deficit, epochs in (("blur", spec.blur_epochs), ("flip", spec.flip_epochs)):
        for e in sorted(epochs):
            if e > 0:
                rows[f"{deficit}@{e}"] = _condition(ctx, spec, deficit, e)
    acc = {name: r["test_acc"] for name, r in rows.items()}
    curve = clean["fisher"]
    return {"epochs": total_epochs, "test_acc": acc, "mean_test_acc": {n: mean(a) for n, a in acc.items()},
            "blur_epochs": sorted(spec.blur_epochs), "flip_epochs": sorted(spec.flip_epochs),
            "fisher": {"epoch": curve["epoch"], "per_seed": [list(t) for t in zip(*curve["trace"])],
                       "mean": [mean(t) for t in curve["trace"]]},
            "lr_schedule": spec.train.schedule, "compute_s": sum(r["wall_s"] for r in rows.values())}


def _acc(results: dict[str, Any], deficit: str, epoch: int) -> float | None:
    name = "clean" if epoch == 0 else f"{deficit}@{epoch}"
    return results["mean_test_acc"].get(name)


def claims(results: dict[str, Any], spec: CriticalPeriodsSpec) -> list[Claim]:
    late, clean = spec.late_epoch, results["mean_test_acc"]["clean"]
    out = []
    blur_late = _acc(results, "blur", late)
    if blur_late is not None:
        per_seed = [b < c for b, c in zip(results["test_acc"][f"blur@{late}"], results["test_acc"]["clean"])]
        out.append(Claim("critical-periods/blur-late-damage", SOURCE + ", blur deficit",
                         f"a blur removed at epoch {late} leaves a permanent loss of test accuracy",
                         f"mean acc(blur removed at {late}) <= mean acc(clean) - 0.05, lower in every seed",
                         "permanent deficit when removed late (MNIST-1D cal.: .91 -> .80 at epoch 40)",
                         {"clean": clean, f"blur@{late}": blur_late, "every_seed_lower": all(per_seed)},
                         blur_late <= clean - 0.05 and all(per_seed)))
    eps = results["blur_epochs"]
    accs = [_acc(results, "blur", e) for e in eps]
    grows = all(b <= a + 0.01 for a, b in zip(accs, accs[1:]))
    out.append(Claim("critical-periods/damage-grows-with-k", SOURCE + ", blur deficit window",
                     "the later the blur is removed, the lower the final test accuracy",
                     "mean test acc non-increasing in the removal epoch (slack 0.01 per step)",
                     "monotone decay (MNIST-1D cal.: .91/.88/.86/.80/.74 at 0/10/20/40/60)",
                     dict(zip([str(e) for e in eps], accs)), grows))
    flip_late = _acc(results, "flip", late)
    if flip_late is not None:
        out.append(Claim("critical-periods/flip-no-damage", SOURCE + ", high-level deficits (flip)",
                         f"a flip deficit (information kept) removed at epoch {late} does no lasting harm",
                         f"mean acc(flip removed at {late}) >= mean acc(clean) - 0.03",
                         "no deficit (MNIST-1D cal.: .90 vs .91 clean)", {"clean": clean, f"flip@{late}": flip_late},
                         flip_late >= clean - 0.03))
    f = results["fisher"]
    trace, epochs = f["mean"], f["epoch"]
    peak = max(range(len(trace)), key=lambda i: trace[i])
    ratio = trace[peak] / trace[-1] if trace[-1] > 0 else float("inf")
    each = all(max(s) > s[-1] for s in f["per_seed"])
    out.append(Claim("critical-periods/fisher-rises-then-falls", SOURCE + ", Fisher information",
                     "the trace of the Fisher information rises early in training, then falls",
                     f"mean trace: peak / final >= 1.5 with the peak in the first 60% of training "
                     f"(<= epoch {0.6 * results['epochs']:g}); every seed's peak above its final value",
                     "rises then falls (MNIST-1D cal.: 71, 104, 133, 124, 147, 103, 85, 70)",
                     {"peak_epoch": epochs[peak], "peak": trace[peak], "final": trace[-1], "ratio": ratio},
                     ratio >= 1.5 and epochs[peak] <= 0.6 * results["epochs"] and each))
    return out


def figures(results: dict[str, Any], spec: CriticalPeriodsSpec, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    eps = results["blur_epochs"]
    acc = results["mean_test_acc"]
    blur_acc = [100 * _acc(results, "blur", e) for e in eps]
    axes[0].plot(eps, blur_acc, "o-", label="blur removed")
    flips = [e for e in results["flip_epochs"] if e > 0]
    axes[0].plot(flips, [100 * acc[f"flip@{e}"] for e in flips], "s", label="flip removed")
    axes[0].axhline(100 * acc["clean"], ls=":", c="gray", label="no deficit")
    axes[0].set(xlabel="epoch the deficit is removed", ylabel="final test accuracy (%)", title="(a) critical period")
    axes[0].legend(fontsize=8)
    f = results["fisher"]
    for s in f["per_seed"]:
        axes[1].plot(f["epoch"], s, c="gray", alpha=0.4)
    axes[1].plot(f["epoch"], f["mean"], "o-", label="mean over seeds")
    axes[1].set(xlabel="epoch", ylabel="trace of the Fisher", title="(b) Fisher information (clean run)")
    axes[1].legend(fontsize=8)
    data = {"blur_epochs": eps, "blur_acc": blur_acc, "flip_epochs": flips,
            "flip_acc": [100 * acc[f"flip@{e}"] for e in flips], "clean_acc": 100 * acc["clean"], "fisher": f}
    return [save_figure(fig, data, out, "critical_periods")]


EXPERIMENT = Experiment(
    name="critical-periods",
    title="Critical learning periods: early deficits leave permanent damage; the Fisher rises then falls",
    paper="Achille, Rovere & Soatto 2019, Critical learning periods in deep networks",
    claim="a blur removed late leaves a permanent accuracy loss growing with its duration, a flip does not; "
          "the Fisher trace peaks early",
    quick_wall_s=309,
    presets={
        "smoke": CriticalPeriodsSpec(data=DataSpec(n_train=200, n_test=200), model=ModelSpec(kind="cnn1d", width=8),
                                     seeds=(0, 1), blur_epochs=(0, 2, 4), flip_epochs=(4,), late_epoch=4,
                                     fisher_every=2, fisher_examples=32,
                                     train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=50, steps=24,
                                                     eval_points=3)),
        "quick": CriticalPeriodsSpec(),
        "full": CriticalPeriodsSpec(seeds=(0, 1, 2, 3, 4), blur_epochs=(0, 10, 20, 30, 40, 60, 80),
                                    flip_epochs=(20, 40, 80), fisher_every=2,
                                    train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=100,
                                                    steps=4000, eval_points=8)),
    },
    run=run, claims=claims, figures=figures,
)
