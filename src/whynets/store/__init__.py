"""The run store.

    runs/<experiment>/cells/<cell>/     one folder per cell, SHARED by every run of the experiment:
                                        result.json, metrics.jsonl, state.safetensors (a parent's end state),
                                        checkpoint.safetensors (while it trains)
    runs/<experiment>/<spec hash>/      one folder per run: spec.json, env.json, status.json, cells.json (the cells
                                        it used, with their lineage), metrics.jsonl, results.json, figures/

A cell's name is computed from what it consumes (``cell_key``: the specs of its model, data, training, seeds,
probe and parent), never assembled by hand, so a change to any of them is a new cell and a stale result is
never reused; runs of different specs (more seeds, another probe) share the cells they have in common.

Every write is atomic (``store.io``); a cell whose ``result.json`` exists is done and is only read (a finished
store can be read from a read-only mount); a second process computing the same cell waits on its lock and
reads the first one's result; a damaged cell file is moved aside and the cell recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from whynets.spec import Spec, canonical_json

from .io import (StoreError, append_line, atomic_write_json, atomic_write_text, cell_lock, is_writable, json_default, quarantine,
                 read_json, sweep_temp_files)

__all__ = ["RunStore", "StoreError", "atomic_write_text", "atomic_write_json", "read_json", "cell_key", "key_part",
           "file_digest"]

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (or of every file in a folder, names included), cached by size and mtime."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        cache = (str(f.resolve()), st.st_size, st.st_mtime_ns)
        if cache not in _DIGESTS:
            fh = hashlib.sha256()
            with open(f, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    fh.update(block)
            _DIGESTS[cache] = fh.hexdigest()
        h.update(f.name.encode() + b"\0" + _DIGESTS[cache].encode())
    return h.hexdigest()[:16]


def key_part(value: Any) -> Any:
    """The JSON a cell key hashes for one consumed thing: a Spec is its type and non-default fields (a data spec
    that reads a user's file adds the file's content digest); sequences and scalars are themselves."""
    if isinstance(value, Spec):
        part = {"type": type(value).__name__, **value.non_default()}
        path = getattr(value, "path", "")
        if path and getattr(value, "name", "") in ("npz", "idx", "safetensors") and Path(path).exists():
            part["content"] = file_digest(path)  # the bytes, not where they lie: moving a store keeps its keys
            part.pop("path", None)
        factory = getattr(value, "factory", "")
        if factory:  # a user's model from a file: its source enters the key
            from whynets.models.factory import factory_digest

            digest = factory_digest(factory)
            if digest:
                part["factory_source"] = digest
        return part
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a tensor (masks, rows): its content
        arr = value.detach().cpu().contiguous().numpy()
        return {"tensor": hashlib.sha256(arr.tobytes()).hexdigest()[:16], "shape": list(arr.shape), "dtype": str(arr.dtype)}
    if isinstance(value, (list, tuple)):
        return [key_part(v) for v in value]
    if isinstance(value, dict):
        return {str(k): key_part(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return "nan"
    return value


def cell_key(label: dict[str, Any] | None = None, **consumed: Any) -> str:
    """A cell's folder name: a readable slug of ``label`` (the experiment's own words, e.g. ``width=64``) and a
    hash of everything the cell consumes (``consumed``: specs, seeds, probe, parent key …) AND the label."""
    label = label or {}
    text = ",".join(f"{k}={v}" for k, v in label.items())
    slug = re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)[:80] or "cell"
    digest = hashlib.sha256(canonical_json({"label": key_part(label), **{k: key_part(v) for k, v in consumed.items()}})
                            .encode()).hexdigest()[:12]
    return f"{slug}-{digest}"


def _usable(path: Path) -> bool:
    """Does ``path`` exist and, for a safetensors file, parse (its header only: cheap)?"""
    if not path.exists():
        return False
    if path.suffix != ".safetensors":
        return True
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            f.metadata()
        return True
    except Exception:  # noqa: BLE001 - any parse failure means the file cannot be used; it is moved aside
        return False


class RunStore:
    """One run of one experiment: its folder, and the experiment's shared cells."""

    def __init__(self, root: str | Path, experiment: str, spec: Spec, log: Callable[[str], None] | None = None):
        self.root = Path(root)
        self.experiment = experiment
        self.spec = spec
        self.dir = self.root / experiment / spec.hash()
        self.cells_dir = self.root / experiment / "cells"
        self.log = log or (lambda msg: None)
        self.writable = is_writable(self.root)
        self.computed: list[str] = []  # cells computed (not loaded) by this process
        self.loaded: list[str] = []
        self.lineage: dict[str, str | None] = {}  # every cell this run used -> its parent cell (or None)
        self._current: list[Path] = []  # the cell folders being computed (nested cells), innermost last
        self._run_metrics: list[dict[str, Any]] = []

    # ---- the run folder ---------------------------------------------------------------------------
    def begin(self) -> None:
        """Create the run folder and mark it running; on a read-only store, do nothing (reading needs no write)."""
        if not self.writable:
            self.log(f"{self.root} is read-only: reading finished cells only, nothing will be written")
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        spec_text = self.spec.to_json() + "\n"
        path = self.dir / "spec.json"
        if not path.exists() or path.read_text() != spec_text:
            atomic_write_text(path, spec_text)
        self._status("running", pid=os.getpid())

    def _status(self, state: str, **extra: Any) -> None:
        if self.writable:
            atomic_write_json(self.dir / "status.json", {"state": state, "time": time.time(), **extra})

    def fail(self, error: BaseException) -> None:
        """Mark the run failed (with the error), so a half-populated folder is never read as a finished run."""
        try:
            self._status("failed", error=f"{type(error).__name__}: {error}")
        except StoreError:
            pass

    def finish(self, record: dict[str, Any], env: dict[str, Any]) -> None:
        if not self.writable:
            return
        atomic_write_json(self.dir / "env.json", env)
        atomic_write_json(self.dir / "cells.json", [{"cell": k, "parent": p} for k, p in self.lineage.items()])
        rows = []
        for key in self.lineage:
            path = self.cells_dir / key / "metrics.jsonl"
            if path.exists():
                rows += [json.dumps(dict(json.loads(line), cell=key)) for line in path.read_text().splitlines() if line]
        rows += [json.dumps(r, default=json_default) for r in self._run_metrics]
        atomic_write_text(self.dir / "metrics.jsonl", "".join(r + "\n" for r in rows))
        atomic_write_json(self.dir / "results.json", record)
        self._status("done")

    # ---- cells ----------------------------------------------------------------------------------------
    def cell_dir(self, key: str) -> Path:
        return self.cells_dir / key

    def has_cell(self, key: str) -> bool:
        return self._read(self.cell_dir(key) / "result.json") is not None

    def _read(self, path: Path) -> dict[str, Any] | None:
        """A finished cell's result, or None; a damaged result.json is moved aside (when the store is writable)."""
        if not path.exists():
            return None
        try:
            return read_json(path)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if not self.writable:
                raise StoreError(f"{path} is damaged ({err}) and the store is read-only; copy the store somewhere "
                                 "writable and run again to recompute that cell") from None
            quarantine(path, self.log, f"unreadable JSON: {err}")
            return None

    def cell(self, key: str, fn: Callable[[Path], dict[str, Any]], parent: str | None = None,
             require: tuple[str, ...] = ()) -> dict[str, Any]:
        """Run ``fn(cell_dir)`` once for this key (here or in any earlier run); later calls read its result.

        ``require``: files the caller needs besides result.json (a parent's end state); a finished cell without
        them is computed again."""
        self.lineage.setdefault(key, parent)
        folder = self.cell_dir(key)
        path = folder / "result.json"
        done = self._read(path)
        if done is not None and not all(_usable(folder / f) for f in require):
            if not self.writable:
                raise StoreError(f"cell {key} lacks {', '.join(require)} and {self.root} is read-only")
            self.log(f"{key}: {', '.join(require)} missing or damaged, and now needed; computing the cell again")
            for f in require:
                quarantine(folder / f, None, "unreadable")
            quarantine(path, None, f"missing {', '.join(require)}", tag="stale")
            done = None
        if done is not None:
            self.loaded.append(key)
            return done
        if not self.writable:
            raise StoreError(f"cell {key} of {self.experiment} is not finished and {self.root} is read-only; "
                             "choose a writable --out to compute it")
        with cell_lock(folder, self.log):
            done = self._read(path)  # another process may have finished it while we waited
            if done is not None and all(_usable(folder / f) for f in require):
                self.loaded.append(key)
                return done
            sweep_temp_files(folder)
            self._current.append(folder)
            self.reset_metrics()  # a killed earlier attempt may have left rows
            try:
                result = fn(folder)
            finally:
                self._current.pop()
            atomic_write_json(path, result)
            self.computed.append(key)
            ckpt = folder / "checkpoint.safetensors"
            if ckpt.exists() and os.environ.get("WHYNETS_KEEP_CHECKPOINTS", "0") != "1":
                ckpt.unlink()
        return read_json(path)  # round-trip: a fresh run and a resumed run see identical (JSON) values

    # ---- metrics ----------------------------------------------------------------------------------------
    def reset_metrics(self, rows: list[dict[str, Any]] | None = None) -> None:
        """Start the current cell's metrics.jsonl afresh (with ``rows``, e.g. those its checkpoint holds), so a
        cell killed and resumed never repeats a row."""
        if self._current:
            atomic_write_text(self._current[-1] / "metrics.jsonl",
                              "".join(json.dumps(r, default=json_default) + "\n" for r in rows or []))

    def append_metrics(self, row: dict[str, Any]) -> None:
        """One row to the current cell's metrics.jsonl (outside a cell: the run's own rows)."""
        if not self._current:
            self._run_metrics.append(row)
            return
        append_line(self._current[-1] / "metrics.jsonl", json.dumps(row, default=json_default) + "\n")

    @property
    def figure_dir(self) -> Path:
        return self.dir / "figures"
