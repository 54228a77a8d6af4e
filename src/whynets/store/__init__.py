"""The run store: ``runs/<experiment>/<hash>/`` with spec.json, env.json, metrics.jsonl, results.json,
cells/ (one folder per sweep cell: result.json + checkpoint.pt) and figures/.

Every write is atomic (temp file + ``os.replace``), so a killed process never leaves a half-written
file that reads as complete; a cell whose ``result.json`` exists is done and is never recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable

from whynets.spec import Spec, canonical_json

__all__ = ["RunStore", "atomic_write_text", "atomic_write_json", "read_json", "cell_key"]


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _default(o: Any) -> Any:
    if isinstance(o, Spec):
        return o.to_dict()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot store a {type(o).__name__} as JSON")


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, default=_default, allow_nan=True) + "\n")


def read_json(path: Path) -> Any:
    with open(path) as f:
        return json.load(f)


def cell_key(**parts: Any) -> str:
    """A readable, filesystem-safe folder name for a cell, e.g. ``variant=p=0.2,model=...-3f2a1b0c``.

    The readable part keeps the caller's order (the experiment's own keys first); the 8-hex suffix is a
    hash of the canonical (sorted) JSON, so it does not depend on that order.
    """
    text = ",".join(f"{k}={v}" for k, v in parts.items())
    slug = re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)[:80]
    digest = hashlib.sha256(canonical_json(parts).encode()).hexdigest()[:8]
    return f"{slug}-{digest}"


class RunStore:
    """One experiment run's folder. ``cell(key, fn)`` runs ``fn(cell_dir)`` once and caches its result."""

    def __init__(self, root: str | Path, experiment: str, spec: Spec):
        self.root = Path(root)
        self.experiment = experiment
        self.spec = spec
        self.dir = self.root / experiment / spec.hash()
        self.computed: list[str] = []  # cells computed (not loaded) by this process
        self.loaded: list[str] = []

    def begin(self, env: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.dir / "spec.json", self.spec.to_json() + "\n")
        atomic_write_json(self.dir / "env.json", env)
        (self.dir / "metrics.jsonl").touch()  # exists for every run, also those that train no network

    def cell_dir(self, key: str) -> Path:
        return self.dir / "cells" / key

    def has_cell(self, key: str) -> bool:
        return (self.cell_dir(key) / "result.json").exists()

    def cell(self, key: str, fn: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        path = self.cell_dir(key) / "result.json"
        if path.exists():
            self.loaded.append(key)
            return read_json(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        result = fn(path.parent)
        atomic_write_json(path, result)
        # round-trip so a fresh run and a resumed run see identical (JSON) values
        self.computed.append(key)
        ckpt = path.parent / "checkpoint.pt"
        if ckpt.exists() and os.environ.get("WHYNETS_KEEP_CHECKPOINTS", "0") != "1":
            ckpt.unlink()
        return read_json(path)

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row, default=_default) + "\n")

    def write_results(self, results: dict[str, Any]) -> None:
        atomic_write_json(self.dir / "results.json", results)

    @property
    def figure_dir(self) -> Path:
        path = self.dir / "figures"
        path.mkdir(parents=True, exist_ok=True)
        return path
