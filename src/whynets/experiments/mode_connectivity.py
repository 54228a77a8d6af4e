"""mode-connectivity — Frankle, Dziugaite, Roy & Carbin 2020,
"Linear mode connectivity and the lottery ticket hypothesis".

Instability analysis: train a parent network for k steps, spawn two copies, train each to the end
(T − k more steps) with a different data order (SGD noise), and measure the test-error barrier on the
straight line between the two results (``measure.landscape.linear_interpolation``). A network is
*stable* at k when the barrier is below 2 points. Frankle et al.: ResNet-20 and VGG-16 (CIFAR-10) are
unstable at initialization and become stable early in training; LeNet on MNIST is stable already at
k = 0; networks from different initializations are never linearly connected.

Here: a 3-layer 1-D CNN on MNIST-1D with SGD at a high learning rate (0.1, momentum 0.9) is unstable
at k = 0 and stable after a few dozen steps. The control, an MLP 40-100-100-10 at lr 0.05, is stable
already at k = 0 (as PHENOMENA calibrates for MNIST-1D MLPs; at lr 0.1 its k = 0 barriers spread 0-4
points). Children of different parents at k = 0 give the independently initialized pairs.

Training runs in phases: the parents are one chain of phase cells through the spawn steps (no prefix is
trained twice), and each spawn copies the full training state — weights, optimizer state (momentum) and the
step, so the LR schedule goes on (``--set train.schedule=cosine`` means what it says) — as Frankle et al. do;
only the data-order seed of each copy is new (``child_seeds``).

    whynets run mode-connectivity --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch.nn.functional as F

from whynets.data import DataSpec
from whynets.engine import TrainSpec, mix_seed, population_for
from whynets.measure.landscape import linear_interpolation
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, direction_check, fact_check, mean, mean_check

SOURCE = "Frankle et al. 2020, Linear mode connectivity and the lottery ticket hypothesis, instability analysis"


@dataclass(frozen=True)
class ModeConnectivitySpec(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="cnn1d", width=32))
    parents: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "parent seeds (init + data order to step k)"})
    spawn_steps: tuple[int, ...] = field(default=(0, 10, 30, 100, 300), metadata={"help": "k: steps before the spawn"})
    # SGD, lr 0.1 (high for this CNN: the source of instability at init), batch 100, 1500 steps ≈ 37 epochs
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=100,
                                                               steps=1500, eval_points=6))
    control: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=100, depth=2))
    control_lr: float = field(default=0.05,
                              metadata={"help": "LR of the MLP control (spawned at k = 0 only); 0 = no control"})
    num_points: int = field(default=21, metadata={"help": "points on the linear path (incl. the ends)"})
    stable_points: float = field(default=2.0, metadata={"help": "stable: error barrier below this (points of %)"})
    early_fraction: float = field(default=0.1, metadata={"help": "claim: stable from k <= this fraction of training"})


def child_seeds(parent: int) -> list[int]:
    """Two data-order seeds for the copies of one parent, distinct from each other and from the parent's."""
    return [mix_seed(parent, "child", j) % 2**31 for j in (0, 1)]


def _path(model, ds, a, b, num_points: int) -> dict[str, Any]:
    r = linear_interpolation(model, F.cross_entropy, [(ds.x_test, ds.y_test)], a, b, num_points)
    return {"error_barrier": 100 * r.error_barrier, "loss_barrier": r.loss_barrier, "error": r.error.tolist()}


def _barriers(ctx, spec: ModeConnectivitySpec, model: ModelSpec, children: dict[str, Any], k: int) -> dict[str, Any]:
    """A cell reading the children's end state: the barrier between the two copies of each parent (and, at k = 0,
    between children of different parents: independent initializations and data orders)."""
    def fn(cell_dir: Path) -> dict[str, Any]:
        ds = ctx.data(spec.data).to(ctx.device)
        state = ctx.state(children)
        pop = population_for(model, ds, state.seeds, ctx.device)
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        nets = [pop.member(i).eval() for i in range(pop.size)]
        n = pop.size // 2
        pairs = [_path(nets[0], ds, nets[2 * i], nets[2 * i + 1], spec.num_points) for i in range(n)]
        out = {"pairs": pairs}
        if k == 0 and n > 1:
            out["independent"] = [_path(nets[0], ds, nets[2 * i], nets[2 * ((i + 1) % n)], spec.num_points)
                                  for i in range(n if n > 2 else 1)]
        return out
    return ctx.cell({"barriers": model.kind, "k": k}, fn, children=children["cell"], points=spec.num_points)


def _instability(ctx, spec: ModeConnectivitySpec, model: ModelSpec, train_spec: TrainSpec,
                 spawn_steps: list[int]) -> list[dict[str, Any]]:
    """The parents as ONE chain of phase cells (0 → k1 → k2 …); at each k two copies of every parent (weights and
    optimizer state) continue to the end with new data orders; then the barriers between each pair."""
    members = [i for i in range(len(spec.parents)) for _ in (0, 1)]
    seeds = [s for p in spec.parents for s in child_seeds(p)]
    out, parent = [], None
    for k in sorted(spawn_steps):
        parent = ctx.train({"model": model.kind, "phase": "parent", "until": k}, model, spec.data, train_spec,
                           spec.parents, until=k, parent=parent)
        children = ctx.train({"model": model.kind, "phase": "children", "k": k}, model, spec.data, train_spec, seeds,
                             parent=parent, spawn=members, keep_state=True)
        bar = _barriers(ctx, spec, model, children, k)
        cell = {"k": k, "pairs": bar["pairs"], "barrier": [p["error_barrier"] for p in bar["pairs"]],
                "test_acc": children["final"]["test_acc"], "train_acc": children["final"]["train_acc"],
                "wall_s": parent["wall_s"] + children["wall_s"]}
        if "independent" in bar:
            cell["independent"] = bar["independent"]
        out.append(cell)
    return out


def run(spec: ModeConnectivitySpec, ctx) -> dict[str, Any]:
    if any(not 0 <= k < spec.train.steps for k in spec.spawn_steps):
        raise SpecError(f"mode-connectivity: spawn_steps must lie in [0, train.steps={spec.train.steps})")
    cells = _instability(ctx, spec, spec.model, spec.train, list(spec.spawn_steps))
    out = {"steps": spec.train.steps, "spawn_steps": [c["k"] for c in cells],
           "barrier": [c["barrier"] for c in cells], "mean_barrier": [mean(c["barrier"]) for c in cells],
           "loss_barrier": [[p["loss_barrier"] for p in c["pairs"]] for c in cells],
           "test_acc": [mean(c["test_acc"]) for c in cells],
           "paths": {str(c["k"]): [p["error"] for p in c["pairs"]] for c in cells},
           "t": [i / (spec.num_points - 1) for i in range(spec.num_points)],
           "compute_s": sum(c["wall_s"] for c in cells)}
    if "independent" in cells[0]:
        ind = cells[0]["independent"]
        out["independent"] = {"barrier": [p["error_barrier"] for p in ind], "paths": [p["error"] for p in ind]}
    if spec.control_lr > 0:
        (c,) = _instability(ctx, spec, spec.control, replace(spec.train, lr=spec.control_lr), [0])
        out["control"] = {"model": spec.control.kind, "lr": spec.control_lr, "barrier": c["barrier"],
                          "test_acc": mean(c["test_acc"]), "paths": [p["error"] for p in c["pairs"]]}
        out["compute_s"] += c["wall_s"]
    return out


def onset(results: dict[str, Any], threshold: float) -> int | None:
    """The first k from which the mean barrier stays below ``threshold`` for every later k (None: never)."""
    ks, bars = results["spawn_steps"], results["mean_barrier"]
    for i in range(len(ks)):
        if all(b < threshold for b in bars[i:]):
            return ks[i]
    return None


def claims(results: dict[str, Any], spec: ModeConnectivitySpec) -> list[Claim]:
    """t-intervals over the parents (each parent's pair of children gives one barrier)."""
    thr, ks = spec.stable_points, results["spawn_steps"]
    out = []
    if ks[0] == 0:
        b0 = results["barrier"][0]
        out.append(Claim(id="mode-connectivity/unstable-at-init", source=SOURCE,
                         statement=f"copies of a {spec.model.kind} spawned at initialization and trained with different "
                                   "data orders end in different basins",
                         paper="unstable at k = 0 for ResNet-20 / VGG-16 (CIFAR-10)",
                         checks=[mean_check("mean test-error barrier at k = 0 (points)", b0, ">=", thr),
                                 direction_check("barrier > 0 for every parent", [b > 0 for b in b0])]))
    limit = spec.early_fraction * results["steps"]
    # "stable from some k* <= limit on" is the same as "stable at the last spawn step <= limit and every later one"
    start = max([i for i, k in enumerate(ks) if k <= limit], default=None)
    checks = ([mean_check(f"mean barrier at k = {ks[i]} (points)", results["barrier"][i], "<", thr)
               for i in range(start, len(ks))] if start is not None
              else [fact_check(f"a spawn step <= {limit:g} in the sweep", False)])
    out.append(Claim(id="mode-connectivity/stable-early", source=SOURCE, paper="stable after a few % of training (ResNet-20)",
                     statement=f"after a little training (k <= {spec.early_fraction:g} x {results['steps']} steps) the "
                               "copies stay linearly connected (barrier < 2 points) from then on",
                     measured={"k_star (point estimate)": onset(results, thr),
                               "mean_barrier_by_k": dict(zip(map(str, ks), results["mean_barrier"]))}, checks=checks))
    if "independent" in results:
        out.append(Claim(id="mode-connectivity/independent-inits-not-connected", source=SOURCE, paper="large barrier",
                         statement="networks trained from different initializations are not linearly connected",
                         checks=[mean_check("mean barrier between independently initialized nets (points)",
                                            results["independent"]["barrier"], ">=", thr)]))
    if "control" in results:
        c = results["control"]
        out.append(Claim(id="mode-connectivity/mlp-stable-at-init", source=SOURCE + " (LeNet, MNIST)",
                         statement=f"a small {c['model']} (lr {c['lr']:g}) is stable already at initialization, like LeNet",
                         paper="LeNet stable at k = 0",
                         checks=[mean_check("mean barrier at k = 0 (points)", c["barrier"], "<", thr)]))
    return out


def figures(results: dict[str, Any], spec: ModeConnectivitySpec, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    ks, x = results["spawn_steps"], [max(k, 1) for k in results["spawn_steps"]]
    for j in range(len(results["barrier"][0])):
        axes[0].plot(x, [b[j] for b in results["barrier"]], ".", c="gray", alpha=0.6)
    axes[0].plot(x, results["mean_barrier"], "o-", label=f"{spec.model.kind} (mean over parents)")
    if "control" in results:
        c = results["control"]
        axes[0].plot([1], [mean(c["barrier"])], "s", label=f"{c['model']} control (lr {c['lr']:g}), k = 0")
    axes[0].axhline(spec.stable_points, ls=":", c="k", label=f"stable: < {spec.stable_points:g} points")
    axes[0].set(xscale="log", xlabel="spawn step k (k = 0 drawn at 1)", ylabel="test error barrier (points)",
                title="(a) instability analysis")
    axes[0].legend(fontsize=8)
    t = results["t"]
    for k in (str(ks[0]), str(ks[-1])):
        axes[1].plot(t, [100 * e for e in results["paths"][k][0]], label=f"k = {k}")
    if "independent" in results:
        axes[1].plot(t, [100 * e for e in results["independent"]["paths"][0]], "--", label="independent inits")
    axes[1].set(xlabel="interpolation t", ylabel="test error (%)", title="(b) error on the linear path")
    axes[1].legend(fontsize=8)
    data = {k: results[k] for k in ("spawn_steps", "barrier", "mean_barrier", "paths", "t")}
    data.update({k: results[k] for k in ("independent", "control") if k in results})
    return [save_figure(fig, data, out, "mode_connectivity")]


EXPERIMENT = Experiment(
    name="mode-connectivity",
    title="Instability analysis: when do SGD-noise copies become linearly connected?",
    paper="Frankle, Dziugaite, Roy & Carbin 2020, Linear mode connectivity and the lottery ticket hypothesis",
    claim="copies spawned at init land in different basins (error barrier); spawned after early training they are "
          "linearly connected (barrier < 2 points); independent inits are never connected",
    quick_wall_s=118,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("parents",), max_seeds=3,  # phase chains cannot reuse cells across seed counts: no escalation
    on_digits=True,
    presets={
        "smoke": ModeConnectivitySpec(data=DataSpec(n_train=300, n_test=200), model=ModelSpec(kind="cnn1d", width=8),
                                      parents=(0, 1), spawn_steps=(0, 10), num_points=5,
                                      control=ModelSpec(kind="mlp", width=16, depth=2),
                                      train=TrainSpec(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=50, steps=30,
                                                      eval_points=2)),
        "quick": ModeConnectivitySpec(),
        "full": ModeConnectivitySpec(parents=(0, 1, 2, 3, 4), spawn_steps=(0, 5, 10, 20, 30, 50, 100, 200, 500, 1000),
                                     num_points=31, train=TrainSpec(optimizer="sgd", lr=0.1, momentum=0.9,
                                                                    batch_size=100, steps=4000, eval_points=10)),
    },
    run=run, claims=claims, figures=figures,
)
