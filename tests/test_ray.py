"""Sweeps on Ray (``--backend ray``), on a local cluster shared by these tests (``ray.init(num_cpus=2)``):

* a sweep on Ray equals the same sweep run here, cell for cell (results, metrics, every file a cell wrote), with the
  driver the only writer of the store (the default) and with workers writing a shared store;
* a finished store submits nothing;
* a worker killed mid-sweep (SIGKILL): the sweep finishes, nothing lost, and no cell that was stored is computed
  again (only the killed one runs twice, by Ray's retry);
* a driver killed mid-sweep: the same command resumes from the store;
* without Ray, ``--backend ray`` is one line saying how to install it.

The sweep (``tests/ray_sweep.py``) has population cells, a phase whose child reads its parent's state and a cell
that trains on a data file another cell wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ray_sweep  # noqa: E402


@pytest.fixture(scope="session")
def cluster():
    ray = pytest.importorskip("ray")
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(ray_sweep)  # the workers do not have tests/ on their path
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # both workers import torch and whynets once, before any test times anything
    from whynets.executors.ray_backend import RayExecutor

    warm = ray.remote(num_cpus=1)(ray_sweep.warm)
    server = RayExecutor()._server  # the driver's file server, started once
    ray.get([warm.remote() for _ in range(2)] + [server.read.remote("/nonexistent", "x", "y")])
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep run here, without Ray."""
    out = tmp_path_factory.mktemp("local")
    result, store = ray_sweep.run_sweep(out)
    return result, out


def _cells(root: Path) -> dict[str, dict]:
    """Every finished cell under a store: its result (without timings), metrics rows and other files' bytes."""
    cells = {}
    for folder in sorted((root / "ray-sweep" / "cells").iterdir()):
        if not (folder / "result.json").exists():
            continue
        envelope = json.loads((folder / "result.json").read_text())
        files = {p.name: p.read_bytes() for p in folder.iterdir()
                 if p.is_file() and not p.name.startswith(".") and p.name not in ("result.json", "metrics.jsonl")}
        cells[folder.name] = {"result": _untimed(envelope["result"]), "files": files,
                              "metrics": _untimed([json.loads(x) for x in
                                                   (folder / "metrics.jsonl").read_text().splitlines()])}
    return cells


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("wall_s", "cpu_s")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _equal_stores(a: Path, b: Path) -> None:
    ca, cb = _cells(a), _cells(b)
    assert sorted(ca) == sorted(cb)
    for key in ca:
        assert ca[key]["result"] == cb[key]["result"], key
        assert ca[key]["metrics"] == cb[key]["metrics"], key
        assert ca[key]["files"].keys() == cb[key]["files"].keys(), key
        for name in ca[key]["files"]:
            if name.endswith(".safetensors") and "state" in name:
                _same_state(a / "ray-sweep/cells" / key / name, b / "ray-sweep/cells" / key / name)
            else:
                assert ca[key]["files"][name] == cb[key]["files"][name], (key, name)


def _same_state(p: Path, q: Path) -> None:
    from safetensors.torch import load_file

    x, y = load_file(str(p)), load_file(str(q))
    assert x.keys() == y.keys()
    for k in x:
        assert x[k].equal(y[k]), k


def _trace_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        counts[line.split()[0]] = counts.get(line.split()[0], 0) + 1
    return counts


def test_sweep_on_ray_equals_local_cell_for_cell(cluster, reference, tmp_path):
    from whynets.executors.ray_backend import RayExecutor

    expected, local = reference
    ex = RayExecutor()
    result, store = ray_sweep.run_sweep(tmp_path, ex)
    assert result == expected
    _equal_stores(local, tmp_path)
    assert len(ex.submitted) == 7  # the sweep's seven outer cells; nested ones ran inside them
    again = RayExecutor()
    result2, store2 = ray_sweep.run_sweep(tmp_path, again)
    assert result2 == expected and again.submitted == [] and store2.computed == []


def test_shared_store_equals_local(cluster, reference, tmp_path):
    from whynets.executors.ray_backend import RayExecutor

    expected, local = reference
    result, _ = ray_sweep.run_sweep(tmp_path, RayExecutor(shared_store=True))
    assert result == expected
    _equal_stores(local, tmp_path)


def _stored(out: Path) -> set[str]:
    cells = out / "ray-sweep" / "cells"
    return {p.name for p in cells.iterdir() if (p / "result.json").exists()} if cells.exists() else set()


def test_worker_killed_mid_sweep(cluster, reference, tmp_path):
    from whynets.executors.ray_backend import RayExecutor

    expected, local = reference
    out, trace = tmp_path / "runs", tmp_path / "trace.txt"
    box: dict = {}
    sweep = threading.Thread(target=lambda: box.update(
        result=ray_sweep.run_sweep(out, RayExecutor(), trace=str(trace), sleep=1.0)[0]))
    sweep.start()
    deadline = time.time() + 60
    victim = None
    while victim is None and time.time() < deadline:  # a cell started after another was stored: kill its worker
        done = _stored(out)
        lines = [line.split() for line in (trace.read_text().splitlines() if trace.exists() else [])]
        # still inside its 1 s sleep (started < 0.5 s ago): a cell that has returned, its result not yet stored by
        # the driver, is not retried when its worker dies
        running = [(key, int(pid)) for key, pid, start in lines if key not in done and time.time() - float(start) < 0.5]
        if done and running:
            victim = running[-1]
        time.sleep(0.02)
    assert victim is not None, "no cell started"
    before = _stored(out)
    os.kill(victim[1], signal.SIGKILL)
    sweep.join(120)
    assert box.get("result") == expected
    _equal_stores(local, out)
    counts = _trace_counts(trace)
    assert all(counts[key] == 1 for key in before if key in counts)  # nothing stored was computed again
    assert counts[victim[0]] == 2  # the killed cell ran again (Ray's retry)


def test_driver_killed_mid_sweep_resumes(cluster, reference, tmp_path):
    expected, local = reference
    out, trace = tmp_path / "runs", tmp_path / "trace.txt"
    cmd = [sys.executable, str(HERE / "ray_sweep.py"), str(out), cluster, str(trace), "1.0"]
    driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE.parent)
    deadline = time.time() + 90
    while not _stored(out) and time.time() < deadline and driver.poll() is None:
        time.sleep(0.05)
    assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
    driver.kill()  # SIGKILL: no cleanup
    driver.wait()
    before = _stored(out)
    assert before and len(before) < len(_cells(local))
    from whynets.executors.ray_backend import RayExecutor

    result, _ = ray_sweep.run_sweep(out, RayExecutor(), str(trace), 1.0)  # the same sweep again, a new driver
    assert result == expected
    _equal_stores(local, out)
    counts = _trace_counts(trace)
    assert all(counts[key] == 1 for key in before if key in counts)


def test_without_ray_the_flag_says_how_to_install(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from whynets.cli.main import app

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as where it is not installed
    result = CliRunner().invoke(app, ["run", "min-norm", "--preset", "smoke", "--backend", "ray",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and 'pip install "whynets[ray]"' in lines[0], result.output
    assert not (tmp_path / "min-norm").exists()  # said before any work
