"""A small sweep for the executor tests: population cells (the real engine), a phase whose child reads its parent's
state, a cell that writes a data file another cell trains on (a path into the store), and a merge that reads them
all. With ``trace``, every outer cell appends ``<key> <pid> <time>`` to that file when it starts, so a test can count how
often each was computed and find the worker process computing one; ``sleep`` slows each cell (seconds).

    python tests/ray_sweep.py OUT ADDRESS [TRACE SLEEP]   # the sweep on the Ray cluster at ADDRESS (a driver to kill)
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from whynets.data import DataSpec, save_tensors_file
from whynets.engine import TrainSpec
from whynets.experiments.context import Context
from whynets.models import ModelSpec
from whynets.spec import Spec
from whynets.store import RunStore

DATA = DataSpec(name="mnist1d", n_train=200, n_test=100)
TRAIN = TrainSpec(steps=30, batch_size=50, lr=0.05, eval_every=10)


@dataclass(frozen=True)
class SweepSpec(Spec):
    size: int = 3


def sweep(ctx: Context, trace: str | None = None, sleep: float = 0.0) -> dict:
    def traced(fn):
        def run(folder: Path) -> dict:
            if trace:
                with open(trace, "a") as f:
                    f.write(f"{folder.name} {os.getpid()} {time.time()}\n")
            time.sleep(sleep)
            return fn(folder)
        return run

    out = {}
    widths = (8, 16, 32)
    trained = [ctx.cell({"width": w}, traced(lambda f, w=w: _train(ctx, w)), width=w) for w in widths]
    phase = ctx.cell({"phase": "first"}, traced(lambda f: _phase(ctx)), what="phase")
    teacher = ctx.cell({"teacher": 1}, traced(_teacher_file), what="teacher-file")
    child = ctx.cell({"phase": "second"}, traced(lambda f: _child(ctx, phase)), parent=phase["cell"])
    student = ctx.cell({"student": 1}, traced(lambda f: _student(ctx, teacher)), teacher=teacher["cell"])
    out["widths"] = [r["acc"] for r in trained]
    out["child"], out["student"] = child["acc"], student["acc"]
    return out


def _train(ctx: Context, width: int) -> dict:
    r = ctx.train({"w": width}, ModelSpec(width=width), DATA, TRAIN, [0, 1])
    return {"acc": r["final"]["test_acc"], "history": r["history"]}


def _phase(ctx: Context) -> dict:
    r = ctx.train({"phase": 1}, ModelSpec(width=16), DATA, TRAIN, [3], until=15)
    return {"cell": r["cell"], "acc": r["final"]["test_acc"]}


def _child(ctx: Context, phase: dict) -> dict:
    r = ctx.train({"phase": 2}, ModelSpec(width=16), DATA, TRAIN, [3], parent={"cell": phase["cell"]})
    return {"acc": r["final"]["test_acc"], "from": phase["cell"]}


def _teacher_file(folder: Path) -> dict:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(120, 40, generator=g)
    y = (x[:, :4].sum(1) > 0).long()
    save_tensors_file(folder / "data.safetensors", x=x[:80].numpy(), y=y[:80].numpy(), x_test=x[80:].numpy(),
                      y_test=y[80:].numpy())
    return {"file": "data.safetensors", "mean": float(np.mean(x.numpy())), "cell": folder.name}


def _student(ctx: Context, teacher: dict) -> dict:
    data = DataSpec(name="safetensors", path=str(ctx.store.cell_dir(teacher["cell"]) / teacher["file"]))
    r = ctx.train({"student": 1}, ModelSpec(width=8), data, TrainSpec(steps=20, batch_size=40, lr=0.05), [0])
    return {"acc": r["final"]["test_acc"]}


def warm() -> int:
    """A task that imports what a cell needs (a test warms the cluster's workers with it)."""
    import whynets.executors.worker  # noqa: F401

    ctx = Context(None, "cpu")
    ctx.data(DATA)
    return os.getpid()


def run_sweep(out: str | Path, executor=None, trace: str | None = None, sleep: float = 0.0) -> tuple[dict, RunStore]:
    store = RunStore(out, "ray-sweep", SweepSpec())
    store.begin()
    ctx = Context(store, "cpu", executor=executor)
    return ctx.drive(lambda: sweep(ctx, trace, sleep)), store


if __name__ == "__main__":
    import ray

    from whynets.executors.ray_backend import RayExecutor

    ray.init(address=sys.argv[2], log_to_driver=False)
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    trace, sleep = (sys.argv[3], float(sys.argv[4])) if len(sys.argv) > 4 else (None, 0.0)
    result, _ = run_sweep(sys.argv[1], RayExecutor(), trace, sleep)
    print(json.dumps(result))
