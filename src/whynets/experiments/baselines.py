"""baselines — the MNIST-1D paper's table (Greydanus & Kobak, "Scaling down deep learning with MNIST-1D").

Logistic regression, MLP, CNN and GRU trained on the 4000/1000 split, with and without a fixed
shuffle of the signal's positions. The paper: 32 / 68 / 94 / 91 % test accuracy, shuffled
32 / 68 / 56 / 57 %: models with a spatial prior (CNN, GRU) lose most of their edge once the order
of the inputs is destroyed; models without one do not care.

The CNN is the paper's ConvBase: kernels 5, 3, 3 (stride 2, padding 1), a receptive field of 17 of the 40
positions. With kernels 5, 5, 5 (a field of 29) the shuffled CNN keeps 61.5-62.5% instead of 58.4% (4 seeds ×
3 permutations, 6000 steps; clean accuracy is 91.8% either way): a wider field can reassemble more of the
scattered positions, which is why an earlier version of this experiment sat just above the paper's 56-59%.

    whynets run baselines --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, direction_check, mean, mean_check, paired_check, std

PAPER = {"logistic": 32.0, "mlp": 68.0, "cnn1d": 94.0, "gru": 91.0}
PAPER_SHUFFLED = {"logistic": 32.0, "mlp": 68.0, "cnn1d": 56.0, "gru": 57.0}
SOURCE = ("Greydanus & Kobak 2020, MNIST-1D: the repository README's table \"Comparing MNIST and MNIST-1D\" (logistic "
          "32, MLP 68, CNN 94, GRU 91; shuffled 32 / 68 / 56 / 57)")


@dataclass(frozen=True)
class BaselinesSpec(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one population member per seed"})
    models: tuple[str, ...] = field(default=("logistic", "mlp", "cnn1d", "gru"), metadata={"help": "rows of the table"})
    shuffled: bool = field(default=True, metadata={"help": "also train on spatially shuffled signals"})
    mlp_width: int = field(default=100, metadata={"help": "MLP hidden units (paper: 100-100)"})
    cnn_channels: int = field(default=25, metadata={"help": "CNN channels (paper: 25)"})
    cnn_kernels: tuple[int, ...] = field(default=(5, 3, 3), metadata={"help": "CNN kernel sizes (paper's ConvBase: 5,3,3)"})
    gru_hidden: int = field(default=6, metadata={"help": "GRU hidden units (paper: 6, bidirectional)"})
    # paper's recipe: Adam, lr 1e-2, batch 100, 6000 steps, no weight decay
    train: TrainSpec = field(default_factory=lambda: TrainSpec(lr=1e-2, batch_size=100, steps=6000, eval_points=12))


def _model(spec: BaselinesSpec, kind: str) -> ModelSpec:
    widths = {"logistic": 1, "mlp": spec.mlp_width, "cnn1d": spec.cnn_channels, "cnn2d": spec.cnn_channels,
              "gru": spec.gru_hidden}
    if kind not in widths:
        raise SpecError(f"baselines: unknown model {kind!r}; choose from {', '.join(widths)}")
    width = widths[kind]
    return ModelSpec(kind=kind, width=width, kernels=spec.cnn_kernels if kind == "cnn1d" else ())


def run(spec: BaselinesSpec, ctx) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    variants = ["none", "shuffled-pixels"] if spec.shuffled else ["none"]
    for corruption in variants:
        data = replace(spec.data, corruption=corruption)
        for kind in spec.models:
            out = ctx.train({"model": kind, "corruption": corruption}, _model(spec, kind), data, spec.train, spec.seeds)
            accs = [100 * a for a in out["final"]["test_acc"]]
            rows[f"{kind}/{corruption}"] = {"model": kind, "corruption": corruption, "test_acc": accs,
                                            "train_acc": [100 * a for a in out["final"]["train_acc"]],
                                            "mean": mean(accs), "std": std(accs), "wall_s": out["wall_s"],
                                            "history": [{"step": r["step"], "test_acc": r["test_acc"]} for r in out["history"]]}
    return {"rows": rows}


def _row(results: dict, kind: str, corruption: str = "none") -> list[float] | None:
    row = results["rows"].get(f"{kind}/{corruption}")
    return None if row is None else row["test_acc"]


def claims(results: dict[str, Any], spec: BaselinesSpec) -> list[Claim]:
    """Bands from the paper (and its notebook), decided on the t-interval of the mean over seeds.

    * logistic 32 ± 2 (paper 32, notebook 31.5; logistic regression is convex, its seeds barely differ);
    * MLP in [65, 71]: the paper's 68 ± 3, whose low end is the notebook's 65.1;
    * CNN >= 90 (paper 94, notebook 92.3);
    * shuffled positions: the paper's CNN drops to 56 (notebook 58.7), i.e. by 35-38 points. We gate the
      *drop* (clean − shuffled, paired by seed) at >= 25 points, and the shuffled CNN at <= 62 (the notebook's
      58.7 + 3.3, the MLP band's half-width): both on the interval, plus the drop in every seed;
    * the MLP is indifferent to the order of its inputs: the paired difference within ±3 points.
    """
    out: list[Claim] = []
    why = "not in this preset's `models`/`shuffled` (run --preset full)"
    gru_why = ("GRU row is full-only: the explicit 40-step bidirectional recurrence (vmap-able, so it trains as a "
               "population) measured ~0.07 CPU-s per step for 3 seeds, ~7 CPU-minutes per variant for 6000 steps, "
               "beyond the quick budget; run --preset full")
    log_acc, mlp_acc, cnn_acc = _row(results, "logistic"), _row(results, "mlp"), _row(results, "cnn1d")
    cnn_sh, mlp_sh = _row(results, "cnn1d", "shuffled-pixels"), _row(results, "mlp", "shuffled-pixels")

    def add(cid: str, statement: str, paper: Any, needed: list, checks, skipped: str = why) -> None:
        if any(v is None for v in needed):
            out.append(Claim(id=f"baselines/{cid}", source=SOURCE, statement=statement, paper=paper, skipped=skipped))
        else:
            out.append(Claim(id=f"baselines/{cid}", source=SOURCE, statement=statement, paper=paper, checks=checks()))

    add("logistic", "logistic regression reaches about 32% test accuracy", PAPER["logistic"], [log_acc],
        lambda: [mean_check("mean test acc (logistic)", log_acc, "within", (30.0, 34.0))])
    add("mlp", "a 100-100 MLP reaches about 68% test accuracy (notebook: 65.1%)", PAPER["mlp"], [mlp_acc],
        lambda: [mean_check("mean test acc (MLP)", mlp_acc, "within", (65.0, 71.0))])
    add("cnn", "a small CNN reaches over 90% test accuracy", PAPER["cnn1d"], [cnn_acc],
        lambda: [mean_check("mean test acc (CNN)", cnn_acc, ">=", 90.0)])
    add("gru", "a small bidirectional GRU reaches about 91% test accuracy", PAPER["gru"], [_row(results, "gru")],
        lambda: [mean_check("mean test acc (GRU)", _row(results, "gru"), ">=", 88.0)],
        skipped=gru_why if "gru" not in spec.models else why)
    add("cnn-shuffled", "shuffling the positions costs the CNN its spatial prior (most of its accuracy)",
        {"cnn": PAPER["cnn1d"], "cnn shuffled": PAPER_SHUFFLED["cnn1d"], "notebook shuffled": 58.7},
        [cnn_acc, cnn_sh],
        lambda: [paired_check("mean drop clean − shuffled (CNN, points)", cnn_acc, cnn_sh, ">=", 25.0),
                 mean_check("mean test acc (CNN, shuffled)", cnn_sh, "<=", 62.0),
                 direction_check("shuffled CNN below the clean CNN by >= 25 points in every seed",
                                 [a - b >= 25.0 for a, b in zip(cnn_acc, cnn_sh)])])
    add("mlp-shuffled", "the MLP does not care about the order of its inputs",
        {"mlp": PAPER["mlp"], "shuffled": PAPER_SHUFFLED["mlp"]}, [mlp_acc, mlp_sh],
        lambda: [paired_check("mean difference clean − shuffled (MLP, points)", mlp_acc, mlp_sh, "within",
                              (-3.0, 3.0))])
    return out


def figures(results: dict[str, Any], spec: BaselinesSpec, out: Path) -> list[str]:
    rows = results["rows"]
    kinds = [r["model"] for key, r in rows.items() if r["corruption"] == "none"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.2
    data = {}
    for i, (label, table, corr) in enumerate([("paper", PAPER, None), ("paper, shuffled", PAPER_SHUFFLED, None),
                                               ("ours", None, "none"), ("ours, shuffled", None, "shuffled-pixels")]):
        xs, ys, es = [], [], []
        for j, k in enumerate(kinds):
            if table is not None and k in table:
                xs.append(j), ys.append(table[k]), es.append(0)
            elif f"{k}/{corr}" in rows:
                xs.append(j), ys.append(rows[f"{k}/{corr}"]["mean"]), es.append(rows[f"{k}/{corr}"]["std"])
        ax.bar([x + (i - 1.5) * width for x in xs], ys, width, yerr=es, label=label,
               alpha=0.45 if table is not None else 0.95)
        data[label] = dict(zip([kinds[x] for x in xs], ys))
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("MNIST-1D baselines (mean ± std over seeds)")
    ax.legend(fontsize=8, ncol=2)
    return [save_figure(fig, data, out, "baselines")]


EXPERIMENT = Experiment(
    name="baselines",
    title="MNIST-1D baselines: logistic, MLP, CNN, GRU, with and without shuffled positions",
    paper="Greydanus & Kobak 2020, Scaling down deep learning with MNIST-1D",
    claim="CNN 94% > MLP 68% > logistic 32%; shuffling the signal drops the CNN to ~56% but not the MLP",
    quick_wall_s=214,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=6, seed_block=3,
    presets={
        "smoke": BaselinesSpec(seeds=(0, 1), models=("logistic", "mlp", "cnn1d", "gru"),
                         data=DataSpec(n_train=400, n_test=200), train=TrainSpec(lr=1e-2, steps=30, eval_points=3)),
        "quick": BaselinesSpec(models=("logistic", "mlp", "cnn1d")),
        "full": BaselinesSpec(seeds=(0, 1, 2, 3, 4)),
    },
    run=run, claims=claims, figures=figures,
)
