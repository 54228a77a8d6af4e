"""Fault injection: the store survives kills, company, full disks, read-only mounts, damaged files and payloads.

* SIGKILL at 20+ random points across one small sweep (each run killed, then resumed), ending in results AND
  metrics equal to an uninterrupted run;
* two and four concurrent `whynets run` of one spec on one store: every cell computed once, equal results;
* a full disk, simulated by a filesystem that raises ENOSPC at the n-th write, for every n: a one-line error that
  says so, no temp file left, and a rerun that finishes with results equal to a clean run;
* a finished store that cannot be written: `run` and `report` read it (report writes elsewhere);
* damaged cell files (empty/truncated checkpoint, empty result.json, damaged parent state): moved aside, recomputed;
* payload files (a pickle whose unpickling would write a marker) for every loader: refused, marker never written.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import whynets as wn
from whynets.store import StoreError

SWEEP = ["noise=0,0.5,1", "corruptions=gaussian,random-pixels", "train.steps=150", "train.eval_points=6",
         "data.n_train=400", "model.width=32", "seeds=0"]
SLOW_SWEEP = SWEEP[:2] + ["train.steps=600", "train.eval_points=8", "data.n_train=400", "model.width=64", "seeds=0,1",
                          "train.fit_acc=0", "train.stop_at_fit=false"]


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in ("wall_s", "cpu_s", "time", "pid")}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _record(out: Path) -> dict:
    (path,) = list(out.glob("random-labels/*/results.json"))
    return json.loads(path.read_text())


def _metrics(out: Path) -> list[dict]:
    (path,) = list(out.glob("random-labels/*/metrics.jsonl"))
    return [_strip(json.loads(line)) for line in path.read_text().splitlines()]


def _temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if ".tmp" in p.name]


def _cli(out: Path, overrides: list[str], env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "whynets.cli.main", "run", "random-labels", "--preset", "smoke", "--out", str(out),
           "--no-escalate"] + [a for o in overrides for a in ("--set", o)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_sigkill_at_twenty_random_points_then_resume_equals_uninterrupted(tmp_path):
    env = dict(os.environ, WHYNETS_CHECKPOINT_SECONDS="0.1", WHYNETS_THREADS="1")
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    started = time.perf_counter()
    assert _cli(clean, SLOW_SWEEP, env).wait(timeout=600) == 0
    duration = time.perf_counter() - started
    rng, kills = random.Random(0), 0
    while kills < 20:
        proc = _cli(killed, SLOW_SWEEP, env)
        delay = rng.uniform(0.8, max(1.2, duration / 5))  # start-up takes ~1-2 s: kills land in it and after it
        try:
            proc.wait(timeout=delay)
            if list(killed.glob("random-labels/*/results.json")):
                break  # it finished before this kill point
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            assert not list(killed.glob("random-labels/*/results.json"))  # no final result from a killed run
    resumed = _cli(killed, SLOW_SWEEP, env)
    assert resumed.wait(timeout=600) == 0, resumed.stdout.read()
    assert kills >= 20
    a, b = _record(killed), _record(clean)
    assert _strip(a["results"]) == _strip(b["results"])
    assert json.dumps(_strip(a["claims"])) == json.dumps(_strip(b["claims"]))
    assert _metrics(killed) == _metrics(clean)  # no row lost, none repeated
    assert not _temp_files(killed)


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 4])
def test_concurrent_runs_share_the_store(tmp_path, n):
    env = dict(os.environ, WHYNETS_THREADS="1")
    procs = [_cli(tmp_path, SWEEP, env) for _ in range(n)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    total = len(list(tmp_path.glob("random-labels/cells/*/result.json")))
    computed = [int(o.split("cells computed: ")[1].split(",")[0]) for o in outputs if "cells computed: " in o]
    assert len(computed) == n
    assert sum(computed) == total  # every cell computed exactly once over all the processes
    alone = tmp_path / "alone"
    assert _cli(alone, SWEEP, env).wait(timeout=600) == 0
    assert _strip(_record(tmp_path)["results"]) == _strip(_record(alone)["results"])
    assert not _temp_files(tmp_path)


class FullDisk:
    """A filesystem that raises ENOSPC at the n-th write (files opened for writing, safetensors, PNGs)."""

    def __init__(self, monkeypatch, fail_at: int):
        self.count, self.fail_at = 0, fail_at
        import builtins

        import matplotlib.figure
        import safetensors.torch

        import whynets.fileio as io
        real_open, real_save, real_fig = builtins.open, safetensors.torch.save_file, matplotlib.figure.Figure.savefig

        def tick(what: str) -> None:
            self.count += 1
            if self.count == self.fail_at:
                raise OSError(errno.ENOSPC, "No space left on device", what)

        def fake_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax"):
                tick(str(file))
            return real_open(file, mode, *args, **kwargs)

        def fake_save(tensors, filename, *args, **kwargs):
            tick(str(filename))
            return real_save(tensors, filename, *args, **kwargs)

        def fake_fig(fig, fname, *args, **kwargs):
            tick(str(fname))
            return real_fig(fig, fname, *args, **kwargs)

        monkeypatch.setattr(io, "open", fake_open, raising=False)
        monkeypatch.setattr(safetensors.torch, "save_file", fake_save)
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fake_fig)


def test_full_disk_at_every_write_says_so_cleans_up_and_resumes(tmp_path, monkeypatch):
    clean = wn.run("random-labels", preset="smoke", overrides=SWEEP, out=tmp_path / "clean", device="cpu",
                   escalate=False)
    with monkeypatch.context() as m:
        counter = FullDisk(m, fail_at=0)
        wn.run("random-labels", preset="smoke", overrides=SWEEP, out=tmp_path / "count", device="cpu", escalate=False)
        writes = counter.count
    assert writes > 20
    # every write of the first ten and of the last ten (the run's setup and its final results, reports and
    # renames), every third one between: each kind of write the sweep makes is hit at least once (the cells' writes
    # repeat with every cell); tests/test_faults_real.py fills a real filesystem mid-write as well
    points = sorted(set(range(1, 11)) | set(range(11, writes - 9, 3)) | set(range(max(1, writes - 9), writes + 1)))
    for n in points:
        out = tmp_path / f"full{n}"
        with monkeypatch.context() as m:
            FullDisk(m, fail_at=n)
            with pytest.raises(StoreError, match="no space left on"):
                wn.run("random-labels", preset="smoke", overrides=SWEEP, out=out, device="cpu", escalate=False)
        assert not _temp_files(out), n
        again = wn.run("random-labels", preset="smoke", overrides=SWEEP, out=out, device="cpu", escalate=False)
        assert _strip(again["results"]) == _strip(clean["results"]), n
        assert _metrics(out) == _metrics(tmp_path / "clean"), n


def test_full_disk_error_is_one_line_in_the_cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from whynets.cli.main import app

    with monkeypatch.context() as m:
        FullDisk(m, fail_at=3)
        res = CliRunner().invoke(app, ["run", "random-labels", "--preset", "smoke", "--out", str(tmp_path),
                                       "--no-escalate"])
    assert res.exit_code == 2 and "no space left on" in res.output and "Traceback" not in res.output


def test_read_only_store_is_read_not_written(tmp_path, monkeypatch):
    out = tmp_path / "store"
    first = wn.run("random-labels", preset="smoke", overrides=SWEEP, out=out, device="cpu", escalate=False)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    import whynets.report.build as build
    import whynets.store as store_mod

    def no_writes(*args, **kwargs):
        raise AssertionError("a write to a read-only store")

    with monkeypatch.context() as m:  # as root, chmod does not stop writes: forbid them instead
        m.setattr(store_mod, "is_writable", lambda p: False)
        m.setattr(build, "is_writable", lambda p: False)
        m.setattr(store_mod, "atomic_write_json", no_writes)
        m.setattr(store_mod, "atomic_write_text", no_writes)
        again = wn.run("random-labels", preset="smoke", overrides=SWEEP, out=out, device="cpu", escalate=False)
        paths = wn.report.build_report(out, out=tmp_path / "elsewhere")
    assert _strip(again["results"]) == _strip(first["results"]) and again["cells"]["computed"] == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before  # nothing touched
    assert paths["html"].exists() and paths["html"].parent == tmp_path / "elsewhere"


def _first_cell(out: Path) -> Path:
    return sorted((out / "random-labels" / "cells").iterdir())[0]


@pytest.mark.parametrize("damage", ["empty-result", "garbage-result", "empty-checkpoint", "truncated-checkpoint",
                                    "pickle-checkpoint"])
def test_damaged_cell_files_are_moved_aside_and_recomputed(tmp_path, damage):
    out = tmp_path / "s"
    clean = wn.run("random-labels", preset="smoke", overrides=SWEEP, out=out, device="cpu", escalate=False)
    cell = _first_cell(out)
    result = cell / "result.json"
    marker = tmp_path / "PWNED"
    if damage == "empty-result":
        result.write_text("")
    elif damage == "garbage-result":
        result.write_text("{not json")
    else:  # a checkpoint of an unfinished cell
        result.unlink()
        ckpt = cell / "checkpoint.safetensors"
        if damage == "empty-checkpoint":
            ckpt.write_bytes(b"")
        elif damage == "truncated-checkpoint":
            ckpt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
        else:
            ckpt.write_bytes(pickle.dumps(_Payload(marker)))
    said = []
    again = wn.run("random-labels", preset="smoke", overrides=SWEEP, out=out, device="cpu", escalate=False,
                   log=said.append)
    assert again["cells"]["computed"] == 1
    assert _strip(again["results"]) == _strip(clean["results"])
    assert list(cell.glob("*.corrupt-*")) and any("moved aside" in s for s in said)
    assert not marker.exists()


class _Payload:
    """Unpickling this writes a marker file: proof that a loader executed what a file held."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_damaged_parent_state_is_moved_aside_and_recomputed(tmp_path):
    out = tmp_path / "s"
    wn.run("critical-periods", preset="smoke", out=out, device="cpu", escalate=False)
    cells = out / "critical-periods" / "cells"
    parent = next(p for p in cells.iterdir() if "until_epoch=2" in p.name and "blur" in p.name)
    (parent / "state.safetensors").write_bytes(b"garbage")
    for child in cells.iterdir():  # the children must now be computed: remove their results
        if "remove_epoch" in child.name:
            (child / "result.json").unlink()
    again = wn.run("critical-periods", preset="smoke", out=out, device="cpu", escalate=False)
    assert again["cells"]["computed"] >= 2
    assert list(parent.glob("state.safetensors.corrupt-*"))


def test_every_loader_refuses_a_pickle_payload(tmp_path):
    from whynets.data import load_npz
    from whynets.data.dataset import DataError
    from whynets.engine.state import CheckpointError, load_state, load_tensors

    marker = tmp_path / "PWNED"
    payload = pickle.dumps(_Payload(marker))
    for name in ("checkpoint.safetensors", "state.safetensors", "params.pt"):
        (tmp_path / name).write_bytes(payload)
        for loader in (load_state, load_tensors):
            with pytest.raises(CheckpointError, match="pickle"):
                loader(tmp_path / name)
    (tmp_path / "data.npz").write_bytes(payload)
    with pytest.raises(DataError, match="pickle"):
        load_npz(tmp_path / "data.npz")
    # a real .npz whose field is an object array (only unpickling could read it)
    import numpy as np

    np.savez(tmp_path / "obj.npz", x=np.array([_Payload(marker)] * 4, dtype=object), y=np.arange(4))
    with pytest.raises(DataError, match="Python objects"):
        load_npz(tmp_path / "obj.npz")
    assert not marker.exists()


def test_user_data_changed_under_the_same_path_is_recomputed(tmp_path):
    import numpy as np

    path = tmp_path / "mine.npz"
    g = np.random.default_rng(0)
    np.savez(path, x=g.normal(size=(200, 40)), y=g.integers(0, 3, 200))
    args = dict(preset="smoke", out=tmp_path / "s", device="cpu", escalate=False,
                overrides=["data.name=npz", f"data.path={path}", "data.n_train=0", "data.n_test=0", "models=logistic",
                           "shuffled=false"])
    first = wn.run("baselines", **args)
    np.savez(path, x=g.normal(size=(200, 40)), y=g.integers(0, 3, 200))  # same path, new content
    second = wn.run("baselines", **args)
    assert second["cells"]["computed"] == first["cells"]["computed"] > 0
    assert second["results"] != first["results"]


def test_failed_run_is_marked_and_reported_as_incomplete(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from whynets.cli.main import app
    from whynets.experiments import get

    experiment = get("random-labels")
    boom = lambda spec, ctx: (_ for _ in ()).throw(RuntimeError("boom"))  # noqa: E731
    import dataclasses

    import whynets.runner as runner
    monkeypatch.setattr(runner, "get", lambda name: dataclasses.replace(experiment, run=boom))
    with pytest.raises(RuntimeError):
        wn.run("random-labels", preset="smoke", out=tmp_path, device="cpu", escalate=False)
    (status,) = list(tmp_path.glob("random-labels/*/status.json"))
    assert json.loads(status.read_text())["state"] == "failed"
    monkeypatch.undo()
    wn.run("min-norm", preset="smoke", out=tmp_path, device="cpu", escalate=False)
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0 and "incomplete run" in res.output and "boom" in res.output
