"""Faults as they really happen (issue 21, part 5), beside the simulated ones of tests/test_faults.py:

* a real small filesystem (a tmpfs mount) that fills up in the middle of a write, at several fill levels, under the
  store and under the data cache: one line that says so, no temp file left, and a rerun with room equal to a clean
  run (skipped, with the reason, where this machine does not let the test mount);
* a SIGKILL aimed at each rename of a run's final writes (spec, status, figures, env, cells, metrics, results), just
  before it and just after it: the next run leaves no temp file behind and ends equal to a clean run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import whynets as wn
from whynets.store import StoreError

TINY = ["noise=0,1", "corruptions=gaussian", "regularized=false", "train.steps=60", "train.eval_points=4",
        "data.n_train=200", "model.width=16", "seeds=0"]


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in ("wall_s", "cpu_s", "compute_s", "time", "pid")}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _run(out: Path, **kw) -> dict:
    return wn.run("random-labels", preset="smoke", overrides=TINY, out=out, device="cpu", escalate=False, **kw)


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


def _metrics(out: Path) -> list[dict]:
    (path,) = list(out.glob("random-labels/*/metrics.jsonl"))
    return [_strip(json.loads(line)) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, _run(out)


@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs mounted for the test (root and CAP_SYS_ADMIN needed; else the test is skipped, saying why)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", str(mount)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot mount a tmpfs here ({err}): the real full-disk test needs root with CAP_SYS_ADMIN")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): the real full-disk test needs root with "
                    "CAP_SYS_ADMIN")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def _leave_free(mount: Path, free: int) -> Path:
    """Fill ``mount`` with a ballast file until about ``free`` bytes are left."""
    st = os.statvfs(mount)
    ballast = mount / "ballast"
    ballast.write_bytes(bytes(max(0, st.f_bavail * st.f_frsize - free)))
    return ballast


def _used(mount: Path) -> int:
    st = os.statvfs(mount)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@pytest.mark.slow
def test_a_real_disk_that_fills_mid_write(small_fs, clean):
    """The store on a tmpfs with room for 10% … 90% of what a run writes: each run stops at a write the kernel
    refuses (training checkpoints, cell results, metrics, the PNG, results.json — wherever the space runs out), with
    one line in the CLI; no temp file is left; with the room back, the run resumes to the clean run's results."""
    from typer.testing import CliRunner

    from whynets.cli.main import app

    _run(small_fs / "measure")
    need = _used(small_fs)
    shutil.rmtree(small_fs / "measure")
    assert need > 100_000
    args = ["run", "random-labels", "--preset", "smoke", "--no-escalate", "--device", "cpu"] + \
        [a for o in TINY for a in ("--set", o)]
    for share in (0.1, 0.35, 0.6, 0.9):
        store = small_fs / f"store{share}"
        ballast = _leave_free(small_fs, int(share * need))
        res = CliRunner().invoke(app, args + ["--out", str(store)])
        lines = [ln for ln in res.output.splitlines() if ln.startswith("error: ")]
        assert res.exit_code == 2 and len(lines) == 1 and "Traceback" not in res.output, (share, res.output)
        assert lines[0].startswith("error: no space left on ") and "free some space or choose another --out" in lines[0]
        assert not _temp_files(store), (share, _temp_files(store))
        ballast.unlink()
        again = _run(store)
        assert _strip(again["results"]) == _strip(clean[1]["results"]), share
        assert _metrics(store) == _metrics(clean[0]), share
        assert not _temp_files(store)
        shutil.rmtree(store)


@pytest.mark.slow
def test_a_real_full_disk_under_the_data_cache(small_fs, monkeypatch):
    """MNIST-1D generated into a cache with no room: one line naming the cache and WHYNETS_CACHE, no temp file."""
    from whynets.data import DataSpec, load

    cache = small_fs / "cache"
    cache.mkdir()
    monkeypatch.setenv("WHYNETS_CACHE", str(cache))
    ballast = _leave_free(small_fs, 16 * 1024)
    with pytest.raises(StoreError) as err:
        load(DataSpec(samples=400))
    assert err.value.strerror == (f"no space left on {cache} (writing mnist1d-v1-seed0-n400.npz); free some space or "
                                  "point WHYNETS_CACHE at another folder (the data cache)")
    assert not list(cache.iterdir())
    ballast.unlink()
    assert load(DataSpec(samples=400)).x.shape == (320, 40) and [p.name for p in cache.iterdir()] == \
        ["mnist1d-v1-seed0-n400.npz"]


# ---- kills aimed at the final renames ---------------------------------------------------------------------------

def _killed_run(out: Path, kill_at: int, after: bool, log: Path | None = None, timeout: float = 120) -> int:
    """Run in a forked child that SIGKILLs itself at its ``kill_at``-th rename (just before it, or just after it);
    returns the child's exit status (``-SIGKILL`` when the kill landed, 0 when the run ended first). ``log`` gets
    the target of every rename."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            real, count = os.replace, [0]

            def replace(src, dst, *args, **kwargs):
                count[0] += 1
                if log is not None:
                    with open(log, "a") as f:
                        f.write(f"{dst}\n")
                if count[0] == kill_at and not after:
                    os.kill(os.getpid(), signal.SIGKILL)
                result = real(src, dst, *args, **kwargs)
                if count[0] == kill_at and after:
                    os.kill(os.getpid(), signal.SIGKILL)
                return result

            os.replace = replace
            _run(out)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the run killed at rename {kill_at} hung")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child to kill (POSIX only)")
def test_a_kill_at_each_final_rename_then_resume_equals_a_clean_run(tmp_path, clean):
    """The cells are done (copied from a clean run); a run then only writes its own folder. It is killed at each of
    its renames, before and after, and resumed in this process: no temp file is left, and the record, metrics and
    status equal a clean run's."""
    import whynets.runner as runner
    from whynets.experiments import get

    def fresh(name: str) -> Path:
        out = tmp_path / name
        shutil.copytree(clean[0] / "random-labels" / "cells", out / "random-labels" / "cells")
        return out

    log = tmp_path / "renames.log"
    assert _killed_run(fresh("count"), 0, False, log) == 0
    targets = [Path(line).name for line in log.read_text().splitlines()]
    assert {"spec.json", "status.json", "random_labels_fig1.png", "random_labels_fig1.json", "env.json", "cells.json",
            "metrics.jsonl", "results.json"} <= set(targets), targets

    # a kill just after rename n leaves what a kill just before rename n + 1 leaves, less that write's complete temp
    # file: every rename is aimed at from before, and the last one from after as well
    for n, after in [(n, False) for n in range(1, len(targets) + 1)] + [(len(targets), True)]:
        out = fresh(f"k{n}{'a' if after else 'b'}")
        assert _killed_run(out, n, after) == -signal.SIGKILL, (n, targets[n - 1])
        with pytest.MonkeyPatch.context() as m:  # the resume: its figures are no subject here
            m.setattr(runner, "get", lambda name: dataclasses.replace(get(name), figures=lambda *a: []))
            again = _run(out)
        where = f"killed {'after' if after else 'before'} renaming {targets[n - 1]} (rename {n})"
        assert not _temp_files(out), (where, _temp_files(out))
        assert _strip(again["results"]) == _strip(clean[1]["results"]), where
        assert _metrics(out) == _metrics(clean[0]), where
        (status,) = list(out.glob("random-labels/*/status.json"))
        assert json.loads(status.read_text())["state"] == "done", where
