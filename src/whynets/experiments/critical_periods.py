"""critical-periods — Achille, Rovere & Soatto 2019, "Critical learning periods in deep networks".

A deficit early in training leaves a permanent mark: a network trained on blurred inputs for its first
k epochs and on clean inputs after does worse at the end the later the blur is removed, while a
deficit that keeps the information (a flipped input) does no lasting harm. The trace of the Fisher
information rises quickly early in training and then falls ("memorization, then consolidation").

Here: a 3-layer 1-D CNN on MNIST-1D. Blur = downsample by ``blur_factor`` (block averages) and upsample
back by linear interpolation; flip = the signal reversed (``DataSpec.transform``). Training runs in phases
(``ctx.train(..., until=k)`` and ``parent=``): the deficit run is one chain of phase cells (0 → 10 → 20 … epochs),
and each removal epoch branches off a clean child that continues the SAME run — same LR schedule, optimizer
state (momentum) and data order — to the end, so the total number of steps is equal for every k and no prefix
is trained twice. The Fisher trace (exact: E_{ŷ~p}‖∇log p(ŷ|x)‖², ``measure.fisher.fisher_trace``) is measured
every few epochs of the clean run (``probes.FisherTrace``).

Confounds, stated: with a decaying LR (``--set train.schedule=cosine``) a later removal also means a lower LR in
the clean phase; the default is a constant LR, so that confound is absent. The total is fixed, so a later removal
also leaves fewer clean epochs; the flip control, removed at the same epoch with the same clean time left, bounds
that effect.

    whynets run critical-periods --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.probes import FisherTrace
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, direction_check, mean, mean_check, paired_check

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


def steps_per_epoch(n: int, spec: TrainSpec) -> int:
    batch = spec.batch_size if 0 < spec.batch_size < n else n
    return -(-n // batch)


def _deficit_data(spec: CriticalPeriodsSpec, deficit: str) -> DataSpec:
    if deficit == "blur":
        return replace(spec.data, transform="blur", transform_arg=spec.blur_factor)
    if deficit == "flip":
        return replace(spec.data, transform="flip")
    raise SpecError(f"unknown deficit {deficit!r}; choose one of {', '.join(DEFICITS)}")


def _clean_run(ctx, spec: CriticalPeriodsSpec, spe: int) -> dict[str, Any]:
    """The run without a deficit, with the Fisher trace every ``fisher_every`` epochs (its own measurement steps:
    measuring does not change training)."""
    train = replace(spec.train, eval_every=spec.fisher_every * spe)
    return ctx.train({"deficit": "none"}, spec.model, spec.data, train, spec.seeds,
                     probe=FisherTrace(examples=spec.fisher_examples))


def _removed(ctx, spec: CriticalPeriodsSpec, deficit: str, epochs: list[int], spe: int) -> dict[int, dict[str, Any]]:
    """One chain of phase cells on the deficit data (0 → e1 → e2 …, each continuing the last), and for each
    removal epoch a child that continues on clean data to the end of the same schedule."""
    out, parent = {}, None
    for epoch in sorted(e for e in epochs if e > 0):
        parent = ctx.train({"deficit": deficit, "until_epoch": epoch}, spec.model, _deficit_data(spec, deficit),
                           spec.train, spec.seeds, until=epoch * spe, parent=parent)
        out[epoch] = ctx.train({"deficit": deficit, "remove_epoch": epoch}, spec.model, spec.data, spec.train,
                               spec.seeds, parent=parent)
    return out


def run(spec: CriticalPeriodsSpec, ctx) -> dict[str, Any]:
    spe = steps_per_epoch(len(ctx.data(spec.data).y), spec.train)
    total_epochs = spec.train.steps / spe
    if any(e >= total_epochs for e in spec.blur_epochs + spec.flip_epochs):
        raise SpecError(f"critical-periods: removal epochs must be < the {total_epochs:g} epochs of training")
    clean = _clean_run(ctx, spec, spe)
    rows: dict[str, Any] = {"clean": clean}
    for deficit, epochs in (("blur", spec.blur_epochs), ("flip", spec.flip_epochs)):
        for e, r in _removed(ctx, spec, deficit, list(epochs), spe).items():
            rows[f"{deficit}@{e}"] = r
    acc = {name: r["final"]["test_acc"] for name, r in rows.items()}
    history = [r for r in clean["history"] if "fisher_trace" in r]
    return {"epochs": total_epochs, "steps_per_epoch": spe, "test_acc": acc,
            "mean_test_acc": {name: mean(a) for name, a in acc.items()},
            "blur_epochs": sorted(spec.blur_epochs), "flip_epochs": sorted(spec.flip_epochs),
            "fisher": {"epoch": [r["step"] / spe for r in history],
                       "per_seed": [list(t) for t in zip(*[r["fisher_trace"] for r in history])],
                       "mean": [mean(r["fisher_trace"]) for r in history]},
            "lr_schedule": spec.train.schedule, "compute_s": sum(r["wall_s"] for r in rows.values())}


def _acc(results: dict[str, Any], deficit: str, epoch: int) -> float | None:
    name = "clean" if epoch == 0 else f"{deficit}@{epoch}"
    return results["mean_test_acc"].get(name)


def _seeds(results: dict[str, Any], deficit: str, epoch: int) -> list[float] | None:
    return results["test_acc"].get("clean" if epoch == 0 else f"{deficit}@{epoch}")


def _slope(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def claims(results: dict[str, Any], spec: CriticalPeriodsSpec) -> list[Claim]:
    """Paired by seed (every condition of a seed starts from the same initialization and data order):
    paired t-intervals of differences, per-seed slopes, per-seed direction checks."""
    late, clean = spec.late_epoch, _seeds(results, "blur", 0)
    out = []
    blur_late = _seeds(results, "blur", late)
    if blur_late is not None:
        out.append(Claim(id="critical-periods/blur-late-damage", source=SOURCE + ", blur deficit",
                         statement=f"a blur removed at epoch {late} leaves a permanent loss of test accuracy",
                         paper="permanent deficit when removed late (our MNIST-1D calibration, PHENOMENA: .91 -> .80 at epoch 40)",
                         checks=[paired_check(f"acc(clean) − acc(blur removed at {late})", clean, blur_late, ">=", 0.05),
                                 direction_check("lower in every seed", [b < c for b, c in zip(blur_late, clean)])]))
    eps = results["blur_epochs"]
    curves = list(zip(*[_seeds(results, "blur", e) for e in eps]))  # per seed: acc at each removal epoch
    slopes = [_slope([float(e) for e in eps], list(c)) for c in curves]
    out.append(Claim(id="critical-periods/damage-grows-with-k", source=SOURCE + ", blur deficit window",
                     statement="the later the blur is removed, the lower the final test accuracy",
                     paper="monotone decay (our MNIST-1D calibration, PHENOMENA: .91/.88/.86/.80/.74 at 0/10/20/40/60)",
                     measured=dict(zip([str(e) for e in eps], [_acc(results, "blur", e) for e in eps])),
                     checks=[mean_check("least-squares slope of test acc vs removal epoch (per seed, per epoch)", slopes,
                                        "<", 0.0),
                             direction_check("negative slope in every seed", [v < 0 for v in slopes])]))
    flip_late = _seeds(results, "flip", late)
    if flip_late is not None:
        out.append(Claim(id="critical-periods/flip-no-damage", source=SOURCE + ", high-level deficits (flip)",
                         statement=f"a flip deficit (information kept) removed at epoch {late} does no lasting harm",
                         paper="no deficit (our MNIST-1D calibration, PHENOMENA: .90 vs .91 clean)",
                         checks=[paired_check(f"acc(flip removed at {late}) − acc(clean)", flip_late, clean, ">=", -0.03)]))
    f = results["fisher"]
    epochs, horizon = f["epoch"], 0.6 * results["epochs"]
    peaks = [max(range(len(t)), key=lambda i: t[i]) for t in f["per_seed"]]
    fall = [t[p] / t[-1] for t, p in zip(f["per_seed"], peaks)]
    rise = [t[p] / t[0] for t, p in zip(f["per_seed"], peaks)]
    out.append(Claim(id="critical-periods/fisher-rises-then-falls", source=SOURCE + ", Fisher information",
                     statement="the trace of the Fisher information rises early in training, then falls",
                     paper="rises then falls (our MNIST-1D calibration, PHENOMENA: 71, 104, 133, 124, 147, 103, 85, 70)",
                     measured={"peak_epoch_per_seed": [epochs[p] for p in peaks], "mean_trace": f["mean"]},
                     checks=[mean_check("peak trace / trace at init (per seed)", rise, ">", 1.0),
                             mean_check("peak trace / final trace (per seed)", fall, ">=", 1.5),
                             direction_check(f"every seed peaks after init and in the first 60% of training (epoch "
                                             f"<= {horizon:g})", [0 < p and epochs[p] <= horizon for p in peaks])]))
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
    quick_wall_s=105,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=3,  # phase chains cannot reuse cells across seed counts: no escalation
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
