"""The worker's side of a remote cell: a store of its own, the cell computed in it, its files sent back.

Without a shared filesystem the worker computes in a temporary store and returns every file of every cell it
computed; a finished cell it needs (a parent's state, a data file another cell wrote) is fetched from the driver's
node by ``CellFiles`` the first time its folder is asked for. With a shared store the worker computes in the store
itself (same path on every node), under the store's per-cell locks, and returns only the key.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from whynets.store import RunStore
from whynets.store.io import atomic_write_bytes

__all__ = ["WorkerStore", "cell_files", "compute_cell", "SKIP"]

SKIP = ("checkpoint.safetensors",)  # a finished cell's checkpoint is not part of it


def cell_files(folder: Path) -> dict[str, bytes] | None:
    """The files of a finished cell (result.json last in order), or None when it is not finished. Lock, temp
    and moved-aside files stay behind."""
    folder = Path(folder)
    if not (folder / "result.json").is_file():
        return None
    files = {}
    for path in sorted(folder.iterdir(), key=lambda p: (p.name == "result.json", p.name)):
        name = path.name
        if (path.is_file() and not name.startswith(".") and name not in SKIP and ".corrupt-" not in name
                and ".stale-" not in name and ".unusable-" not in name):
            files[name] = path.read_bytes()
    return files


class _NoSpec:
    def hash(self) -> str:
        return "worker"


class WorkerStore(RunStore):
    """The store a cell sees on a worker. ``fetch(key)`` returns a finished cell's files from the driver's store
    (or None); ``driver_root`` is the store root as the driver named it (data specs that point into it are
    fetched and read from here)."""

    def __init__(self, root: str | Path, experiment: str, fetch: Callable[[str], dict[str, bytes] | None] | None,
                 driver_root: str, log: Callable[[str], None] | None = None):
        super().__init__(root, experiment, _NoSpec(), log=log)
        self._fetch = fetch
        self._fetched: set[str] = set()
        self.driver_root = driver_root

    def cell_dir(self, key: str) -> Path:
        folder = super().cell_dir(key)
        if self._fetch is not None and key not in self._fetched:
            self._fetched.add(key)
            files = None if (folder / "result.json").exists() else self._fetch(key)
            for name, data in (files or {}).items():
                atomic_write_bytes(folder / name, data)
        return folder

    def localize(self, path: str) -> str:
        """A path into the driver's store (a data file a cell wrote) as a path into this worker's copy."""
        if self._fetch is None:
            return path
        for root in {self.driver_root, os.path.abspath(self.driver_root)}:
            prefix = os.path.join(root, self.experiment, "cells") + os.sep
            if str(path).startswith(prefix):
                key, _, rest = str(path)[len(prefix):].partition(os.sep)
                return str(self.cell_dir(key) / rest)
        return path


def compute_cell(payload: bytes, experiment: str, root: str, fetch: Callable[[str], Any] | None,
                 shared: bool, threads: int) -> dict[str, Any]:
    """Compute one cell (``payload``: the cloudpickled ``(key, fn, parent, require)``) and return
    ``{"key", "cells": {key: {file: bytes}}, "lineage", "log"}`` (``cells`` empty with a shared store)."""
    from ray import cloudpickle
    import torch

    from whynets.experiments.context import bind_worker_store

    torch.set_num_threads(max(1, threads))
    lines: list[str] = []
    scratch = None if shared else tempfile.mkdtemp(prefix="whynets-cell-")
    try:
        store = WorkerStore(root if shared else scratch, experiment, None if shared else fetch, root, log=lines.append)
        with bind_worker_store(store, lines.append):
            key, fn, parent, require = cloudpickle.loads(payload)
            store.cell(key, fn, parent=parent, require=require)
        cells = {} if shared else {k: cell_files(store.cell_dir(k)) for k in store.computed}
        return {"key": key, "cells": {k: v for k, v in cells.items() if v is not None},
                "lineage": dict(store.lineage), "log": lines, "computed": list(store.computed)}
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
