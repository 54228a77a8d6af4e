"""stability — Hardt, Recht & Singer 2016, "Train faster, generalize better: stability of stochastic gradient
descent" (ICML; arXiv:1509.01240).

SGD run for T steps with step sizes α_t on a convex, L-Lipschitz, β-smooth loss (α_t ≤ 2/β) is uniformly stable.
On two data sets S, S' of n examples that differ in one, run with the same sequence of examples, a gradient step
is 1-expansive and the differing example, in a batch of b with probability b/n, adds at most 2α_tL/b, so
E‖w_T − w'_T‖ ≤ (2L/n) Σ_t α_t (the proof of Thm 3.8) and the loss stability ε_stab ≤ (2L²/n) Σ_t α_t (Thm 3.8),
which bounds the expected generalization gap.

Here: neighbouring MNIST-1D training sets trained as ONE population (``ctx.train(..., member_rows=rows)``). Member
2i trains on rows 0..n−1; member 2i+1 on the same rows with row j_i replaced by row n + e_i (the data hold n +
``extra`` training rows); both get the pair's seed s_i, so the same initialization and the same data order (the
replaced example sits at the same place in every epoch). ``PairDivergence`` reads each pair's ‖w − w'‖₂ and
max_z |ℓ(w; z) − ℓ(w'; z)| over the test examples at every measurement step.

* Convex: multiclass logistic regression (softmax cross-entropy on x̃ = (x, 1), weights and bias). Its gradient
  (p − e_y)x̃ᵀ has norm ‖p − e_y‖₂‖x̃‖₂ ≤ √2‖x̃‖₂; its Hessian (diag p − ppᵀ) ⊗ x̃x̃ᵀ has top eigenvalue ≤ ½‖x̃‖₂²
  (Gershgorin: row i of diag p − ppᵀ has absolute sum 2p_i(1 − p_i) ≤ ½). So L = √2·R and β = R²/2 with
  R = max‖x̃‖₂ over all n + extra rows (``softmax_constants``: ``measure.stability``: ``logistic_constants`` of x̃,
  the binary one-output loss's R and R²/4, times √2 and 2); both are attained in a limit (p → a wrong class's
  one-hot; p = (½, ½, 0, …)). Plain SGD (momentum 0, no weight decay), constant α = ``lr_fraction`` × 2/β.
* MLP (non-convex; Thm 3.8 does not apply; Thm 3.12 scales as 1/n and grows with the step size): compared ACROSS
  conditions at the same step count, the training-set size n (at one step size) and the step size (at one n), which
  move the bound's scale Σα_t/n and the generalization gap (test loss − each member's loss on its own rows)
  independently of time. Over one run's own time course the divergence and the gap both start at 0 and grow, so
  any two such curves correlate: that is drawn, not claimed. Quick: n in (250, 500, 1000) at lr .05 and lr in
  (.025, .05, .1) at n = 500, the first 16 pairs each, 1000 steps.

    whynets run stability --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.ticker import NullFormatter
import torch

from whynets.data import DataSpec
from whynets.engine import TrainSpec, lr_at, mix_seed
from whynets.measure.stability import convex_divergence_bound, convex_stability_bound, softmax_constants
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.probes import PairDivergence
from whynets.spec import Spec, SpecError
from whynets.stats import t_interval

from .base import Check, Claim, Experiment, mean_check, paired_check

__all__ = ["StabilitySpec", "neighbouring_rows", "EXPERIMENT"]

SOURCE = "Hardt, Recht & Singer 2016, Train faster, generalize better: stability of SGD"
LOGISTIC = ModelSpec(kind="logistic")
NETS = SOURCE + ", experiments on neural nets (parameter distance vs generalization error)"


@dataclass(frozen=True)
class StabilitySpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(n_test=500),
                           metadata={"help": "classification data; n_train is set to n + extra"})
    seeds: tuple[int, ...] = field(default=tuple(range(64)),
                                   metadata={"help": "one neighbouring pair per seed (both members use it)"})
    n: int = field(default=500, metadata={"help": "training examples in each data set of a pair"})
    extra: int = field(default=256, metadata={"help": "rows after the first n that replaced examples come from"})
    lr_fraction: float = field(default=0.5, metadata={"help": "convex: α = lr_fraction × 2/β (Thm 3.8 needs <= 1)"})
    # plain SGD on the logistic loss, batch 32 (16 steps per epoch of 500), 1000 steps; lr is replaced by
    # lr_fraction × 2/β, β from the data
    convex_train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.01, momentum=0.0,
                                                                      batch_size=32, steps=1000, eval_points=12),
                                    metadata={"help": "convex run (its lr is replaced by lr_fraction × 2/β)"})
    mlp: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=64),
                           metadata={"help": "the non-convex model"})
    # plain SGD, lr .05, batch 32, 1000 steps (64 epochs of 500): the train loss falls to ~.9, the gap grows to ~1
    mlp_train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.05, momentum=0.0,
                                                                   batch_size=32, steps=1000, eval_points=12))
    # conditions at the same step count that move Σα_t/n, the scale of Hardt et al.'s bounds (Thm 3.8; Thm 3.12 for
    # non-convex losses: ∝ 1/n, growing with the step size): n at mlp_train.lr, and the step size at n
    mlp_ns: tuple[int, ...] = field(default=(250, 500, 1000), metadata={"help": "MLP conditions: training-set sizes "
                                                                                "(at mlp_train.lr; must hold n)"})
    mlp_lrs: tuple[float, ...] = field(default=(0.025, 0.05, 0.1), metadata={"help": "MLP conditions: step sizes "
                                                                                     "(at n; must hold mlp_train.lr)"})
    # 16 pairs: the paired differences between conditions have a seed sd ~5x below their size (quick, 64 pairs)
    condition_pairs: int = field(default=16, metadata={"help": "neighbouring pairs per MLP condition (the first of "
                                                                 "seeds)"})

    def validate(self) -> None:
        super().validate()
        if self.n < 2 or self.extra < 1:
            raise SpecError(f"stability: n={self.n} must be >= 2 and extra={self.extra} >= 1")
        if self.data.n_train:
            raise SpecError(f"stability sets data.n_train to n + extra; set n and extra, not data.n_train="
                            f"{self.data.n_train}")
        if not 0 < self.lr_fraction <= 1:
            raise SpecError(f"lr_fraction={self.lr_fraction}: Thm 3.8 needs α <= 2/β, a fraction in (0, 1]")
        if self.condition_pairs < 2:
            raise SpecError(f"stability: condition_pairs={self.condition_pairs} must be >= 2 (a paired interval)")
        if self.n not in self.mlp_ns or self.mlp_train.lr not in self.mlp_lrs or len(self.mlp_ns) < 2 \
                or len(self.mlp_lrs) < 2 or min(self.mlp_ns) < 2 or min(self.mlp_lrs) <= 0:
            raise SpecError(f"stability: mlp_ns={self.mlp_ns} must hold n={self.n} and mlp_lrs={self.mlp_lrs} must "
                            f"hold mlp_train.lr={self.mlp_train.lr}, each with >= 2 values (n >= 2, lr > 0)")
        for name in ("convex_train", "mlp_train"):
            t = getattr(self, name)
            if t.optimizer != "sgd" or t.momentum != 0 or t.weight_decay != 0:
                raise SpecError(f"{name}: the theorem is about plain SGD; use optimizer=sgd, momentum=0, "
                                f"weight_decay=0 (got {t.optimizer}, momentum={t.momentum}, wd={t.weight_decay})")
            if t.loss != "ce":
                raise SpecError(f"{name}.loss={t.loss!r}: the constants are those of cross-entropy; use loss=ce")


def neighbouring_rows(n: int, extra: int, seeds: Sequence[int]) -> tuple[torch.Tensor, list[list[int]]]:
    """Training rows of a population of pairs, (2P, n) long, and each pair's (replaced row j, extra row n + e):
    member 2i has rows 0..n−1, member 2i+1 the same with j_i replaced by n + e_i, both drawn from seed s_i."""
    if n < 1 or extra < 1:
        raise ValueError(f"neighbouring_rows: n={n} and extra={extra} must be >= 1")
    base = torch.arange(n)
    rows, swaps = [], []
    for s in seeds:
        g = torch.Generator().manual_seed(mix_seed(int(s), "neighbour"))
        j = int(torch.randint(n, (1,), generator=g))
        e = n + int(torch.randint(extra, (1,), generator=g))
        other = base.clone()
        other[j] = e
        rows += [base, other]
        swaps.append([j, e])
    return torch.stack(rows), swaps


def _readings(result: dict[str, Any]) -> dict[str, Any]:
    """Per logged step: each pair's divergence, loss change and gap (mean of its two members' test − train loss)."""
    hist = result["history"]
    gap = [[(r["test_loss"][2 * i] - r["train_loss"][2 * i] + r["test_loss"][2 * i + 1] - r["train_loss"][2 * i + 1])
            / 2 for i in range(len(r["divergence"]) // 2)] for r in hist]
    avg = lambda key: [float(np.mean(r[key])) for r in hist]  # noqa: E731
    return {"steps": [r["step"] for r in hist], "divergence": [r["divergence"][0::2] for r in hist],
            "loss_change": [r["loss_change"][0::2] for r in hist], "gap": gap, "train_loss": avg("train_loss"),
            "test_loss": avg("test_loss"), "test_acc": avg("test_acc"), "wall_s": result["wall_s"]}


def run(spec: StabilitySpec, ctx) -> dict[str, Any]:
    data = replace(spec.data, n_train=spec.n + spec.extra)
    ds = ctx.data(data)
    if ds.y.is_floating_point():
        raise SpecError(f"stability needs class labels (cross-entropy); {data.name} has float targets")
    rows, swaps = neighbouring_rows(spec.n, spec.extra, spec.seeds)
    seeds = [s for s in spec.seeds for _ in (0, 1)]  # both sides of a pair: same init, same data order
    lip, beta, radius = softmax_constants(ds.x)  # over all n + extra rows: the examples of S and of S'
    t = replace(spec.convex_train, lr=spec.lr_fraction * 2.0 / beta)
    label = {"pairs": len(spec.seeds), "n": spec.n}
    convex = ctx.train(dict(label, model="logistic"), LOGISTIC, data, t, seeds, probe=PairDivergence(),
                       member_rows=rows)
    mlp = ctx.train(dict(label, model="mlp"), spec.mlp, data, spec.mlp_train, seeds, probe=PairDivergence(),
                    member_rows=rows)
    conditions, few = [], spec.seeds[:spec.condition_pairs]
    for n, lr in _conditions(spec):
        if (n, lr) == (spec.n, spec.mlp_train.lr):
            r = mlp
        else:  # the final step only: the conditions are compared at the same step count
            r = ctx.train(dict(label, pairs=len(few), n=n, model="mlp", lr=lr), spec.mlp,
                          replace(spec.data, n_train=n + spec.extra), replace(spec.mlp_train, lr=lr, eval_points=1),
                          [s for s in few for _ in (0, 1)], probe=PairDivergence(),
                          member_rows=neighbouring_rows(n, spec.extra, few)[0])
        final = _readings(r)
        conditions.append({"n": n, "lr": lr, "steps": spec.mlp_train.steps, "seeds": list(few),
                           "divergence": final["divergence"][-1][:len(few)], "gap": final["gap"][-1][:len(few)],
                           "wall_s": r["wall_s"]})
    alphas = [lr_at(s, t.steps, t.lr, t.schedule, t.warmup_steps) for s in range(t.steps)]  # α_t of each step
    div_bound = convex_divergence_bound(lip, spec.n, alphas, smoothness=beta).tolist()
    loss_bound = convex_stability_bound(lip, spec.n, alphas, smoothness=beta).tolist()
    out = _readings(convex)
    at = lambda b: [0.0 if s == 0 else b[s - 1] for s in out["steps"]]  # noqa: E731  (after s steps)
    out.update(lipschitz=lip, smoothness=beta, radius=radius, lr=t.lr, lr_limit=2.0 / beta, alphas=alphas,
               bound=at(div_bound), loss_bound=at(loss_bound))
    return {"n": spec.n, "pairs": len(spec.seeds), "swaps": swaps, "convex": out,
            "mlp": dict(_readings(mlp), lr=spec.mlp_train.lr), "mlp_conditions": conditions}


def _conditions(spec: StabilitySpec) -> list[tuple[int, float]]:
    """(n, lr) of the MLP conditions: each n at mlp_train.lr, each step size at n."""
    out = [(n, spec.mlp_train.lr) for n in sorted(spec.mlp_ns)]
    return out + [(spec.n, lr) for lr in sorted(spec.mlp_lrs) if lr != spec.mlp_train.lr]


def _logged(part: dict[str, Any]) -> list[int]:
    """Indices of the logged steps after step 0 (at step 0 both sides are identical)."""
    return [i for i, s in enumerate(part["steps"]) if s > 0]


def _step_checks(name: str, part: dict[str, Any], key: str, bound_key: str) -> list[Check]:
    """One check per logged step t >= 1: the mean over pairs of reading_t / bound_t (t-interval over pairs) <= 1."""
    return [mean_check(f"{name} at step {part['steps'][i]}", [v / part[bound_key][i] for v in part[key][i]], "<=", 1.0)
            for i in _logged(part)]


def _condition_pairs(conditions: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Adjacent conditions on each axis, ordered (larger Σα_t/n, smaller): along n at one step size (smaller n
    first), along the step size at one n (larger step first)."""
    pairs = []
    for axis, other, larger_first in (("n", "lr", False), ("lr", "n", True)):
        groups: dict[Any, list[dict[str, Any]]] = {}
        for c in conditions:
            groups.setdefault(c[other], []).append(c)
        for group in groups.values():
            line = sorted(group, key=lambda c: c[axis], reverse=larger_first)
            pairs += list(zip(line, line[1:]))
    return pairs


def claims(results: dict[str, Any], spec: StabilitySpec) -> list[Claim]:
    """The bounds hold in expectation over pairs: at every logged step the mean over pairs of reading / bound, with
    a t-interval over pairs, must be <= 1. The MLP is compared across conditions at the same step count (not over
    its own time course, where divergence and gap both start at 0 and grow, so any two such curves correlate):
    paired t-intervals over the neighbouring pairs (pair i has seed i in every condition) of the final divergence
    and the final gap, for each adjacent pair of conditions."""
    cv = results["convex"]
    idx = _logged(cv)
    final = len(cv["steps"]) - 1
    ratio = [float(np.mean(cv["divergence"][i])) / cv["bound"][i] for i in idx]
    gap = t_interval(cv["gap"][final])
    out = [Claim(id="stability/convex-divergence-bound", source=SOURCE + ", Thm 3.8 (its proof's divergence bound)",
                 statement=f"SGD on logistic regression (L = {cv['lipschitz']:.3g}, β = {cv['smoothness']:.3g}, "
                           f"α = {cv['lr']:.3g} <= 2/β) keeps neighbouring data sets' parameters within "
                           f"(2L/n)Σα_t at every logged step (mean over {results['pairs']} pairs)",
                 paper="E‖w_T − w'_T‖ <= (2L/n) Σ_t α_t",
                 measured={"steps": [cv["steps"][i] for i in idx], "mean_divergence_over_bound": ratio},
                 checks=_step_checks("mean ‖w_t − w'_t‖ / ((2L/n)Σα)", cv, "divergence", "bound")),
           Claim(id="stability/convex-loss-stability", source=SOURCE + ", Thm 3.8",
                 statement=f"the largest change of a test example's loss between neighbours stays below ε_stab = "
                           f"(2L²/n)Σα_t at every logged step (final bound {cv['loss_bound'][final]:.3g}; measured "
                           f"generalization gap {gap.estimate:.3g} [{gap.lo:.3g}, {gap.hi:.3g}])",
                 paper="ε_stab <= (2L²/n) Σ_t α_t",
                 measured={"final_mean_loss_change": float(np.mean(cv["loss_change"][final])),
                           "final_loss_bound": cv["loss_bound"][final], "final_gap": gap.estimate},
                 checks=_step_checks("mean max_z|ℓ(w_t;z) − ℓ(w'_t;z)| / ((2L²/n)Σα)", cv, "loss_change",
                                     "loss_bound"))]
    pairs = _condition_pairs(results["mlp_conditions"])
    where = lambda c: f"n={c['n']}, lr={c['lr']:g}"  # noqa: E731
    diff = lambda key, a, b: paired_check(f"{key}({where(a)}) − {key}({where(b)}), step {a['steps']}",  # noqa: E731
                                          a[key], b[key], ">", 0.0)
    table = {where(c): {"bound_scale_lr_over_n": c["lr"] / c["n"], "mean_divergence": float(np.mean(c["divergence"])),
                        "mean_gap": float(np.mean(c["gap"]))} for c in results["mlp_conditions"]}
    out.append(Claim(id="stability/mlp-divergence-grows", source=NETS + "; Thm 3.12 (non-convex: ∝ 1/n, growing with "
                     "the step size)",
                     statement="at the same step count, an MLP's neighbouring runs end further apart where the "
                               "bound's scale Σα_t/n is larger: for a smaller training set and for a larger step",
                     paper="ε_stab <= (1 + 1/(βc))/(n − 1) · (2cL²)^(1/(βc+1)) · T^(βc/(βc+1)) (Thm 3.12, α_t <= c/t)",
                     measured=table, checks=[diff("divergence", a, b) for a, b in pairs]))
    out.append(Claim(id="stability/mlp-divergence-tracks-gap", source=NETS,
                     statement="across conditions at the same step count (training-set size, step size), the MLP's "
                               "generalization gap moves with its parameter divergence: for every adjacent pair of "
                               "conditions, the one whose runs diverge more has the larger gap",
                     paper="the generalization gap is bounded by the stability, which the divergence measures "
                           "(Thm 2.2; §5 plots both)",
                     measured=table,
                     checks=[c for a, b in pairs for c in (diff("divergence", a, b), diff("gap", a, b))]))
    return out


def _band(ax, steps: list[int], per_pair: list[list[float]], **kw) -> None:
    ivs = [t_interval(v) for v in per_pair]
    ax.plot(steps, [iv.estimate for iv in ivs], **kw)
    ax.fill_between(steps, [iv.lo for iv in ivs], [iv.hi for iv in ivs], alpha=0.25, color=kw.get("color"))


def figures(results: dict[str, Any], spec: StabilitySpec, out: Path) -> list[str]:
    cv, ml = results["convex"], results["mlp"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
    i, j = _logged(cv), _logged(ml)
    cs = [cv["steps"][k] for k in i]
    _band(axes[0], cs, [cv["divergence"][k] for k in i], color="C0", marker="o", label="mean ‖w − w'‖ (95% t)")
    axes[0].plot(cs, [cv["bound"][k] for k in i], "k--", label="(2L/n)Σα_t")
    _band(axes[0], cs, [cv["loss_change"][k] for k in i], color="C1", marker="s", label="mean max_z |Δℓ|")
    axes[0].plot(cs, [cv["loss_bound"][k] for k in i], ":", c="C1", label="ε_stab = (2L²/n)Σα_t")
    axes[0].set(xscale="log", yscale="log", xlabel="SGD step", ylabel="parameter distance / loss change",
                title=f"(a) logistic regression, {results['pairs']} pairs")
    axes[0].legend(fontsize=8)
    ms = [ml["steps"][k] for k in j]
    _band(axes[1], ms, [ml["divergence"][k] for k in j], color="C0", marker="o", label="mean ‖w − w'‖")
    axes[1].set(xscale="log", yscale="log", xlabel="SGD step", ylabel="parameter divergence", title="(b) MLP")
    twin = axes[1].twinx()
    _band(twin, ms, [ml["gap"][k] for k in j], color="C3", marker="^", label="gap (test − train loss)")
    twin.set_ylabel("generalization gap", color="C3")
    axes[1].legend(loc="upper left", fontsize=8), twin.legend(loc="lower right", fontsize=8)
    dv = [float(np.mean(ml["divergence"][k])) for k in j]
    gp = [float(np.mean(ml["gap"][k])) for k in j]
    conds = results["mlp_conditions"]
    cx = [float(np.mean(c["divergence"])) for c in conds]
    cy = [float(np.mean(c["gap"])) for c in conds]
    sc = axes[2].scatter(cx, cy, c=[np.log10(c["lr"] / c["n"]) for c in conds], cmap="viridis", zorder=2)
    for c, x, y in zip(conds, cx, cy):
        axes[2].annotate(f"n={c['n']}, lr={c['lr']:g}", (x, y), fontsize=7, xytext=(4, -8), textcoords="offset points")
    fig.colorbar(sc, ax=axes[2], label="log10(lr / n)")
    axes[2].set(xscale="log", xlabel="mean divergence at the last step", ylabel="mean gap (test − train loss)",
                title=f"(c) MLP across conditions, step {conds[0]['steps']}")
    axes[2].xaxis.set_minor_formatter(NullFormatter())
    data = {"convex": {"steps": cs, "divergence": [float(np.mean(cv["divergence"][k])) for k in i],
                       "bound": [cv["bound"][k] for k in i], "loss_change": [float(np.mean(cv["loss_change"][k]))
                                                                              for k in i],
                       "loss_bound": [cv["loss_bound"][k] for k in i]},
            "mlp": {"steps": ms, "divergence": dv, "gap": gp},
            "mlp_conditions": [{"n": c["n"], "lr": c["lr"], "divergence": x, "gap": y}
                               for c, x, y in zip(conds, cx, cy)]}
    return [save_figure(fig, data, out, "stability")]


EXPERIMENT = Experiment(
    name="stability",
    title="Uniform stability of SGD: neighbouring data sets' parameters stay within (2L/n)Σα_t",
    paper=SOURCE,
    claim="convex SGD's parameter divergence between neighbouring data sets stays below (2L/n)Σα_t; across training-set "
          "sizes and step sizes an MLP's divergence follows Σα_t/n and its generalization gap moves with it",
    quick_wall_s=16,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=128, seed_block=None, on_digits=False,
    presets={
        "smoke": StabilitySpec(data=DataSpec(n_test=100), seeds=(0, 1, 2, 3), n=100, extra=16,
                               convex_train=TrainSpec(optimizer="sgd", lr=0.01, momentum=0.0, batch_size=20, steps=40,
                                                      eval_points=5),
                               mlp=ModelSpec(kind="mlp", width=16),
                               mlp_train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.0, batch_size=20, steps=40,
                                                   eval_points=5), mlp_ns=(50, 100), mlp_lrs=(0.05, 0.1)),
        "quick": StabilitySpec(),
        "full": StabilitySpec(seeds=tuple(range(128)), n=1000, data=DataSpec(n_test=1000),
                              convex_train=TrainSpec(optimizer="sgd", lr=0.01, momentum=0.0, batch_size=32,
                                                     steps=4000, eval_points=16),
                              mlp=ModelSpec(kind="mlp", width=100),
                              mlp_train=TrainSpec(optimizer="sgd", lr=0.05, momentum=0.0, batch_size=32, steps=4000,
                                                  eval_points=16), mlp_ns=(500, 1000, 2000)),
    },
    run=run, claims=claims, figures=figures,
)
