"""``whynets bench diagnose``: the questions of ``diagnose`` on three models whynets did not build, each
question's wall time beside the estimate ``diagnose`` printed before it started — on an empty store, then again
on the store that now holds every cell (the estimate must see that nothing is left to do).

Models (factories in this module, as a user's would be; data built here, nothing downloaded):
  (a) ``cnn``: a 2-D CNN with BatchNorm on scikit-learn's digits (8×8 images, 10 classes), ~6k parameters —
      the issue's target: the four questions in <= 10 minutes on 2 cores;
  (b) ``gru``: a GRU sequence classifier (vmap cannot batch it: re-trainings run member by member);
  (c) ``regressor``: a LayerNorm residual MLP regressing a smooth function of 16 inputs.
Each user model is trained here first (Adam, 600 steps), then diagnosed with the default settings (``--quick``:
smoke settings, for the tests). The wall compared with the estimate runs from the moment the estimate is printed to
the report written (what the estimate predicts; timing the estimate itself takes a few seconds before it). Lines:
``<model> <question> wall <s> estimate <s> ratio <estimate/wall>``; then
the worst ratio over fresh runs; last line ``speedup <x>`` with x = 600 s / the CNN's four-question wall (>= 1:
within the 10-minute target).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

__all__ = ["run", "DEVICES", "cnn", "gru", "regressor"]

DEVICES = ("cpu",)
QUESTIONS = ("simpler", "overparameterization", "bound", "parameters", "recommend")
FOUR = QUESTIONS[:4]  # the target: these four in <= 10 minutes on the CNN
SMOKE = ("train.steps=30", "train.eval_points=2", "seeds=0,1", "prune_rounds=1", "rewind_step=5",
         "prune_scopes=layerwise", "student_widths=8", "classical=logistic,ridge,knn", "spectra_boot=5", "top_k=2",
         "trace_matvecs=6", "curvature_examples=100", "transfer_factor=1", "width_factors=0.5,1",
         "pac_bayes_iters=20", "subspace_dims=8", "subspace_levels=4")


class _CNN(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
                                      nn.Conv2d(hidden, 2 * hidden, 3, padding=1), nn.BatchNorm2d(2 * hidden), nn.ReLU())
        self.head = nn.Linear(2 * hidden, 10)

    def forward(self, x):
        return self.head(self.features(x.reshape(len(x), 1, 8, 8)).mean((2, 3)))


class _GRU(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.rnn = nn.GRU(3, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 3)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(len(x), 8, 3))
        return self.head(out[:, -1])


class _Regressor(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.inp, self.norm = nn.Linear(16, hidden), nn.LayerNorm(hidden)
        self.block, self.out = nn.Linear(hidden, hidden), nn.Linear(hidden, 1)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        return self.out(h + torch.tanh(self.block(self.norm(h))))


def cnn(hidden: int = 16) -> nn.Module:
    """~6k parameters at hidden=16."""
    return _CNN(hidden)


def gru(hidden: int = 32) -> nn.Module:
    return _GRU(hidden)


def regressor(hidden: int = 64) -> nn.Module:
    return _Regressor(hidden)


def _data(name: str, quick: bool) -> dict[str, np.ndarray]:
    g = np.random.default_rng(0)
    if name == "cnn":
        from sklearn.datasets import load_digits

        d = load_digits()
        idx = g.permutation(len(d.target))
        x, y = (d.data[idx] / 16).astype(np.float32), d.target[idx].astype(np.int64)
        n = 300 if quick else 1297
    elif name == "gru":
        n_all = 400 if quick else 3000
        seq = g.normal(size=(n_all, 8, 3)).astype(np.float32)
        x, y = seq.reshape(n_all, -1), seq[:, 4:].sum(1).argmax(1)
        n = n_all * 2 // 3
    else:
        n_all = 400 if quick else 3000
        x = g.normal(size=(n_all, 16)).astype(np.float32)
        y = np.sin(x @ (g.normal(size=16) / 4)).astype(np.float32) + 0.1 * g.normal(size=n_all).astype(np.float32)
        n = n_all * 2 // 3
    return {"x": x[:n], "y": y[:n], "x_test": x[n:], "y_test": y[n:]}


def _user_model(name: str, data: dict[str, np.ndarray], steps: int) -> nn.Module:
    torch.manual_seed(1)
    net = {"cnn": cnn, "gru": gru, "regressor": regressor}[name]()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    x, y = torch.tensor(data["x"]), torch.tensor(data["y"])
    for step in range(steps):
        idx = torch.randint(len(x), (100,), generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        out = net(x[idx])
        loss = ((out[:, 0] - y[idx]) ** 2).mean() if y.is_floating_point() else nn.functional.cross_entropy(out, y[idx])
        loss.backward()
        opt.step()
    return net.eval()


def _diagnose(name: str, folder: Path, quick: bool) -> dict:
    from safetensors.torch import save_file

    from whynets.data import DataSpec
    from whynets.diagnosis import DiagnoseSpec, run_diagnosis
    from whynets.models import ModelSpec

    data = _data(name, quick)
    np.savez(folder / f"{name}.npz", **data)
    net = _user_model(name, data, 100 if quick else 600)
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(folder / f"{name}.safetensors"))
    spec = DiagnoseSpec(model=ModelSpec(kind="factory", factory=f"whynets.bench.diagnose:{name}"),
                        data=DataSpec(name="npz", path=str(folder / f"{name}.npz")),
                        weights=str(folder / f"{name}.safetensors"), width_arg="hidden", questions=QUESTIONS)
    if quick:
        spec = spec.override(list(SMOKE))
    runs = []
    for attempt in ("fresh", "stored"):
        started = time.perf_counter()
        record = run_diagnosis(spec, folder / f"diag-{name}", "cpu").record
        runs.append({"attempt": attempt, "wall": record["wall_after_estimate"],
                     "whole": time.perf_counter() - started, "walls": record["walls"],
                     "estimate": record["estimate"], "params": record["reference"]["params"]})
    return {"name": name, "runs": runs}


def run(out: Callable[[str], None] = print, quick: bool = False, device: str = "cpu") -> None:
    worst, cnn_wall = 0.0, math.nan
    with tempfile.TemporaryDirectory(prefix="whynets-bench-diagnose-") as tmp:
        for name in ("cnn", "gru", "regressor"):
            res = _diagnose(name, Path(tmp), quick)
            for r in res["runs"]:
                total_est = r["estimate"]["total"]
                out(f"{name} ({r['params']} parameters), {r['attempt']} store: wall {r['wall']:.1f} s after the "
                    f"estimate was printed ({r['whole']:.1f} s in all), estimate {total_est:.1f} s, ratio "
                    f"{total_est / r['wall']:.2f}")
                for q in QUESTIONS:
                    wall, est = r["walls"][q], r["estimate"][q]
                    ratio = est / wall if wall > 0 else math.nan
                    out(f"  {name} {q:22s} wall {wall:7.1f} s  estimate {est:7.1f} s  ratio {ratio:.2f}")
                if r["attempt"] == "fresh":
                    worst = max(worst, abs(math.log(total_est / r["wall"])))
                    if name == "cnn":
                        cnn_wall = sum(r["walls"][q] for q in FOUR)
    out(f"worst estimate/wall over the fresh runs: within a factor {math.exp(worst):.2f} (target: 1.25)")
    out(f"cnn: the four questions took {cnn_wall:.0f} s (target: <= 600 s)")
    out(f"speedup {600 / cnn_wall:.2f}")
