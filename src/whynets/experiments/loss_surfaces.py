"""loss-surfaces — Choromanska, Henaff, Mathieu, Ben Arous & LeCun 2015, "The loss surfaces of multilayer networks".

The spin-glass picture says the local minima of a large network lie in a narrow band above the
global minimum, so the loss a training run ends at varies less from seed to seed as the network
grows. We train one-hidden-layer MLPs of widths {10, 25, 100, 400} on MNIST-1D from 16 seeds each
(one population per width) with SGD, and compare the spread (std over seeds) of the test loss.
Each run stops early (our protocol, chosen on held-out data): each member's test loss is read at the
measurement with its lowest loss on a held-out validation split of the training set (the last
``n_val`` training examples), so a wide net's late over-fitting (its test cross-entropy climbs while
it memorizes) does not pass for the landscape. The test loss at the last step is reported too.

    whynets run loss-surfaces --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whynets.data import Dataset, DataSpec
from whynets.engine import TrainSpec, evaluate
from whynets.models import ModelSpec
from whynets.report.figures import plt, save_figure
from whynets.spec import Spec

from .base import Claim, Experiment, mean, std

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


def split(ds: Dataset, n_val: int) -> tuple[Dataset, Any, Any]:
    """(training set without its last ``n_val`` examples, validation x, validation y)."""
    if not 0 < n_val < len(ds.y):
        raise ValueError(f"loss-surfaces: n_val must be in (0, {len(ds.y)}), got {n_val}")
    return (Dataset(ds.x[:-n_val], ds.y[:-n_val], ds.x_test, ds.y_test, dict(ds.meta, n_val=n_val)),
            ds.x[-n_val:], ds.y[-n_val:])


def early_stopped(history: list[dict[str, Any]], key: str = "test_loss") -> tuple[list[float], list[int]]:
    """Per member: ``key`` at the measurement with the lowest ``val_loss`` (first one on ties), and its step."""
    values, steps = [], []
    for m in range(len(history[0]["val_loss"])):
        best = min(range(len(history)), key=lambda i: (history[i]["val_loss"][m], i))
        values.append(history[best][key][m])
        steps.append(history[best]["step"])
    return values, steps


def run(spec: LossSurfacesSpec, ctx) -> dict[str, Any]:
    full = ctx.data(spec.data)
    ds, x_val, y_val = split(full, spec.n_val)

    def val_loss(pop, step):
        loss, acc = evaluate(pop, x_val.to(pop.device), y_val.to(pop.device), spec.train.loss, ds.n_classes)
        return {"val_loss": loss.tolist(), "val_acc": acc.tolist()}

    rows = {}
    for w in spec.widths:
        model = ModelSpec(kind="mlp", width=w, depth=spec.depth)
        out = ctx.train({"width": w, "data": spec.data.hash(), "n_val": spec.n_val}, model, ds, spec.train,
                        spec.seeds, measure=val_loss)
        es_loss, es_step = early_stopped(out["history"])
        es_acc, _ = early_stopped(out["history"], "test_acc")
        rows[str(w)] = {"width": w, "test_loss": es_loss, "test_acc": es_acc, "stop_step": es_step,
                        "final_test_loss": out["final"]["test_loss"], "final_train_loss": out["final"]["train_loss"],
                        "mean": mean(es_loss), "std": std(es_loss), "final_std": std(out["final"]["test_loss"]),
                        "diverged": sum(out["diverged"]), "wall_s": out["wall_s"]}
    return {"widths": list(spec.widths), "rows": rows, "n_seeds": len(spec.seeds),
            "compute_s": sum(r["wall_s"] for r in rows.values())}


def claims(results: dict[str, Any], spec: LossSurfacesSpec) -> list[Claim]:
    rows = results["rows"]
    narrow, wide = rows[str(results["widths"][0])], rows[str(results["widths"][-1])]
    ratio = wide["std"] / narrow["std"] if narrow["std"] > 0 else float("inf")
    n = results["n_seeds"]
    return [
        Claim("loss-surfaces/spread-shrinks", SOURCE,
              "the test losses that training runs end at concentrate as the network grows",
              f"std over {n} seeds of the (early-stopped) test loss: std(width {wide['width']}) <= "
              f"{spec.spread_ratio:g} x std(width {narrow['width']})",
              "the distribution of test losses narrows from 25 to 500 hidden units",
              {"std_narrowest": narrow["std"], "std_widest": wide["std"], "ratio": ratio,
               "std_by_width": {k: r["std"] for k, r in rows.items()}},
              ratio <= spec.spread_ratio),
        Claim("loss-surfaces/band-is-lower", SOURCE, "larger networks end at lower test loss (the band moves down)",
              f"mean test loss(width {wide['width']}) < mean test loss(width {narrow['width']})",
              "lower for larger networks", {k: r["mean"] for k, r in rows.items()},
              wide["mean"] < narrow["mean"]),
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
    quick_wall_s=82,
    presets={
        "smoke": LossSurfacesSpec(data=DataSpec(n_train=300, n_test=200), n_val=100, widths=(4, 32), seeds=(0, 1, 2),
                                  train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=50, steps=40,
                                                  eval_every=10)),
        "quick": LossSurfacesSpec(),
        "full": LossSurfacesSpec(widths=(10, 25, 50, 100, 250, 400, 1000), seeds=tuple(range(64))),
    },
    run=run, claims=claims, figures=figures,
)
