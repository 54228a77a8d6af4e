"""loss-surfaces — Choromanska, Henaff, Mathieu, Ben Arous & LeCun 2015, "The loss surfaces of multilayer networks".

The spin-glass picture says the local minima of a large network lie in a narrow band above the
global minimum, so the loss a training run ends at varies less from seed to seed as the network
grows. We train one-hidden-layer MLPs of widths {10, 25, 100, 400} on MNIST-1D from 16 seeds each
(one population per width) with SGD, and compare the spread (std over seeds) of the test loss.
Each run stops early (our protocol, chosen on held-out data): each member's test loss is read at the
measurement with its lowest loss on a held-out validation split of the training set (the last
``n_val`` training examples, ``DataSpec.holdout``), so a wide net's late over-fitting (its test cross-entropy climbs while
it memorizes) does not pass for the landscape. The test loss at the last step is reported too.

    whynets run loss-surfaces --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.probes import Validation
from whynets.spec import Spec

from .base import Claim, Experiment, bootstrap_check, mean, std

SOURCE = "Choromanska et al. 2015, The loss surfaces of multilayer networks, experiments on MNIST"


@dataclass(frozen=True)
class LossSurfacesSpec(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    n_val: int = field(default=500, metadata={"help": "last training examples held out for early stopping"})
    widths: tuple[int, ...] = field(default=(10, 25, 100, 400), metadata={"help": "hidden units (narrowest first)"})
    depth: int = field(default=1, metadata={"help": "hidden layers (the paper: one)"})
    seeds: tuple[int, ...] = field(default=tuple(range(16)), metadata={"help": "seeds per width (one population)"})
    spread_ratio: float = field(default=0.5, metadata={"help": "claim: std(widest) <= this x std(narrowest)"})
    # SGD with momentum, batch 100 (35 steps per epoch of 3500 examples); 3000 steps ≈ 86 epochs, past
    # every width's validation minimum; measured every 100 steps for early stopping
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=100,
                                                               steps=3000, eval_every=100))


def early_stopped(history: list[dict[str, Any]], key: str = "test_loss") -> tuple[list[float], list[int]]:
    """Per member: ``key`` at the measurement with the lowest ``val_loss`` (first one on ties), and its step."""
    values, steps = [], []
    for m in range(len(history[0]["val_loss"])):
        best = min(range(len(history)), key=lambda i: (history[i]["val_loss"][m], i))
        values.append(history[best][key][m])
        steps.append(history[best]["step"])
    return values, steps


def run(spec: LossSurfacesSpec, ctx) -> dict[str, Any]:
    data = replace(spec.data, holdout=spec.n_val)  # the last n_val training examples: the validation split
    rows = {}
    for w in spec.widths:
        model = ModelSpec(kind="mlp", width=w, depth=spec.depth)
        out = ctx.train({"width": w}, model, data, spec.train, spec.seeds, probe=Validation())
        es_loss, es_step = early_stopped(out["history"])
        es_acc, _ = early_stopped(out["history"], "test_acc")
        rows[str(w)] = {"width": w, "test_loss": es_loss, "test_acc": es_acc, "stop_step": es_step,
                        "final_test_loss": out["final"]["test_loss"], "final_train_loss": out["final"]["train_loss"],
                        "mean": mean(es_loss), "std": std(es_loss), "final_std": std(out["final"]["test_loss"]),
                        "diverged": sum(out["diverged"]), "wall_s": out["wall_s"]}
    return {"widths": list(spec.widths), "rows": rows, "n_seeds": len(spec.seeds),
            "compute_s": sum(r["wall_s"] for r in rows.values())}


def claims(results: dict[str, Any], spec: LossSurfacesSpec) -> list[Claim]:
    """Bootstrap over the seeds of each width (independent groups): the ratio of standard deviations and the
    difference of means."""
    rows = results["rows"]
    narrow, wide = rows[str(results["widths"][0])], rows[str(results["widths"][-1])]
    n = results["n_seeds"]
    ratio = bootstrap_check(f"std over {n} seeds of the (early-stopped) test loss: std(width {wide['width']}) / "
                            f"std(width {narrow['width']})", lambda a, b: a.std(ddof=1) / b.std(ddof=1),
                            [wide["test_loss"], narrow["test_loss"]], "<=", spec.spread_ratio)
    lower = bootstrap_check(f"mean test loss(width {narrow['width']}) − mean test loss(width {wide['width']})",
                            lambda a, b: a.mean() - b.mean(), [narrow["test_loss"], wide["test_loss"]], ">", 0.0)
    return [
        Claim(id="loss-surfaces/spread-shrinks", source=SOURCE,
              statement="the test losses that training runs end at concentrate as the network grows",
              paper="the distribution of test losses narrows from 25 to 500 hidden units",
              measured={"std_narrowest": narrow["std"], "std_widest": wide["std"],
                        "std_by_width": {k: r["std"] for k, r in rows.items()}}, checks=[ratio]),
        Claim(id="loss-surfaces/band-is-lower", source=SOURCE, paper="lower for larger networks",
              statement="larger networks end at lower test loss (the band moves down)",
              measured={k: r["mean"] for k, r in rows.items()}, checks=[lower]),
    ]


def figures(results: dict[str, Any], spec: LossSurfacesSpec, out: Path) -> list[str]:
    rows = results["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    every = [v for r in rows.values() for v in r["test_loss"]]
    lo, hi = min(every), max(every)
    bins = [lo + (hi - lo) * i / 24 for i in range(25)] if hi > lo else 12
    for k, r in rows.items():
        axes[0].hist(r["test_loss"], bins=bins, alpha=0.6, label=f"width {k}")
    axes[0].set(xlabel="test loss (early-stopped)", ylabel="seeds", title="(a) test losses of trained nets")
    axes[0].legend(fontsize=8)
    ws = results["widths"]
    axes[1].plot(ws, [rows[str(w)]["std"] for w in ws], "o-", label="early-stopped")
    axes[1].plot(ws, [rows[str(w)]["final_std"] for w in ws], "s--", label="last step")
    axes[1].set(xscale="log", xlabel="hidden units", ylabel="std of test loss over seeds",
                title="(b) spread across seeds", ylim=(0, None))
    axes[1].legend(fontsize=8)
    data = {"widths": ws, "test_loss": {k: r["test_loss"] for k, r in rows.items()},
            "std": [rows[str(w)]["std"] for w in ws], "final_std": [rows[str(w)]["final_std"] for w in ws]}
    return [save_figure(fig, data, out, "loss_surfaces")]


EXPERIMENT = Experiment(
    name="loss-surfaces",
    title="Wider networks end at more similar losses",
    paper="Choromanska, Henaff, Mathieu, Ben Arous & LeCun 2015, The loss surfaces of multilayer networks",
    claim="the spread of the test loss across seeds shrinks as the network grows (minima concentrate in a band)",
    quick_wall_s=28,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=32, seed_block=16,
    on_digits=True,
    presets={
        "smoke": LossSurfacesSpec(data=DataSpec(n_train=300, n_test=200), n_val=100, widths=(4, 32), seeds=(0, 1, 2),
                                  train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=50, steps=40,
                                                  eval_every=10)),
        "quick": LossSurfacesSpec(),
        "full": LossSurfacesSpec(widths=(10, 25, 50, 100, 250, 400, 1000), seeds=tuple(range(64))),
    },
    run=run, claims=claims, figures=figures,
)
