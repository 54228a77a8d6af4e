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
reads the first one's result. Every file is checked when it is read, not just parsed: a cell's ``result.json``
holds its cell key and a digest of the result, its ``metrics.jsonl`` one JSON object per line, a parent's
``state.safetensors`` its cell key and a digest of its tensors; a file that fails (damaged, or copied from
another cell) is moved aside with one line and the cell recomputed. Temp files whose writer is gone are swept
when a run begins.
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

from .io import (StoreError, append_line, atomic_write_json, atomic_write_text, cell_lock, check_folder, ensure_folder,
                 explain, is_writable, json_default, quarantine, read_json, sweep_temp_files)

__all__ = ["RunStore", "StoreError", "atomic_write_text", "atomic_write_json", "read_json", "cell_key", "key_part",
           "file_digest", "read_metrics", "CELL_FORMAT"]

CELL_FORMAT = "whynets-cell-v1"  # result.json: {"format", "cell": its key, "digest": of the result, "result"}

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


def _plain(result: Any) -> Any:
    """A cell's result as JSON gives it back (keys strings, tuples lists, order kept)."""
    return json.loads(json.dumps(result, default=json_default, allow_nan=True))


def _digest(plain: Any) -> str:
    """SHA-256 (16 hex digits) of the canonical JSON of a plain result."""
    return hashlib.sha256(json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()
                          ).hexdigest()[:16]


def _unwrap(envelope: Any, key: str) -> Any:
    """A cell's result from its ``result.json`` envelope, or ValueError saying what is wrong with it."""
    if not isinstance(envelope, dict) or envelope.get("format") != CELL_FORMAT:
        raise ValueError("not a whynets cell result (no cell key: damaged, or written by an older whynets)")
    if envelope.get("cell") != key:
        raise ValueError(f"the result of cell {envelope.get('cell')!r}, copied into another cell's folder")
    if "result" not in envelope or envelope.get("digest") != _digest(envelope["result"]):
        raise ValueError("its content does not match the digest written with it (edited or damaged)")
    return envelope["result"]


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` (none if it does not exist); ValueError if a line is not a JSON object or the
    last line is cut off."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        raise ValueError("its last line is cut off")
    rows = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"line {number} is not JSON ({err})") from None
        if not isinstance(row, dict):
            raise ValueError(f"line {number} is not a JSON object")
        rows.append(row)
    return rows


def _problem(path: Path) -> str | None:
    """Why a file a later stage needs cannot be used (missing, unparseable, a state of another cell), or None."""
    if not path.exists():
        return "missing"
    if path.suffix != ".safetensors":
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as err:  # noqa: BLE001 - any parse failure means the file cannot be used; it is moved aside
        return f"unreadable: {err}"
    if "whynets" in meta:  # a training state: bound to its cell, its tensors to their digest
        from whynets.engine.state import CheckpointError, load_state

        try:
            load_state(path, cell=path.parent.name)
        except CheckpointError as err:
            return str(err).split(": ", 1)[-1].split("; move it aside")[0].split("; delete it or move it aside")[0]
    return None


class RunStore:
    """One run of one experiment: its folder, and the experiment's shared cells."""

    def __init__(self, root: str | Path, experiment: str, spec: Spec, log: Callable[[str], None] | None = None):
        self.root = Path(root)
        check_folder(self.root)
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
        """Create the run folder and mark it running; on a read-only store, do nothing (reading needs no write).
        Temp files left by a killed writer (in the store's root, the experiment's folder, this run's folder and its
        figures) are removed; a damaged ``spec.json`` is moved aside and written again."""
        if not self.writable:
            self.log(f"{self.root} is read-only: reading finished cells only, nothing will be written")
            return
        ensure_folder(self.root)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise explain(err, self.dir / "spec.json") from None
        for folder in (self.root, self.root / self.experiment, self.dir, self.figure_dir):
            sweep_temp_files(folder)
        spec_text = self.spec.to_json() + "\n"
        path = self.dir / "spec.json"
        try:
            same = path.exists() and path.read_bytes() == spec_text.encode()
        except OSError as err:
            raise StoreError(f"cannot read {path}: {err}") from None
        if not same:
            if path.exists() and self._damaged_spec(path):
                quarantine(path, self.log, "not this run's spec as JSON")
            atomic_write_text(path, spec_text)
        self._status("running", pid=os.getpid())

    def _damaged_spec(self, path: Path) -> bool:
        """Is ``spec.json`` anything but a JSON object of this run's spec (a format change rewrites it quietly)?"""
        try:
            data = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return True
        if not isinstance(data, dict):
            return True
        try:
            return type(self.spec).from_dict(data).hash() != self.spec.hash()
        except Exception:  # noqa: BLE001 - any reason it does not read as this spec: damaged
            return True

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
            try:
                rows += [json.dumps(dict(r, cell=key), default=json_default) for r in read_metrics(path)]
            except ValueError as err:  # damaged after the cell was read: its rows are left out, and said so
                self.log(f"warning: {path} is damaged ({err}); its rows are left out of {self.dir / 'metrics.jsonl'}; "
                         "run again to recompute the cell")
                quarantine(path, None)
        rows += [json.dumps(r, default=json_default) for r in self._run_metrics]
        atomic_write_text(self.dir / "metrics.jsonl", "".join(r + "\n" for r in rows))
        atomic_write_json(self.dir / "results.json", record)
        self._status("done")
        if os.environ.get("WHYNETS_LOG"):  # --log tensorboard,mlflow: copies of the finished run (whynets.trackers)
            from whynets.trackers import on_finish

            on_finish(self.dir, record, self.log)

    # ---- cells ----------------------------------------------------------------------------------------
    def cell_dir(self, key: str) -> Path:
        return self.cells_dir / key

    def has_cell(self, key: str) -> bool:
        return self._read(self.cell_dir(key) / "result.json") is not None

    def _read(self, path: Path) -> dict[str, Any] | None:
        """A finished cell's result, or None; a damaged ``result.json`` or ``metrics.jsonl`` (not JSON, not this
        cell's, not matching its digest, a metrics line cut off) is moved aside (when the store is writable), so
        the cell is computed again."""
        if not path.exists():
            return None
        key = path.parent.name
        metrics = path.parent / "metrics.jsonl"
        try:
            try:
                result = _unwrap(read_json(path), key)
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
                bad, why = path, str(err)
            else:
                try:
                    read_metrics(metrics)
                    return result
                except (UnicodeDecodeError, ValueError) as err:
                    bad, why = metrics, f"metrics.jsonl: {err}"
        except OSError as err:
            raise StoreError(f"cannot read {path.parent}: {err}") from None
        if not self.writable:
            raise StoreError(f"{bad} is damaged ({why}) and the store is read-only; copy the store somewhere "
                             "writable and run again to recompute that cell")
        quarantine(bad, self.log, why)
        if bad != path:
            quarantine(path, None, why, tag="stale")
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
        problems = {f: p for f in require if done is not None and (p := _problem(folder / f))}
        if problems:
            why = "; ".join(f"{f}: {p}" for f, p in problems.items())
            if not self.writable:
                raise StoreError(f"cell {key} cannot use its {why}, and {self.root} is read-only; copy the store "
                                 "somewhere writable and run again")
            self.log(f"warning: {key}: {why}; moved aside, computing the cell again")
            for f in require:
                quarantine(folder / f, None, "unusable")
            quarantine(path, None, why, tag="stale")
            done = None
        if done is not None:
            self.loaded.append(key)
            return done
        if not self.writable:
            raise StoreError(f"cell {key} of {self.experiment} is not finished and {self.root} is read-only; "
                             "choose a writable --out to compute it")
        with cell_lock(folder, self.log):
            done = self._read(path)  # another process may have finished it while we waited
            if done is not None and not any(_problem(folder / f) for f in require):
                self.loaded.append(key)
                return done
            sweep_temp_files(folder)
            self._current.append(folder)
            self.reset_metrics()  # a killed earlier attempt may have left rows
            try:
                result = fn(folder)
            finally:
                self._current.pop()
            plain = _plain(result)
            atomic_write_json(path, {"format": CELL_FORMAT, "cell": key, "digest": _digest(plain), "result": plain})
            self.computed.append(key)
            ckpt = folder / "checkpoint.safetensors"
            if ckpt.exists() and os.environ.get("WHYNETS_KEEP_CHECKPOINTS", "0") != "1":
                ckpt.unlink()
        return _unwrap(read_json(path), key)  # round-trip: a fresh run and a resumed run see identical (JSON) values

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
