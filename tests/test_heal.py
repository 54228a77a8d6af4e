"""The store heals itself (issue 21, part 3): every kind of file damaged, a valid file swapped between cells, the data
cache truncated, stale temp files, and `report` on a damaged store. Each damage is met by one line that names the
file, the file moved aside (never deleted), and a result equal to the undamaged run's.

Figures are switched off in the runs here (drawing them is most of a smoke run's time and no subject of these tests);
`report` draws them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import whynets as wn

TINY = ["noise=0,1", "corruptions=gaussian", "regularized=false", "train.steps=60", "train.eval_points=4",
        "data.n_train=200", "model.width=16", "seeds=0"]


def _run(name: str, out: Path, overrides=(), log=None) -> dict:
    import whynets.runner as runner
    from whynets.experiments import get

    with pytest.MonkeyPatch.context() as m:
        m.setattr(runner, "get", lambda n: dataclasses.replace(get(n), figures=lambda *a: []))
        return wn.run(name, preset="smoke", overrides=list(overrides), out=out, device="cpu", escalate=False, log=log)


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in ("wall_s", "cpu_s", "compute_s", "time", "pid")}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, _run("random-labels", out, TINY)


def _cells(out: Path, experiment: str = "random-labels") -> list[Path]:
    return sorted((out / experiment / "cells").iterdir())


def _damage_metrics(data: bytes):
    return lambda cell, others: (cell / "metrics.jsonl").write_bytes(data(cell / "metrics.jsonl"))


def _edit_result(cell: Path, others: list[Path]) -> None:
    envelope = json.loads((cell / "result.json").read_text())
    envelope["result"]["final"]["test_acc"][0] += 0.01  # still JSON, still this cell's key: the digest tells
    (cell / "result.json").write_text(json.dumps(envelope))


DAMAGES = {
    "metrics cut mid-line": (_damage_metrics(lambda p: p.read_bytes()[:-7]), "metrics.jsonl"),
    "metrics garbage": (_damage_metrics(lambda p: b"{not json\n"), "metrics.jsonl"),
    "metrics binary": (_damage_metrics(lambda p: bytes(range(256)) + b"\n"), "metrics.jsonl"),
    "metrics rows not objects": (_damage_metrics(lambda p: b"[1, 2]\n"), "metrics.jsonl"),
    "result {}": (lambda cell, others: (cell / "result.json").write_text("{}"), "result.json"),
    "result binary": (lambda cell, others: (cell / "result.json").write_bytes(b"\x00\xff" * 50), "result.json"),
    "result of another cell": (lambda cell, others: shutil.copy(others[0] / "result.json", cell / "result.json"),
                               "result.json"),
    "result edited": (_edit_result, "result.json"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_cell_file_is_moved_aside_and_the_cell_recomputed(tmp_path, clean, damage):
    out = tmp_path / "s"
    shutil.copytree(clean[0], out)
    cell, *others = _cells(out)
    hurt, name = DAMAGES[damage]
    hurt(cell, others)
    said: list[str] = []
    again = _run("random-labels", out, TINY, log=said.append)
    assert again["cells"] == {"computed": 1, "loaded": len(others)}
    assert _strip(again["results"]) == _strip(clean[1]["results"])
    assert list(cell.glob(f"{name}.corrupt-*")), list(cell.iterdir())
    assert any(str(cell / name) in s and "moved aside" in s for s in said), said
    rows = [json.loads(line) for line in (out / "random-labels" / clean[1]["spec_hash"] / "metrics.jsonl").open()]
    assert sum(r["cell"] == cell.name for r in rows) == 4  # the recomputed cell's rows are in the run's metrics


def test_a_binary_spec_json_is_moved_aside_and_rewritten(tmp_path, clean):
    out = tmp_path / "s"
    shutil.copytree(clean[0], out)
    run_dir = out / "random-labels" / clean[1]["spec_hash"]
    (run_dir / "spec.json").write_bytes(bytes(range(256)))
    (run_dir / "status.json").write_bytes(b"\x00garbage")
    said: list[str] = []
    again = _run("random-labels", out, TINY, log=said.append)
    assert again["cells"]["computed"] == 0 and _strip(again["results"]) == _strip(clean[1]["results"])
    assert json.loads((run_dir / "spec.json").read_text())["noise"] == [0.0, 1.0]
    assert list(run_dir.glob("spec.json.corrupt-*")) and any("spec.json" in s for s in said)
    assert json.loads((run_dir / "status.json").read_text())["state"] == "done"


# ---- a parent's state is bound to its cell ----------------------------------------------------------------------

def _rewrite_state(path: Path, change) -> None:
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    rest = json.loads(meta["whynets"])
    tensors = load_file(str(path))
    change(rest, tensors)
    save_file(tensors, str(path), metadata={"whynets": json.dumps(rest)})


STATE_DAMAGES = {
    "state of another cell": lambda parent, other: shutil.copy(other / "state.safetensors", parent / "state.safetensors"),
    "state without its optimizer": lambda parent, other: _rewrite_state(parent / "state.safetensors",
                                                                        lambda rest, t: rest.pop("optimizer")),
    "state tensors changed": lambda parent, other: _rewrite_state(
        parent / "state.safetensors", lambda rest, t: t[next(k for k in t if k.startswith("params/"))].mul_(1.5)),
}


@pytest.fixture(scope="module")
def periods(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("periods")
    return out, _run("critical-periods", out)


@pytest.mark.parametrize("damage", list(STATE_DAMAGES))
def test_a_parent_state_that_is_not_its_own_is_refused_and_recomputed(tmp_path, periods, damage):
    """critical-periods' deficit-removal children continue from parent states; a state copied from another cell (a
    valid file!) used to change the claim's numbers silently. Now the parent is recomputed and the numbers are the
    undamaged run's."""
    out = tmp_path / "s"
    shutil.copytree(periods[0], out)
    cells = _cells(out, "critical-periods")
    states = [c for c in cells if (c / "state.safetensors").exists()]
    parent, other = states[0], states[1]
    STATE_DAMAGES[damage](parent, other)
    for child in cells:  # the children must be computed again to read the parent's state
        if child not in states:
            (child / "result.json").unlink()
    said: list[str] = []
    again = _run("critical-periods", out, log=said.append)
    assert _strip(again["results"]) == _strip(periods[1]["results"])
    assert list(parent.glob("state.safetensors.corrupt-*")) or list(parent.glob("state.safetensors.unusable-*"))
    assert any(parent.name in s and "state.safetensors" in s for s in said), said


def test_a_checkpoint_of_another_cell_is_not_resumed(tmp_path):
    """An unfinished cell holding another cell's checkpoint starts afresh instead of resuming from it."""
    from whynets.engine import TrainSpec
    from whynets.experiments.context import Context
    from whynets.models import ModelSpec
    from whynets.store import RunStore

    data = wn.data.DataSpec(n_train=200, n_test=100)
    spec = TrainSpec(steps=40, eval_points=3)
    os.environ["WHYNETS_KEEP_CHECKPOINTS"] = "1"
    try:
        store = RunStore(tmp_path / "s", "toy", data)
        a = Context(store).train({"w": 8}, ModelSpec(width=8), data, spec, [0])
        b = Context(store).train({"w": 9}, ModelSpec(width=8), data, spec, [1])
    finally:
        del os.environ["WHYNETS_KEEP_CHECKPOINTS"]
    cell_b = store.cell_dir(b["cell"])
    shutil.copy(store.cell_dir(a["cell"]) / "checkpoint.safetensors", cell_b / "checkpoint.safetensors")
    (cell_b / "result.json").unlink()
    said: list[str] = []
    again = Context(RunStore(tmp_path / "s", "toy", data), log=said.append).train({"w": 9}, ModelSpec(width=8), data,
                                                                                  spec, [1])
    assert _strip(again) == _strip(b)
    assert list(cell_b.glob("checkpoint.safetensors.corrupt-*")) and any("checkpoint of cell" in s for s in said)


# ---- the data cache ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncated", "garbage", "other shapes"])
def test_a_damaged_mnist1d_cache_is_moved_aside_and_generated_again(tmp_path, monkeypatch, caplog, damage):
    import numpy as np

    monkeypatch.setenv("WHYNETS_CACHE", str(tmp_path))
    first = wn.data.load(wn.data.DataSpec(samples=100))
    (path,) = tmp_path.glob("mnist1d-*.npz")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 garbage")
    else:
        np.savez(path, x=np.zeros((5, 3)), y=np.zeros(5, int), x_test=np.zeros((5, 3)), y_test=np.zeros(5, int))
    with caplog.at_level("WARNING", logger="whynets"):
        again = wn.data.load(wn.data.DataSpec(samples=100))
    assert torch_equal(again.x, first.x) and torch_equal(again.y_test, first.y_test)
    assert list(tmp_path.glob("mnist1d-*.npz.corrupt-*"))
    assert any(str(path) in r.getMessage() and "moved aside" in r.getMessage() for r in caplog.records)
    assert wn.data.load(wn.data.DataSpec(samples=100)).x.shape == first.x.shape  # healed: read, not regenerated


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


# ---- stale temp files ---------------------------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_are_swept_where_a_run_begins(tmp_path, clean):
    """A kill at the final renames left temp files in the run folder, its figures and the cache; the next run removes
    those whose writer is gone — a dead pid, or a live pid that started after the file was written (reused) — and
    keeps a live writer's."""
    out = tmp_path / "s"
    shutil.copytree(clean[0], out)
    run_dir = out / "random-labels" / clean[1]["spec_hash"]
    (run_dir / "figures").mkdir(exist_ok=True)
    dead, me = _dead_pid(), os.getpid()
    stale = [run_dir / f".results.json.tmp{dead}.0123abcd", run_dir / f".metrics.jsonl.tmp{dead}.0123abce",
             run_dir / "figures" / f".random_labels_fig1.png.tmp{dead}.0123abcf", out / f".claims.json.tmp{dead}.01234567",
             run_dir / f".status.json.tmp{me}.89abcdef"]  # this pid, but written long before this process started
    live = run_dir / f".env.json.tmp{me}.fedcba98"
    for p in stale + [live]:
        p.write_text("partial")
    long_ago = time.time() - 10 * 86400
    os.utime(stale[-1], (long_ago, long_ago))
    _run("random-labels", out, TINY)
    assert not any(p.exists() for p in stale) and live.exists()

    cache = tmp_path / "cache"
    cache.mkdir()
    legacy = cache / f"mnist1d-v1-seed0-n100.tmp{dead}.npz"  # the cache's temp name before this version
    legacy.write_text("partial")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("WHYNETS_CACHE", str(cache))
        wn.data.load(wn.data.DataSpec(samples=100))
    assert not legacy.exists() and not [p for p in cache.iterdir() if ".tmp" in p.name]


# ---- report on a damaged store ------------------------------------------------------------------------------------

def test_report_skips_and_names_what_it_cannot_read(tmp_path, clean):
    from typer.testing import CliRunner

    from whynets.cli.main import app

    out = tmp_path / "s"
    shutil.copytree(clean[0], out)
    good = out / "random-labels" / clean[1]["spec_hash"]
    bad = {"garbage": b"{not json", "empty object": b"{}", "binary": bytes(range(256)),
           "another folder's": (good / "results.json").read_bytes()}
    for i, data in enumerate(bad.values()):
        folder = out / "random-labels" / f"bad{i}"
        folder.mkdir()
        (folder / "results.json").write_bytes(data)
    diag = out / "diagnose" / "0123456789ab"
    diag.mkdir(parents=True)
    (diag / "results.json").write_text(json.dumps({"model": "mine:net", "answers": {}}))
    (out / "robustness.json").write_bytes(b"\x00\x01")
    unfinished = out / "random-labels" / "unfinished"
    unfinished.mkdir()
    (unfinished / "status.json").write_bytes(b"\xff\xfe")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    res = CliRunner().invoke(app, ["report", str(out), "--out", str(tmp_path / "elsewhere")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    for i in range(len(bad)):
        assert f"skipped {out / 'random-labels' / f'bad{i}' / 'results.json'}:" in text
    assert f"skipped {diag / 'results.json'}: a diagnosis (whynets diagnose), not an experiment run" in text
    assert f"skipped {out / 'robustness.json'}: JSONDecodeError" in text
    assert f"incomplete run (not in the report): {unfinished} — its status.json cannot be read" in text
    html = (tmp_path / "elsewhere" / "report.html").read_text()
    assert "random-labels" in html and "data:image/png;base64," in html
    # --out elsewhere: the figures are redrawn there, and nothing in the store is written
    assert list((tmp_path / "elsewhere" / "random-labels" / good.name / "figures").glob("*.png"))
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
