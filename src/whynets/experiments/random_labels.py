"""random-labels — Zhang et al. 2017, "Understanding deep learning requires rethinking generalization".

An over-parameterized MLP fits MNIST-1D whatever we do to it: labels corrupted with probability
p ∈ {0, .2, .4, .6, .8, 1}, positions shuffled by one fixed permutation, each example's positions
permuted independently, inputs replaced by Gaussian noise. Train accuracy reaches ~100% in every
case while test accuracy falls to chance as p → 1; fitting random labels is slower only by a small
constant factor; explicit regularization (weight decay + dropout) does not stop it.

    whynets run random-labels --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.report.figures import plt, save_figure
from whynets.spec import Spec

from .base import Claim, Experiment, mean

SOURCE = "Zhang et al. 2017, Fig. 1 / Table 1"


@dataclass(frozen=True)
class RandomLabelsSpec(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=512, depth=2))
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one population member per seed"})
    noise: tuple[float, ...] = field(default=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), metadata={"help": "label corruption levels p"})
    corruptions: tuple[str, ...] = field(default=("shuffled-pixels", "random-pixels", "gaussian"),
                                         metadata={"help": "input corruptions (with true labels)"})
    regularized: bool = field(default=True, metadata={"help": "also fit p=1 with weight decay + dropout"})
    weight_decay: float = field(default=5e-4, metadata={"help": "L2 coefficient of the regularized run"})
    dropout: float = field(default=0.2, metadata={"help": "dropout of the regularized run"})
    # Adam 1e-3, batch 100 (40 steps/epoch); the fit is checked every epoch on the full training set and
    # a member stops once it fits (99% train accuracy), as "time to fit" is measured in Zhang et al. Fig. 1b
    train: TrainSpec = field(default_factory=lambda: TrainSpec(lr=1e-3, batch_size=100, steps=4000, eval_points=25,
                                                               fit_acc=0.99, fit_check_every=40, stop_at_fit=True))


def _variants(spec: RandomLabelsSpec) -> list[dict[str, Any]]:
    out = [{"name": f"p={p:g}", "label_noise": p, "corruption": "none", "reg": False} for p in spec.noise]
    out += [{"name": c, "label_noise": 0.0, "corruption": c, "reg": False} for c in spec.corruptions]
    if spec.regularized:
        out.append({"name": "p=1 + wd + dropout", "label_noise": 1.0, "corruption": "none", "reg": True})
    return out


def run(spec: RandomLabelsSpec, ctx) -> dict[str, Any]:
    variants = {}
    for v in _variants(spec):
        data = replace(spec.data, label_noise=v["label_noise"], corruption=v["corruption"])
        model, train = spec.model, spec.train
        if v["reg"]:
            model = replace(model, dropout=spec.dropout)
            train = replace(train, weight_decay=spec.weight_decay)
        out = ctx.train({"variant": v["name"]}, model, data, train, spec.seeds)
        variants[v["name"]] = {
            **v, "train_acc": out["final"]["train_acc"], "test_acc": out["final"]["test_acc"],
            "fit_step": out["fit_step"], "wall_s": out["wall_s"],
            "curve": {"step": [r["step"] for r in out["history"]],
                      "train_loss": [mean(r["train_loss"]) for r in out["history"]],
                      "train_acc": [mean(r["train_acc"]) for r in out["history"]],
                      "test_acc": [mean(r["test_acc"]) for r in out["history"]]},
        }
    return {"variants": variants, "n_classes": 10, "max_steps": spec.train.steps}


def _fit(results, name) -> float | None:
    steps = results["variants"][name]["fit_step"]
    return None if any(s is None for s in steps) else mean(steps)


def claims(results: dict[str, Any], spec: RandomLabelsSpec) -> list[Claim]:
    V = results["variants"]
    chance = 1.0 / results["n_classes"]
    out = []
    min_train = {k: min(v["train_acc"]) for k, v in V.items() if not v["reg"]}
    out.append(Claim("random-labels/fits-everything", SOURCE,
                     "the network fits every variant: corrupted labels, shuffled/random pixels, Gaussian inputs",
                     "min over variants and seeds of train_acc >= 0.99", 1.0, min(min_train.values()),
                     min(min_train.values()) >= 0.99))
    ps = sorted(v["label_noise"] for v in V.values() if v["corruption"] == "none" and not v["reg"])
    test = [mean(V[f"p={p:g}"]["test_acc"]) for p in ps]
    falls = all(b <= a + 0.01 for a, b in zip(test, test[1:]))
    out.append(Claim("random-labels/test-falls-with-noise", SOURCE,
                     "test accuracy falls as the label corruption p grows",
                     "mean test acc non-increasing in p (slack 0.01 per step)", "monotone (Fig. 1c)",
                     dict(zip([f"p={p:g}" for p in ps], test)), falls))
    if 1.0 in ps:
        at_one = test[ps.index(1.0)]
        out.append(Claim("random-labels/chance-at-p1", SOURCE, "with fully random labels, test accuracy is chance",
                         f"|test_acc(p=1) - {chance:g}| <= 0.03", chance, at_one, abs(at_one - chance) <= 0.03))
    if "p=0" in V and "p=1" in V:
        f0, f1 = _fit(results, "p=0"), _fit(results, "p=1")
        factor = None if f0 is None or f1 is None else f1 / f0
        out.append(Claim("random-labels/fit-slowdown", SOURCE,
                         "fitting random labels is slower only by a small constant factor",
                         "steps_to_fit(p=1) / steps_to_fit(p=0) <= 5 (both fit)", "small constant factor (Fig. 1b)",
                         factor, factor is not None and factor <= 5))
        if "gaussian" in V:
            fg = _fit(results, "gaussian")
            out.append(Claim("random-labels/gaussian-fits-faster", SOURCE,
                             "Gaussian inputs are fit faster than random labels",
                             "steps_to_fit(gaussian) <= steps_to_fit(p=1)", "faster (Fig. 1a)",
                             {"gaussian": fg, "p=1": f1}, fg is not None and f1 is not None and fg <= f1))
    reg = [v for v in V.values() if v["reg"]]
    if reg:
        acc = min(reg[0]["train_acc"])
        out.append(Claim("random-labels/regularized-still-fits", "Zhang et al. 2017, Table 2",
                         f"with weight decay ({spec.weight_decay:g}) + dropout ({spec.dropout:g}) random labels are still fit",
                         "min train_acc(p=1, regularized) >= 0.99", 1.0, acc, acc >= 0.99))
    return out


def figures(results: dict[str, Any], spec: RandomLabelsSpec, out: Path) -> list[str]:
    V = results["variants"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, v in V.items():
        c = v["curve"]
        axes[0].plot([max(s, 1) for s in c["step"]], c["train_loss"], label=name)
    axes[0].set(xscale="log", yscale="log", xlabel="step", ylabel="training loss", title="(a) learning curves")
    axes[0].legend(fontsize=7)
    ps = [v["label_noise"] for v in V.values() if v["corruption"] == "none" and not v["reg"]]
    fits = [_fit(results, f"p={p:g}") for p in ps]
    axes[1].plot(ps, [f if f is not None else float("nan") for f in fits], "o-")
    axes[1].set(xlabel="label corruption p", ylabel="steps to 99% train accuracy", title="(b) convergence slowdown",
                ylim=(0, None))
    test_err = [1 - mean(V[f"p={p:g}"]["test_acc"]) for p in ps]
    train_err = [1 - mean(V[f"p={p:g}"]["train_acc"]) for p in ps]
    axes[2].plot(ps, test_err, "o-", label="test error")
    axes[2].plot(ps, train_err, "s-", label="train error")
    axes[2].axhline(1 - 1 / results["n_classes"], ls=":", c="gray", label="chance")
    axes[2].set(xlabel="label corruption p", ylabel="error", title="(c) generalization error growth")
    axes[2].legend(fontsize=8)
    data = {"curves": {k: v["curve"] for k, v in V.items()}, "p": ps, "steps_to_fit": fits,
            "test_error": test_err, "train_error": train_err}
    return [save_figure(fig, data, out, "random_labels_fig1")]


EXPERIMENT = Experiment(
    name="random-labels",
    title="Random labels, shuffled/random pixels and Gaussian inputs are all fit",
    paper="Zhang, Bengio, Hardt, Recht & Vinyals 2017, Understanding deep learning requires rethinking generalization",
    claim="an over-parameterized net fits random labels (train 100%, test at chance), only a constant factor slower",
    quick_wall_s=509,
    presets={
        "smoke": RandomLabelsSpec(seeds=(0, 1), noise=(0.0, 1.0), corruptions=("gaussian",),
                                  data=DataSpec(n_train=200, n_test=200), model=ModelSpec(width=64),
                                  train=TrainSpec(lr=1e-3, batch_size=50, steps=40, eval_points=4, fit_acc=0.99,
                                                  fit_check_every=4)),
        "quick": RandomLabelsSpec(),
        "full": RandomLabelsSpec(seeds=(0, 1, 2, 3, 4), train=TrainSpec(lr=1e-3, batch_size=100, steps=10000,
                                                                         eval_points=30, fit_acc=0.99, fit_check_every=40,
                                                                         stop_at_fit=True)),
    },
    run=run, claims=claims, figures=figures,
)
