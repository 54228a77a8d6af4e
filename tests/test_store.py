"""Store: atomic cells, idempotence, keys computed from what a cell consumes (faults: tests/test_faults.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from whynets.store import RunStore, atomic_write_json, cell_key, read_json
from whynets.data import DataSpec

SWEEP = ["--set", "noise=0,0.5,1", "--set", "corruptions=gaussian,random-pixels", "--set", "train.steps=150",
         "--set", "train.eval_points=6", "--set", "data.n_train=400", "--set", "model.width=32", "--set", "seeds=0"]


def _run_cli(out: Path, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "whynets.cli.main", "run", "random-labels", "--preset", "smoke", "--out", str(out), *SWEEP]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _strip_timing(obj):
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k not in ("wall_s",)}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def test_cell_runs_once_and_writes_atomically(tmp_path):
    store = RunStore(tmp_path, "toy", DataSpec())
    store.begin()
    calls = []
    key = cell_key({"a": 1, "b": "x y"}, data=DataSpec())
    assert " " not in key
    r1 = store.cell(key, lambda d: calls.append(d) or {"v": 1.5})
    r2 = store.cell(key, lambda d: calls.append(d) or {"v": 99})
    assert r1 == r2 == {"v": 1.5} and len(calls) == 1
    assert store.computed == [key] and store.loaded == [key]
    assert not list(tmp_path.rglob(".*tmp*"))  # no temp files left behind
    atomic_write_json(tmp_path / "a.json", {"k": [1, 2]})
    assert read_json(tmp_path / "a.json") == {"k": [1, 2]}


def test_failing_cell_leaves_no_result(tmp_path):
    store = RunStore(tmp_path, "toy", DataSpec())
    with pytest.raises(RuntimeError):
        store.cell("c", lambda d: (_ for _ in ()).throw(RuntimeError("boom")))
    assert not store.has_cell("c")


def test_seed_blocks_merge_to_the_joint_population(tmp_path):
    """Seeds trained in blocks (each block a cell) merge to the result of one population with every member, and a
    run with more seeds reuses the blocks it shares."""
    from whynets.engine import TrainSpec
    from whynets.experiments.context import Context
    from whynets.models import ModelSpec

    data = DataSpec(n_train=200, n_test=100)
    spec = TrainSpec(steps=60, eval_every=20, fit_acc=0.5, fit_check_every=10, stop_at_fit=True)
    joint = Context(RunStore(tmp_path / "a", "toy", data)).train({"x": 1}, ModelSpec(width=16), data, spec, [0, 1, 2, 3])
    store = RunStore(tmp_path / "b", "toy", data)
    small = Context(store, seed_block=2).train({"x": 1}, ModelSpec(width=16), data, spec, [0, 1])
    blocks = Context(store, seed_block=2).train({"x": 1}, ModelSpec(width=16), data, spec, [0, 1, 2, 3])
    assert store.computed == [small["cell"], blocks["blocks"][1]]  # the first block was reused
    assert blocks["fit_step"] == joint["fit_step"] and [r["step"] for r in blocks["history"]] == \
        [r["step"] for r in joint["history"]]
    for a, b in zip(blocks["history"], joint["history"]):
        assert a["test_acc"] == b["test_acc"] and a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
