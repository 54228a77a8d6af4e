"""One tiny diagnosis (questions simpler + parameters, smoke-sized recipe) shared by the tests of the user-facing
views (DataFrames, trackers, the report in a browser): computed once per test session, in a temp folder."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

TINY = dict(seeds=(0, 1), prune_rounds=1, rewind_step=10, prune_scopes=("layerwise",), student_widths=(8,),
            classical=("logistic", "knn"), spectra_boot=10, top_k=3, trace_matvecs=12, curvature_examples=200,
            transfer_factor=1)


def data():
    g = np.random.default_rng(0)
    w = g.normal(size=(12, 3))
    x = g.normal(size=(360, 12)).astype(np.float32)
    y = (x @ w + 0.5 * g.normal(size=(360, 3))).argmax(1)
    return x[:240], y[:240], x[240:], y[240:]


def trained_model() -> torch.nn.Module:
    x, y, _, _ = data()
    with torch.random.fork_rng():  # the model a user builds, seeded without touching the caller's global RNG
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(12, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net


def diagnose(out: Path):
    import whynets as wn
    from whynets.engine import TrainSpec

    return wn.diagnose(trained_model(), data(), questions=("simpler", "parameters"), out=out, device="cpu",
                       train=TrainSpec(steps=60, eval_points=2), **TINY)


@functools.lru_cache(maxsize=1)
def shared():
    """The session's tiny diagnosis (a ``Diagnosis``; its folder holds report.html, diagnosis.json, the store)."""
    root = Path(tempfile.mkdtemp(prefix="whynets-tiny-diagnosis-"))
    atexit.register(shutil.rmtree, root, True)
    return diagnose(root)
