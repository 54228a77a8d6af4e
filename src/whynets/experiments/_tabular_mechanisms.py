"""The mechanism panel of ``small-tabular``: generated tables in Grinsztajn et al.'s size range (~10K training rows)
that switch their three mechanisms on and off, and an MLP against boosted trees on each.

Grinsztajn, Oyallon & Varoquaux 2022 explain why trees beat MLPs on medium-sized tabular data (~10K samples) by
three findings: (1) neural nets are biased to overly smooth solutions, and tabular targets are irregular; (2)
uninformative features hurt MLP-like nets more than trees; (3) tabular data are not invariant by rotation, and an
MLP is (its training is), while trees exploit the axes. A table here (binary labels, balanced):

* ``informative`` features x_j ~ N(0, 1); an additive score f(x) = Σ_j h_j(x_j) with h_j a random step function
  (``bins`` equal-width bins over [−2.5, 2.5], heights ~ N(0, 1), drawn from the table's seed): axis-aligned and
  irregular. Smooth: each h_j convolved with a Gaussian of width ``smooth_bandwidth`` (Grinsztajn et al. smooth the
  targets with a Gaussian kernel), the same steps made smooth. The label is f(x) > median(f);
* uninformative: ``uninformative`` more N(0, 1) features, independent of the label;
* rotated: every feature vector multiplied by one random orthogonal matrix (Haar, from the table's seed).

Four conditions per seed: smooth (all off), irregular, irregular + uninformative features (the typical table), and
irregular + rotated; the same seed draws the same step functions and inputs in all four, so the conditions are
paired. Each condition: an MLP (each of ``lrs``, early-stopped on ``n_val`` validation rows, the config with the
lowest validation loss) and HistGradientBoosting (``solvers.classical``, fitted on the same fitting rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from whynets.data import DataSpec, save_tensors_file
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.solvers.classical import classical_baselines
from whynets.spec import Spec, SpecError

__all__ = ["MechanismSpec", "CONDITIONS", "make_table", "mechanism_panel"]

# name: (irregular, uninformative, rotated)
CONDITIONS = {"smooth": (False, False, False), "irregular": (True, False, False),
              "uninformative": (True, True, False), "rotated": (True, False, True)}


@dataclass(frozen=True)
class MechanismSpec(Spec):
    # 6 seeds: the MLP's rotation invariance (±2 points) needs them; at 3 its interval is ~±3 (quick, 2026-12)
    seeds: tuple[int, ...] = field(default=tuple(range(6)), metadata={"help": "table seeds (one table per condition "
                                                                            "each)"})
    n_train: int = field(default=10000, metadata={"help": "training rows, the MLP's validation rows included "
                                                           "(Grinsztajn et al.: ~10K)"})
    n_val: int = field(default=2000, metadata={"help": "of n_train, the MLP's validation rows (early stopping)"})
    n_test: int = field(default=2000, metadata={"help": "test rows"})
    informative: int = field(default=8, metadata={"help": "features the label depends on"})
    uninformative: int = field(default=24, metadata={"help": "features added, independent of the label"})
    bins: int = field(default=8, metadata={"help": "steps of each feature's step function"})
    smooth_bandwidth: float = field(default=0.5, metadata={"help": "Gaussian smoothing of the steps (x ~ N(0, 1))"})
    width: int = field(default=128, metadata={"help": "MLP hidden units"})
    depth: int = field(default=2, metadata={"help": "MLP hidden layers"})
    # quick, 2026-12: of (1e-3, 3e-3) over 1000 steps 3e-3 won in all 24 tables, often at the last step: one rate,
    # longer; Adam, batch 128, 1500 steps = 24 epochs of the 8000 fitting rows; validation loss every 50 steps
    lrs: tuple[float, ...] = field(default=(3e-3,), metadata={"help": "Adam learning rates (the lowest validation "
                                                                      "loss wins)"})
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="adam", batch_size=128, steps=1500,
                                                               eval_every=50))

    def validate(self) -> None:
        super().validate()
        if not 0 < self.n_val < self.n_train or self.n_test < 1 or self.informative < 1 or self.uninformative < 1:
            raise SpecError(f"mechanisms: need 0 < n_val={self.n_val} < n_train={self.n_train}, n_test >= 1, "
                            f"informative >= 1 and uninformative >= 1")
        if self.bins < 2 or self.smooth_bandwidth <= 0 or not self.lrs:
            raise SpecError(f"mechanisms: bins={self.bins} >= 2, smooth_bandwidth > 0 and lrs needed")


def make_table(spec: MechanismSpec, seed: int, irregular: bool, uninformative: bool, rotated: bool
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, x_test, y_test) of one generated table (float32 features, int64 labels); the validation rows are the
    last ``n_val`` of x. One seed draws the same inputs and step functions whatever the switches."""
    rng = np.random.default_rng([seed, 20220718])
    n = spec.n_train + spec.n_test
    x = rng.standard_normal((n, spec.informative))
    edges = np.linspace(-2.5, 2.5, spec.bins + 1)[1:-1]
    heights = rng.standard_normal((spec.informative, spec.bins))
    noise = rng.standard_normal((n, spec.uninformative))
    rotations = {d: _haar(rng, d) for d in (spec.informative, spec.informative + spec.uninformative)}
    if irregular:
        f = sum(heights[j][np.searchsorted(edges, x[:, j])] for j in range(spec.informative))
    else:  # E over u ~ N(x_j, bandwidth²) of h_j(u), by 81-point quadrature
        grid = np.linspace(-4.0, 4.0, 81)
        w = np.exp(-grid ** 2 / 2)
        w /= w.sum()
        f = sum(wk * heights[j][np.searchsorted(edges, x[:, j] + spec.smooth_bandwidth * gk)]
                for j in range(spec.informative) for gk, wk in zip(grid, w))
    y = (f > np.median(f)).astype(np.int64)
    if uninformative:
        x = np.concatenate([x, noise], 1)
    if rotated:
        x = x @ rotations[x.shape[1]]
    x = x.astype(np.float32)
    return x[:spec.n_train], y[:spec.n_train], x[spec.n_train:], y[spec.n_train:]


def _haar(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random orthogonal d × d matrix, Haar-distributed (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _table_cell(ctx, spec: MechanismSpec, seed: int, name: str) -> DataSpec:
    """A cell writes the table; the DataSpec that reads it (the last n_val training rows: validation)."""
    def fn(cell_dir: Path) -> dict[str, Any]:
        x, y, xt, yt = make_table(spec, seed, *CONDITIONS[name])
        save_tensors_file(cell_dir / "table.safetensors", x=x, y=y, x_test=xt, y_test=yt)
        return {"cell": cell_dir.name, "file": "table.safetensors"}

    table = {k: getattr(spec, k) for k in ("n_train", "n_test", "informative", "uninformative", "bins",
                                           "smooth_bandwidth")}
    out = ctx.cell({"mechanism": name, "table_seed": seed}, fn, table=table, switches=list(CONDITIONS[name]))
    return DataSpec(name="safetensors", path=str(ctx.store.cell_dir(out["cell"]) / out["file"]), holdout=spec.n_val)


def _condition(ctx, spec: MechanismSpec, seed: int, name: str, probe) -> dict[str, Any]:
    """The MLP (its lowest-validation-loss config and step) and the boosted trees on one table: test accuracy (%)."""
    data = _table_cell(ctx, spec, seed, name)
    model = ModelSpec(kind="mlp", width=spec.width, depth=spec.depth)
    best = None
    for lr in spec.lrs:
        out = ctx.train({"mechanism": name, "table_seed": seed, "lr": lr}, model, data, replace(spec.train, lr=lr),
                        [seed], probe=probe)
        hist = out["history"]
        i = min(range(len(hist)), key=lambda k: (_finite(hist[k]["val_loss"][0]), k))
        row = {"lr": lr, "val_loss": hist[i]["val_loss"][0], "test_acc": 100 * hist[i]["test_acc"][0],
               "step": hist[i]["step"]}
        best = row if best is None or _finite(row["val_loss"]) < _finite(best["val_loss"]) else best

    def trees(_: Path) -> dict[str, Any]:
        ds = ctx.data(data)
        r = classical_baselines(ds.x.numpy(), ds.y.numpy(), ds.x_test.numpy(), ds.y_test.numpy(),
                                which=("boosted_trees",), seed=seed, threads=torch.get_num_threads())[0]
        return {"test_acc": 100 * r.test_score, "train_acc": 100 * r.train_score}

    tree = ctx.cell({"mechanism": name, "table_seed": seed, "part": "boosted-trees"}, trees, data=data)
    return {"mlp": best, "trees": tree["test_acc"]}


def _finite(value: float | None) -> float:
    return value if value is not None and np.isfinite(value) else float("inf")


def mechanism_panel(ctx, spec: MechanismSpec, probe) -> dict[str, Any]:
    """Per condition, per seed: the MLP's and the trees' test accuracy (%)."""
    out: dict[str, Any] = {"seeds": list(spec.seeds), "n_train": spec.n_train, "conditions": {}}
    for name in CONDITIONS:
        rows = [_condition(ctx, spec, s, name, probe) for s in spec.seeds]
        out["conditions"][name] = {"mlp": [r["mlp"]["test_acc"] for r in rows], "trees": [r["trees"] for r in rows],
                                   "mlp_config": [{k: r["mlp"][k] for k in ("lr", "step")} for r in rows]}
    return out
