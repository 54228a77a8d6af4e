"""The Ray executor's driver: cells that are not in the store become Ray tasks; finished tasks are written into the
store by the driver (the only writer, unless ``shared_store``); passes of the sweep are replayed until every cell
it reads is stored (``whynets.executors`` says how). Ray retries a task whose worker died (``max_retries``); the
cells that were already written are never submitted again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable

from whynets.store import RunStore
from whynets.store.io import atomic_write_bytes, cell_lock

from . import BackendError
from .pending import CellPending, Pending
from .worker import cell_files, compute_cell

__all__ = ["RayExecutor", "INSTALL", "import_ray"]

INSTALL = 'Ray is not installed: pip install "whynets[ray]" (or pip install ray), then run again'
MAX_RETRIES = 3  # a task whose worker process died (killed, out of memory) runs again, up to this many times


def import_ray():
    try:
        import ray
    except ImportError:
        raise BackendError(f"--backend ray: {INSTALL}") from None
    return ray


class _CellFiles:
    """A Ray actor on the driver's node that hands a worker the files of a finished cell (read-only)."""

    def read(self, root: str, experiment: str, key: str) -> dict[str, bytes] | None:
        return cell_files(Path(root) / experiment / "cells" / key)


def _remote_compute(payload: bytes, experiment: str, root: str, server: Any, local_root: str | None, shared: bool,
                    threads: int):
    import ray

    fetch = None if server is None else (lambda key: ray.get(server.read.remote(local_root, experiment, key)))
    return compute_cell(payload, experiment, root, fetch, shared, threads)


class RayExecutor:
    """Submit cells to a Ray cluster (``address``: None starts one on this machine with every core; ``auto`` or
    ``HOST:PORT`` joins one). ``threads``: torch threads (and Ray CPUs) per task."""

    def __init__(self, address: str | None = None, shared_store: bool = False, log: Callable[[str], None] | None = None,
                 progress: Any = None, threads: int | None = None):
        ray = import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"WHYNETS_THREADS": "1"}} if address is None else None)
            except ConnectionError as err:
                raise BackendError(f"--address {address}: no Ray cluster there ({err}); start one with "
                                   "`ray start --head` on the head node, or leave --address out to start one here"
                                   ) from None
        self.ray = ray
        self.shared = shared_store
        self.threads = threads or int(os.environ.get("WHYNETS_THREADS", "1") or 1)
        self.log = log or (lambda m: None)
        self.progress = progress
        self._lock = threading.RLock()
        self._tasks: dict[str, Any] = {}  # cell folder (str) -> ObjectRef of its task, while it runs
        self._stores: dict[str, RunStore] = {}  # cell folder -> the store it goes into
        self._server = self._start_server()
        self._remote = ray.remote(num_cpus=self.threads, max_retries=MAX_RETRIES)(_remote_compute)
        self.submitted: list[str] = []  # every cell key submitted (a test reads it: no stored cell is submitted)
        self._pass = threading.local()  # per driver thread (reproduce runs experiments side by side): did this pass
        self._bars: dict[str, Any] = {}  # meet a cell that is not stored?

    # ---- the cells ------------------------------------------------------------------------------------
    def _start_server(self) -> Any:
        """The driver node's file server (started with the executor, so its start overlaps the first tasks)."""
        if self.shared:
            return None
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        context = self.ray.get_runtime_context()
        actor = self.ray.remote(num_cpus=0)(_CellFiles).options(  # one per driver, shared by its executors
            name=f"whynets-cell-files-{context.get_job_id()}", get_if_exists=True,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=context.get_node_id(), soft=False))
        return actor.remote()

    def cell(self, store: RunStore, key: str, fn: Callable[[Path], dict[str, Any]], parent: str | None = None,
             require: tuple[str, ...] = ()) -> dict[str, Any]:
        """A stored cell's result, or a ``Pending`` placeholder for a cell now submitted (or still running)."""
        from ray import cloudpickle

        folder = str(store.cell_dir(key))
        with self._lock:
            if folder in self._tasks:
                self._pass.pending = True
                return Pending(key)
            if store.has_cell(key) and _complete(store, key, require):
                return store.cell(key, _refuse, parent=parent, require=require)
            store.lineage.setdefault(key, parent)
            payload = cloudpickle.dumps((key, fn, parent, require))
            root = os.path.abspath(store.root) if self.shared else str(store.root)
            self._tasks[folder] = self._remote.remote(payload, store.experiment, root, self._server,
                                                      os.path.abspath(store.root), self.shared, self.threads)
            self._stores[folder] = store
            self.submitted.append(key)
            self._pass.pending = True
            self._bar(store, submitted=1)
            return Pending(key)

    def _bar(self, store: RunStore, submitted: int = 0, done: int = 0) -> None:
        """One progress bar per experiment: its cells finished on Ray of those submitted."""
        if self.progress is None:
            return
        name = store.experiment
        if name not in self._bars:
            self._bars[name] = [self.progress.add_task(f"{name}: cells on Ray", total=0), 0]
        entry = self._bars[name]
        entry[1] += submitted
        if submitted and hasattr(self.progress, "update"):  # rich's bars; the line printer only advances
            self.progress.update(entry[0], total=entry[1])
        if done:
            self.progress.advance(entry[0], done)

    def _collect(self, refs: list[Any]) -> None:
        """Write the finished tasks among ``refs`` into their stores (the driver is the writer)."""
        for ref in refs:
            with self._lock:
                folder = next(f for f, r in self._tasks.items() if r == ref)
                store = self._stores[folder]
            try:
                out = self.ray.get(ref)
            except self.ray.exceptions.RayTaskError as err:
                with self._lock:
                    self._tasks.pop(folder, None)
                cause = getattr(err, "cause", None)
                raise (cause if isinstance(cause, BaseException) else err) from None
            except (self.ray.exceptions.WorkerCrashedError, self.ray.exceptions.NodeDiedError) as err:
                with self._lock:
                    self._tasks.pop(folder, None)
                raise BackendError(f"a cell of {store.experiment} failed {MAX_RETRIES + 1} times on Ray because its "
                                   f"worker died ({type(err).__name__}); look for memory limits on the nodes, then "
                                   "run again (finished cells are kept)") from None
            for line in out["log"]:
                self.log(line)
            for key, files in out["cells"].items():
                _write_cell(store, key, files)
            for key in out["computed"]:
                store.lineage.setdefault(key, out["lineage"].get(key))
                if key not in store.computed:
                    store.computed.append(key)
            with self._lock:
                self._tasks.pop(folder, None)
                self._bar(store, done=1)

    def _wait(self, store: RunStore, every: bool) -> None:
        with self._lock:
            mine = [r for f, r in self._tasks.items() if self._stores[f] is store]
        if not mine:
            return
        ready, _ = self.ray.wait(mine, num_returns=len(mine) if every else 1)
        more, _ = self.ray.wait([r for r in mine if r not in ready], num_returns=len(mine) - len(ready), timeout=0)
        self._collect(list(ready) + list(more))

    # ---- the sweep ------------------------------------------------------------------------------------
    def drive(self, fn: Callable[[], Any], store: RunStore) -> Any:
        """``fn()`` replayed until a pass reads only stored cells and submits none."""
        computed = len(store.computed)
        while True:
            loaded, rows = len(store.loaded), len(store._run_metrics)
            self._pass.pending = False
            try:
                result = fn()
                if not self._pass.pending:  # the last pass: a cell computed in this sweep counts as computed only
                    fresh = list(store.computed[computed:])
                    for i in range(len(store.loaded) - 1, loaded - 1, -1):
                        if store.loaded[i] in fresh:
                            fresh.remove(store.loaded.pop(i))
                    return result
                every = True  # a cell submitted but not read this pass: wait for all, then the last pass
            except CellPending:
                every = False
            del store.loaded[loaded:], store._run_metrics[rows:]  # a replayed pass counts a load once
            self._wait(store, every)


def _refuse(_: Path) -> dict[str, Any]:
    raise AssertionError("a stored cell was computed again")


def _complete(store: RunStore, key: str, require: tuple[str, ...]) -> bool:
    """Are the files a later stage needs (a parent's state) there and usable? (Else the cell is computed again.)"""
    from whynets.store import _problem

    folder = store.cell_dir(key)
    return not any(_problem(folder / f) for f in require)


def _write_cell(store: RunStore, key: str, files: dict[str, bytes]) -> None:
    """A cell computed on a worker, into the driver's store: its files, result.json last (that marks it done)."""
    folder = store.cell_dir(key)
    with cell_lock(folder, store.log):
        if store.has_cell(key):
            return  # another process wrote it meanwhile
        for name, data in sorted(files.items(), key=lambda kv: kv[0] == "result.json"):
            atomic_write_bytes(folder / name, data)
