"""depth-vs-width — what depth buys: exponentially many pieces, exponentially long trajectories, compositional targets.

1. Telgarsky 2015/2016 ("Representation benefits of deep feedforward networks"; "Benefits of depth in neural
   networks"): the tent map t(x) = 2 relu(x) − 4 relu(x − ½) composed L times is a ReLU net of width 2 and depth L
   with exactly 2^L linear pieces on [0, 1]; one hidden layer of k ReLUs has at most k + 1, so it needs ≥ 2^L − 1
   units where depth needs 2L. Counted exactly (``kernels.linear_pieces``:
   kinks solved layer by layer in float64) for the sawtooth and for random one-hidden-layer nets; beside them,
   random deep nets of the same shapes, which realize far fewer pieces than their depth allows (Hanin & Rolnick
   2019): reported.
2. Raghu et al. 2017 ("On the expressive power of deep neural networks"): the length of a circle's image grows
   exponentially with depth, faster for larger σ_w. Random tanh nets (width 128, σ_b² = 0.05) carry a circle of
   2000 points; log length is fitted against depth from layer 3 on (the length per unit has relaxed to q* by then).
   Mean field predicts the rate: a small displacement's squared length is multiplied by χ₁ per layer, so the slope
   is ½ ln χ₁ (Poole et al. 2016), checked within 15%.
3. Poggio et al. 2017 ("Why and when can deep — but not shallow — networks avoid the curse of dimensionality"):
   on a compositional target, a binary tree of two-input functions of 8 variables, f = h(h(h(x₁,x₂), h(x₃,x₄)),
   h(h(x₅,x₆), h(x₇,x₈))) with h(a, b) = tanh(2ab + a − b), a deep MLP (4 × 32) beats a shallow one (1 × 349) of the
   same parameter count (≈ 3.5k): test MSE (targets standardized) ≤ .5 × the shallow net's, per seed. The data are
   a cell (x uniform on [−1, 1]^8, 4000 train / 4000 test, a safetensors file keyed by content); both nets train
   through the engine (Adam, cosine schedule, MSE).

    whynets run depth-vs-width --preset quick
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from whynets.data import DataSpec, save_tensors_file
from whynets.engine import TrainSpec
from whynets.kernels import chi_1
from whynets.kernels.complexity import mlp_param_count, width_for_params
from whynets.kernels.expressivity import linear_pieces, random_relu_layers, sawtooth_layers, trajectory_lengths
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, direction_check, fact_check, mean, mean_check, paired_check

__all__ = ["DepthVsWidthSpec", "EXPERIMENT", "tree_target", "log_fit"]

TELGARSKY = ("Telgarsky 2015/2016, Representation benefits of deep feedforward networks (arXiv 1509.08101) / Benefits of "
             "depth in neural networks (the k-fold tent map m(x) = σ(2σ(x) − 4σ(x − ½)))")
RAGHU = "Raghu et al. 2017, On the expressive power of deep neural networks (trajectory length, Thm. 1)"
POGGIO = "Poggio et al. 2017, Why and when can deep - but not shallow - networks avoid the curse of dimensionality"
R2_MIN, RATIO_MAX, MF_BAND = 0.95, 0.5, (0.85, 1.15)  # PHENOMENA (proposed criteria); the mean-field band is ours
MIN_RATE = 0.02  # ours: "grows" = at least 2% per layer; "faster" = at least 0.02 per layer more per step of σ_w²


@dataclass(frozen=True)
class DepthVsWidthSpec(Spec):
    sawtooth_depths: tuple[int, ...] = field(default=tuple(range(1, 13)), metadata={"help": "depths L of the sawtooth"})
    shallow_widths: tuple[int, ...] = field(default=(2, 8, 32, 128), metadata={"help": "units k of random shallow nets"})
    piece_draws: int = field(default=20, metadata={"help": "random nets per shape for piece counts"})
    deep_piece_depths: tuple[int, ...] = field(default=(1, 2, 4, 8), metadata={"help": "random nets of width 8 and these depths"})
    traj_sigma_w2: tuple[float, ...] = field(default=(1.0, 2.0, 4.0, 8.0, 16.0), metadata={"help": "σ_w² of the trajectory nets"})
    traj_chaotic: tuple[float, ...] = field(default=(4.0, 8.0, 16.0), metadata={"help": "σ_w² where growth is claimed"})
    traj_sigma_b2: float = field(default=0.05, metadata={"help": "σ_b² of the trajectory nets"})
    traj_depth: int = field(default=10, metadata={"help": "layers of the trajectory nets"})
    traj_width: int = field(default=128, metadata={"help": "units per layer of the trajectory nets"})
    traj_points: int = field(default=2000, metadata={"help": "points on the input circle"})
    traj_fit_from: int = field(default=3, metadata={"help": "first layer of the log-length fit (q has relaxed)"})
    traj_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one random net per seed and σ_w²"})
    tree_train: int = field(default=4000, metadata={"help": "training inputs of the compositional target"})
    tree_test: int = field(default=4000, metadata={"help": "test inputs of the compositional target"})
    tree_seed: int = field(default=0, metadata={"help": "seed of the compositional data"})
    deep_width: int = field(default=32, metadata={"help": "deep MLP: units per layer"})
    deep_depth: int = field(default=4, metadata={"help": "deep MLP: hidden layers (shallow: one, same parameters)"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one deep and one shallow net per seed"})
    # Adam 5e-3 with a cosine decay over 1200 steps of 100 examples (30 epochs): both nets near their best
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="adam", lr=5e-3, batch_size=100, steps=1200,
                                                               loss="mse", schedule="cosine", eval_points=2))

    def validate(self) -> None:
        super().validate()
        if min(self.sawtooth_depths, default=1) < 1 or max(self.sawtooth_depths, default=1) > 20:
            raise SpecError(f"sawtooth_depths={self.sawtooth_depths!r}: depths 1..20 (2^20 pieces at most)")
        if not set(self.traj_chaotic) <= set(self.traj_sigma_w2):
            raise SpecError(f"traj_chaotic={self.traj_chaotic!r} must be among traj_sigma_w2={self.traj_sigma_w2!r}")
        if not 1 <= self.traj_fit_from < self.traj_depth - 1:
            raise SpecError(f"traj_fit_from={self.traj_fit_from} must leave >= 2 layers of traj_depth={self.traj_depth}")


def tree_target(x: torch.Tensor) -> torch.Tensor:
    """f(x₁…x₈) = h(h(h(x₁,x₂), h(x₃,x₄)), h(h(x₅,x₆), h(x₇,x₈))), h(a, b) = tanh(2ab + a − b)."""
    h = lambda a, b: torch.tanh(2 * a * b + a - b)  # noqa: E731
    level = [x[:, i] for i in range(8)]
    while len(level) > 1:
        level = [h(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def log_fit(lengths: list[float], start: int) -> tuple[float, float]:
    """(slope, R²) of ln length against layer index over layers ``start`` … end."""
    y = np.log(np.asarray(lengths[start:], dtype=float))
    x = np.arange(start, len(lengths), dtype=float)
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (slope * x + icpt)
    total = ((y - y.mean()) ** 2).sum()
    return float(slope), float(1 - (resid ** 2).sum() / total) if total > 0 else 0.0


def _pieces(spec: DepthVsWidthSpec, ctx) -> dict[str, Any]:
    def fn(_: Path) -> dict[str, Any]:
        g = torch.Generator().manual_seed(12345)
        shallow = {str(k): [linear_pieces(random_relu_layers([k], generator=g), (-4.0, 4.0))
                            for _ in range(spec.piece_draws)] for k in spec.shallow_widths}
        deep = {str(d): [linear_pieces(random_relu_layers([8] * d, generator=g), (-4.0, 4.0))
                         for _ in range(spec.piece_draws)] for d in spec.deep_piece_depths}
        return {"sawtooth": {str(L): linear_pieces(sawtooth_layers(L)) for L in spec.sawtooth_depths},
                "shallow": shallow, "deep_width8": deep}
    return ctx.cell({"part": "pieces"}, fn, depths=list(spec.sawtooth_depths), shallow=list(spec.shallow_widths),
                    draws=spec.piece_draws, deep=list(spec.deep_piece_depths))


def _trajectories(spec: DepthVsWidthSpec, ctx) -> dict[str, Any]:
    out = {}
    for sw2 in spec.traj_sigma_w2:
        def fn(_: Path, sw2=sw2) -> dict[str, Any]:
            runs = [trajectory_lengths("tanh", sw2, spec.traj_sigma_b2, spec.traj_depth, spec.traj_width,
                                       points=spec.traj_points, generator=torch.Generator().manual_seed(1000 + s))
                    for s in spec.traj_seeds]
            return {"lengths": runs, "chi_1": chi_1("tanh", sw2, spec.traj_sigma_b2)}
        out[str(sw2)] = ctx.cell({"part": "trajectory", "sigma_w2": sw2}, fn, sigma_b2=spec.traj_sigma_b2,
                                 depth=spec.traj_depth, width=spec.traj_width, points=spec.traj_points,
                                 seeds=list(spec.traj_seeds))
    return out


def _tree_data(spec: DepthVsWidthSpec, ctx) -> DataSpec:
    def fn(cell_dir: Path) -> dict[str, Any]:
        g = torch.Generator().manual_seed(50_000 + spec.tree_seed)
        n, nt = spec.tree_train, spec.tree_test
        x = torch.rand(n + nt, 8, generator=g) * 2 - 1
        y = tree_target(x)
        y = (y - y[:n].mean()) / y[:n].std()  # standardized on the training set: MSE 1 = predicting the mean
        save_tensors_file(cell_dir / "tree.safetensors", x=x[:n].numpy(), y=y[:n].numpy(), x_test=x[n:].numpy(),
                          y_test=y[n:].numpy())
        return {"cell": cell_dir.name, "file": "tree.safetensors", "test_var": float(y[n:].var())}
    out = ctx.cell({"part": "tree-data"}, fn, require=("tree.safetensors",), n=spec.tree_train, nt=spec.tree_test,
                   seed=spec.tree_seed, target="tanh(2ab+a-b) binary tree of 8")
    return DataSpec(name="safetensors", path=str(ctx.store.cell_dir(out["cell"]) / out["file"])), out


def run(spec: DepthVsWidthSpec, ctx) -> dict[str, Any]:
    pieces = _pieces(spec, ctx)
    traj = _trajectories(spec, ctx)
    data, tree = _tree_data(spec, ctx)
    params = mlp_param_count(8, [spec.deep_width] * spec.deep_depth)
    shallow_width = width_for_params(8, 1, params)
    nets = {"deep": ModelSpec(kind="mlp", width=spec.deep_width, depth=spec.deep_depth),
            "shallow": ModelSpec(kind="mlp", width=shallow_width, depth=1)}
    trained = {name: ctx.train({"net": name}, m, data, spec.train, spec.seeds) for name, m in nets.items()}
    return {"pieces": {k: v for k, v in pieces.items() if k != "cell"},
            "trajectories": {k: {"lengths": v["lengths"], "chi_1": v["chi_1"]} for k, v in traj.items()},
            "traj_fit_from": spec.traj_fit_from,
            "tree": {"params": {"deep": params, "shallow": mlp_param_count(8, [shallow_width])},
                     "widths": {"deep": [spec.deep_width] * spec.deep_depth, "shallow": [shallow_width]},
                     "test_var": tree["test_var"],
                     "test_mse": {k: r["final"]["test_loss"] for k, r in trained.items()},
                     "train_mse": {k: r["final"]["train_loss"] for k, r in trained.items()}}}


def claims(results: dict[str, Any], spec: DepthVsWidthSpec) -> list[Claim]:
    out = []
    saw = results["pieces"]["sawtooth"]
    exact = {L: n == 2 ** int(L) for L, n in saw.items()}
    out.append(Claim(id="depth-vs-width/sawtooth-pieces", source=TELGARSKY, paper="2^L pieces",
                     statement="the L-fold tent map, a ReLU net of width 2 and depth L, has exactly 2^L linear pieces",
                     checks=[fact_check(f"pieces(L) = 2^L for L = {min(map(int, saw))}..{max(map(int, saw))}",
                                        all(exact.values()), saw)]))
    shallow = results["pieces"]["shallow"]
    bound_ok = all(max(v) <= int(k) + 1 for k, v in shallow.items())
    deepest = max(map(int, saw))
    need = {k: max(v) for k, v in shallow.items()}
    out.append(Claim(id="depth-vs-width/shallow-bound", source=TELGARSKY, paper="<= k + 1 pieces with k units",
                     statement=f"one hidden layer of k ReLUs has at most k + 1 pieces (random nets, {len(next(iter(shallow.values())))} "
                               f"draws per k), so matching the depth-{deepest} sawtooth's {2 ** deepest} pieces takes "
                               f">= {2 ** deepest - 1} units where depth takes {2 * deepest}",
                     checks=[fact_check("max pieces <= k + 1 for every k", bound_ok, need)]))
    deep = results["pieces"]["deep_width8"]
    out.append(Claim(id="depth-vs-width/random-deep-pieces", source="Hanin & Rolnick 2019, Complexity of linear regions "
                     "in deep networks (reported)", paper="pieces ~ total units at init, far below 2^depth",
                     statement="random deep ReLU nets of width 8 realize far fewer pieces than their depth allows: "
                               "at most about twice their units, not 2^depth",
                     measured={d: mean(v) for d, v in deep.items()}, reported=True,
                     checks=[mean_check(f"mean pieces, width 8, depth {d} (units {8 * int(d)})", v, "<=", 2 * 8 * int(d) + 1)
                             for d, v in deep.items()]))
    start = results["traj_fit_from"]
    traj = results["trajectories"]
    fits = {k: [log_fit(lengths, start) for lengths in v["lengths"]] for k, v in traj.items()}
    chaotic = [str(s) for s in spec.traj_chaotic if str(s) in traj]
    checks = []
    for k in chaotic:
        checks.append(direction_check(f"R² >= {R2_MIN} every seed, σ_w² = {k}", [r2 >= R2_MIN for _, r2 in fits[k]]))
        checks.append(mean_check(f"slope of ln length per layer, σ_w² = {k}", [s for s, _ in fits[k]], ">=", MIN_RATE))
    out.append(Claim(id="depth-vs-width/trajectory-exponential", source=RAGHU,
                     paper="exponential in depth (Thm. 1); criterion R² >= .95: PHENOMENA (proposed), our calibration",
                     statement="in the chaotic phase the trajectory length grows exponentially with depth: ln length is "
                               f"linear in depth (R² >= {R2_MIN}) with a slope >= {MIN_RATE} per layer", checks=checks))
    faster = [paired_check(f"slope(σ_w² = {b}) − slope(σ_w² = {a})", [s for s, _ in fits[b]], [s for s, _ in fits[a]],
                           ">=", MIN_RATE) for a, b in zip(chaotic[:-1], chaotic[1:])]
    out.append(Claim(id="depth-vs-width/trajectory-faster-with-sigma", source=RAGHU,
                     paper="the growth rate increases with σ_w (Thm. 1); step >= 0.02/layer: ours", checks=faster,
                     statement="the exponential growth rate of the trajectory length increases with σ_w²: by >= "
                               f"{MIN_RATE} per layer from each σ_w² to the next"))
    ratios = [c for k in chaotic for c in [mean_check(f"measured / mean-field slope, σ_w² = {k}",
                                                      [s / (0.5 * math.log(traj[k]["chi_1"])) for s, _ in fits[k]],
                                                      "within", MF_BAND)]]
    out.append(Claim(id="depth-vs-width/trajectory-mean-field", source="Poole et al. 2016, Exponential expressivity in "
                     "deep neural networks through transient chaos (length grows by √χ₁ per layer)",
                     paper="slope = ½ ln χ₁; band ±15%: our tolerance", checks=ratios,
                     statement="the growth rate per layer is the mean-field ½ ln χ₁ (within 15%)"))
    tree = results["tree"]
    deep_mse, shallow_mse = tree["test_mse"]["deep"], tree["test_mse"]["shallow"]
    same = abs(tree["params"]["deep"] - tree["params"]["shallow"]) <= 0.01 * tree["params"]["deep"]
    out.append(Claim(id="depth-vs-width/compositional", source=POGGIO,
                     paper="deep beats shallow at equal parameters (qualitative); ratio <= .5: PHENOMENA (proposed), our calibration",
                     statement=f"on a binary-tree compositional target a deep MLP ({tree['widths']['deep']}) reaches "
                               f"<= {RATIO_MAX} × the test MSE of a shallow one ({tree['widths']['shallow']}) with the "
                               "same number of parameters",
                     checks=[mean_check("test MSE deep / shallow (per seed)",
                                        [d / s for d, s in zip(deep_mse, shallow_mse)], "<=", RATIO_MAX),
                             fact_check(f"equal parameters ({tree['params']['deep']} vs {tree['params']['shallow']})", same)]))
    return out


def figures(results: dict[str, Any], spec: DepthVsWidthSpec, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    saw = results["pieces"]["sawtooth"]
    depths = sorted(map(int, saw))
    axes[0].semilogy(depths, [saw[str(L)] for L in depths], "o-", label="sawtooth, width 2 (exact count)")
    axes[0].semilogy(depths, [2 * L + 1 for L in depths], "--", c="gray", label="shallow bound with the same 2L units")
    deep = results["pieces"]["deep_width8"]
    axes[0].semilogy([int(d) for d in deep], [mean(v) for v in deep.values()], "s-", label="random ReLU nets, width 8")
    axes[0].set(xlabel="depth L", ylabel="linear pieces", title="(a) Telgarsky: pieces grow as 2^L")
    axes[0].legend(fontsize=8)
    start = results["traj_fit_from"]
    for i, (k, v) in enumerate(results["trajectories"].items()):
        arr = np.asarray(v["lengths"])
        layers = np.arange(arr.shape[1])
        axes[1].semilogy(layers, arr.mean(0), "o-", c=f"C{i}", ms=3, label=f"σ_w² = {k}")
        pred = arr.mean(0)[start] * np.exp(0.5 * math.log(v["chi_1"]) * (layers[start:] - start))
        axes[1].semilogy(layers[start:], pred, ":", c=f"C{i}")
    axes[1].set(xlabel="layer", ylabel="trajectory length", title="(b) Raghu: length vs depth (dotted: √χ₁ per layer)")
    axes[1].legend(fontsize=8)
    tree = results["tree"]
    for j, name in enumerate(("deep", "shallow")):
        vals = tree["test_mse"][name]
        axes[2].bar(j, mean(vals), color=f"C{j}", alpha=0.6)
        axes[2].scatter([j] * len(vals), vals, c="k", s=12, zorder=3)
    axes[2].set_xticks([0, 1], [f"deep {tree['widths']['deep']}\n{tree['params']['deep']} params",
                                f"shallow {tree['widths']['shallow']}\n{tree['params']['shallow']} params"])
    axes[2].set(ylabel="test MSE (targets standardized)", title="(c) Poggio: compositional target")
    data = {"sawtooth": saw, "deep_width8": {d: mean(v) for d, v in deep.items()},
            "trajectory_mean": {k: np.asarray(v["lengths"]).mean(0).tolist() for k, v in results["trajectories"].items()},
            "tree_test_mse": tree["test_mse"]}
    return [save_figure(fig, data, out, "depth_vs_width")]


EXPERIMENT = Experiment(
    name="depth-vs-width",
    title="Depth vs width: exponential pieces, exponential trajectories, compositional targets",
    paper="Telgarsky 2016; Raghu et al. 2017; Poggio et al. 2017",
    claim="the depth-L sawtooth has 2^L pieces where one hidden layer of k units has <= k + 1; trajectory length grows "
          "exponentially with depth, faster at larger σ_w (at the mean-field rate ½ ln χ₁); a deep MLP reaches <= .5 × "
          "the test MSE of a shallow one with equal parameters on a binary-tree target",
    quick_wall_s=4,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds", "traj_seeds"), max_seeds=6, seed_block=3,
    presets={
        "smoke": DepthVsWidthSpec(sawtooth_depths=(1, 2, 3, 6), shallow_widths=(2, 8), piece_draws=4,
                                  deep_piece_depths=(1, 3), traj_sigma_w2=(1.0, 4.0, 16.0), traj_chaotic=(4.0, 16.0),
                                  traj_depth=6, traj_width=32, traj_points=400, traj_fit_from=2, traj_seeds=(0, 1),
                                  tree_train=400, tree_test=400, deep_width=8, deep_depth=2, seeds=(0, 1),
                                  train=TrainSpec(optimizer="adam", lr=5e-3, batch_size=50, steps=60, loss="mse",
                                                  schedule="cosine", eval_points=2)),
        "quick": DepthVsWidthSpec(),
        "full": DepthVsWidthSpec(sawtooth_depths=tuple(range(1, 17)), piece_draws=100, deep_piece_depths=(1, 2, 4, 8, 16),
                                 traj_depth=16, traj_width=512, traj_points=8000, traj_seeds=tuple(range(6)),
                                 tree_train=20000, seeds=tuple(range(6)),
                                 train=TrainSpec(optimizer="adam", lr=3e-3, batch_size=100, steps=6000, loss="mse",
                                                 schedule="cosine", eval_points=5)),
    },
    run=run, claims=claims, figures=figures,
)
