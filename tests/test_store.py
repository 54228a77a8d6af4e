"""Store: atomic cells, idempotence, and SIGKILL in the middle of a sweep followed by an exact resume."""

import json
import os
import signal
import subprocess
import sys
import time
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


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_equals_uninterrupted(tmp_path):
    env = dict(os.environ, WHYNETS_CHECKPOINT_SECONDS="0.2", WHYNETS_THREADS="1")
    killed, clean = tmp_path / "killed", tmp_path / "clean"

    proc = _run_cli(killed, env)
    deadline = time.time() + 120
    # wait until at least two cells are done and a later one has a checkpoint, then kill -9
    while time.time() < deadline:
        done = list(killed.glob("random-labels/*/cells/*/result.json"))
        ckpts = list(killed.glob("random-labels/*/cells/*/checkpoint.pt"))
        if len(done) >= 2 and ckpts:
            break
        if proc.poll() is not None:
            pytest.fail("the run finished before it could be killed:\n" + proc.stdout.read())
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(killed.glob("random-labels/*/cells/*/result.json")))
    assert done_before >= 2
    assert not list(killed.glob("random-labels/*/results.json"))  # no final result from a killed run

    resumed = _run_cli(killed, env)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    uninterrupted = _run_cli(clean, env)
    assert uninterrupted.wait(timeout=300) == 0, uninterrupted.stdout.read()

    (rec_k,) = [read_json(p) for p in killed.glob("random-labels/*/results.json")]
    (rec_c,) = [read_json(p) for p in clean.glob("random-labels/*/results.json")]
    total = rec_c["cells"]["computed"]
    assert total == 6
    # nothing already done was recomputed
    assert rec_k["cells"]["loaded"] == done_before and rec_k["cells"]["computed"] == total - done_before
    assert _strip_timing(rec_k["results"]) == _strip_timing(rec_c["results"])
    assert json.dumps(_strip_timing(rec_k["claims"])) == json.dumps(_strip_timing(rec_c["claims"]))
