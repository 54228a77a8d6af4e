"""Every mistake of issue 21 that belongs to run / report / the data loaders / a user's factory: ONE line, exit 2,
the exact words (this table is the one in the issue's closing note).

Each case is (name, arguments, the line expected); ``{tmp}`` in either is the test's own folder. The memory budget is
fixed (WHYNETS_MEMORY_BUDGET=8G) so the lines do not depend on this machine.
"""

from __future__ import annotations

import gzip
import io
import struct
import sys
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from whynets.cli.main import app

RUN = ["run", "random-labels", "--preset", "smoke", "--no-escalate", "--device", "cpu"]
LONG = "a" * 300

CASES = [
    ("list not closed", RUN + ["--out", "{tmp}/s", "--set", "seeds=[1,"],
     "seeds: '[1,' is not a list (Expecting value at character 4); write seeds=1,2,3 or seeds=[1,2,3]"),
    ("negative data seed", RUN + ["--out", "{tmp}/s", "--set", "data.seed=-1"],
     "data.seed=-1 is out of range: a seed in [0, 2**31)"),
    ("huge data seed", RUN + ["--out", "{tmp}/s", "--set", "data.seed=100000000000000000000"],
     "data.seed=100000000000000000000 is out of range: a seed in [0, 2**31)"),
    ("float data seed", RUN + ["--out", "{tmp}/s", "--set", "data.seed=1e20"], "data.seed: expected an int, got '1e20'"),
    ("one MNIST-1D sample", RUN + ["--out", "{tmp}/s", "--set", "data.samples=1"],
     "data.samples=1 is out of range: 0 (the package's 5000) or at least 10 (MNIST-1D generates examples class by class)"),
    ("NaN in a list", RUN + ["--out", "{tmp}/s", "--set", "noise=nan"], "noise: expected a finite number, got 'nan'"),
    ("Inf lr", RUN + ["--out", "{tmp}/s", "--set", "train.lr=inf"], "train.lr: expected a finite number, got 'inf'"),
    ("a model past the memory budget", RUN + ["--out", "{tmp}/s", "--set", "model.width=100000000"],
     "model mlp {'width': 100000000}: 2 member(s) of 3.64e+04 TiB of parameters each (x8: weights, gradients, "
     "optimizer moments, frozen and checkpoint copies) needs about 5.8e+05 TiB, more than the memory budget of 8 GiB "
     "(set by WHYNETS_MEMORY_BUDGET=8G); make it smaller, or raise the budget with --memory-budget or "
     "WHYNETS_MEMORY_BUDGET=… (e.g. 80%)"),
    ("a memory budget that is not a size", RUN + ["--out", "{tmp}/s", "--memory-budget", "lots"],
     "--memory-budget='lots' is not a memory size; give e.g. 12G, 800M, 1.5T or 80% (of this machine's memory)"),
    ("--out a file", RUN + ["--out", "{tmp}/file"], "--out {tmp}/file: a file, not a folder; give a folder (it is "
     "created if missing)"),
    ("--out below a file", RUN + ["--out", "{tmp}/file/runs"], "--out {tmp}/file/runs: {tmp}/file is a file, not a "
     "folder; give a folder (it is created if missing)"),
    ("--out /dev/null", RUN + ["--out", "/dev/null"], "--out /dev/null: a file, not a folder; give a folder (it is "
     "created if missing)"),
    ("--out too long", RUN + ["--out", "{tmp}/" + LONG], None),  # the line names the lengths: checked below
    ("--out where no folder can be made", RUN + ["--out", "/proc/whynets-runs"],
     "--out /proc/whynets-runs: cannot create this folder (No such file or directory); give another folder"),
    ("diagnose --out a file", ["diagnose", "--model", "{tmp}/facts.py:flat", "--weights", "{tmp}/w.safetensors",
                               "--data", "digits", "--out", "{tmp}/file", "--questions", "parameters"],
     "--out {tmp}/file: a file, not a folder; give a folder (it is created if missing)"),
    ("report of a file", ["report", "{tmp}/file"],
     "{tmp}/file: a file, not a folder; give the --out folder of a `whynets run` or `reproduce`"),
    ("report --out a file", ["report", "{tmp}", "--out", "{tmp}/file"],
     "--out {tmp}/file: a file, not a folder; give a folder (it is created if missing)"),
    ("an .npz that declares 10^14 values", RUN + ["--out", "{tmp}/s", "--set", "data.name=npz", "--set",
                                                  "data.path={tmp}/liar.npz"],
     "{tmp}/liar.npz: field 'x' declares shape (100000000000000,) float32 (400000000000000 bytes) but holds 8 bytes "
     "(truncated or damaged)"),
    ("a gzipped IDX bomb", RUN + ["--out", "{tmp}/s", "--set", "data.name=idx", "--set", "data.path={tmp}/idx"],
     "{tmp}/idx/train-images-idx3-ubyte.gz: IDX header declares shape (60000, 1000, 1000) uint8 needs about 279 GiB, "
     "more than the memory budget of 8 GiB (set by WHYNETS_MEMORY_BUDGET=8G); make it smaller, or raise the budget "
     "with --memory-budget or WHYNETS_MEMORY_BUDGET=… (e.g. 80%)"),
    ("regression targets with loss ce", ["run", "baselines", "--preset", "smoke", "--no-escalate", "--device", "cpu",
                                         "--out", "{tmp}/s", "--set", "data.name=npz", "--set",
                                         "data.path={tmp}/reg.npz", "--set", "models=mlp", "--set", "data.n_train=0",
                                         "--set", "data.n_test=0"],
     "data.path={tmp}/reg.npz holds float targets y (regression), which train.loss=ce cannot fit: set train.loss=mse "
     "(or save y as integer class labels for classification)"),
    ("markup and emoji codes in a path", RUN + ["--out", "{tmp}/s", "--set", "data.name=npz", "--set",
                                                "data.path={tmp}/[x]/facts.py:ok:.npz"],
     "{tmp}/[x]/facts.py:ok:.npz: no such file (expected an .npz with fields x, y[, x_test, y_test])"),
    ("a factory that raises", ["diagnose", "--model", "{tmp}/facts.py:boom", "--weights", "{tmp}/w.safetensors",
                               "--data", "digits", "--out", "{tmp}/d"],
     "--model {tmp}/facts.py:boom: calling it with {} failed: ValueError: width must be even (at facts.py:6)"),
    ("a factory that exits", ["diagnose", "--model", "{tmp}/facts.py:leave", "--weights", "{tmp}/w.safetensors",
                              "--data", "digits", "--out", "{tmp}/d"],
     "--model {tmp}/facts.py:leave: calling it with {} failed: it called sys.exit(0) (a factory must return an "
     "nn.Module)"),
    ("a factory whose import fails", ["diagnose", "--model", "{tmp}/broken.py:make", "--weights", "{tmp}/w.safetensors",
                                      "--data", "digits", "--out", "{tmp}/d"],
     "--model '{tmp}/broken.py:make': importing {tmp}/broken.py failed: ZeroDivisionError: division by zero "
     "(at broken.py:1)"),
]

FACTORIES = '''import sys
import torch.nn as nn


def boom(width=4):
    raise ValueError("width must be\\neven")


def leave(**kw):
    sys.exit(0)


def flat():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
'''


def _inputs(tmp) -> None:
    """The files the cases name: a plain file, a lying .npz, a gzipped IDX bomb, a regression .npz, factories."""
    (tmp / "file").write_text("not a folder")
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 14,)})
    with zipfile.ZipFile(tmp / "liar.npz", "w") as z:
        z.writestr("x.npy", head.getvalue() + bytes(8))
        z.writestr("y.npy", head.getvalue())
    (tmp / "idx").mkdir()
    with gzip.open(tmp / "idx" / "train-images-idx3-ubyte.gz", "wb") as f:  # declares 60 GB; holds a few zeros
        f.write(bytes([0, 0, 0x08, 3]) + struct.pack(">3i", 60000, 1000, 1000) + bytes(1 << 16))
    g = np.random.default_rng(0)
    x = g.normal(size=(50, 4)).astype(np.float32)
    np.savez(tmp / "reg.npz", x=x, y=(x @ g.normal(size=4)).astype(np.float32))
    (tmp / "facts.py").write_text(FACTORIES)
    (tmp / "broken.py").write_text("1 / 0\n")
    import torch.nn as nn
    from safetensors.torch import save_file

    save_file(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).state_dict(), str(tmp / "w.safetensors"))


@pytest.mark.parametrize("name, args, line", CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_one_line(tmp_path, monkeypatch, name, args, line):
    if "/proc/" in " ".join(args) and not sys.platform.startswith("linux"):
        pytest.skip("/proc is Linux's")
    monkeypatch.setenv("WHYNETS_MEMORY_BUDGET", "8G")
    _inputs(tmp_path)
    res = CliRunner().invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert res.exit_code == 2, res.output
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    if line is None:  # the path is too long
        assert errors[0] == (f"error: --out {str(tmp_path / LONG)[:60]}…: the path is too long "
                             f"({len(str(tmp_path / LONG))} characters, a name of 300 bytes; this filesystem allows "
                             "255 per name, 4096 in all); choose a shorter path")
    else:
        assert errors[0] == "error: " + line.replace("{tmp}", str(tmp_path))
    assert "👌" not in res.output  # ":ok:" is never rendered as an emoji


def test_a_read_only_store_is_not_sent_to_whynets_report():
    """The line for a store that cannot be written says what to do, and does not send the user to `whynets report`
    (which writes too)."""
    import errno

    from whynets.fileio import explain

    for code in (errno.EROFS, errno.EACCES):
        text = str(explain(OSError(code, "x"), __import__("pathlib").Path("/store/results.json")).strerror)
        assert "whynets report" not in text and text.endswith("choose a folder you can write for --out")
