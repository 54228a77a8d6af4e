"""The context an experiment runs in: the store (cells), the device, the data cache and progress bars.

``ctx.train(label, model, data, train, seeds, ...)`` is a cell that trains a population; its key is computed from
everything it consumes (model, data, train and probe specs, the seeds, the padded widths, the phase's end step,
its parent and spawn), so nothing can be forgotten. Phases: a cell with ``until=k`` stops at step k and keeps its
end state; a child ``ctx.train(..., parent=that_result)`` continues from it (same schedule, optimizer state, data
order), possibly on other data, or as copies of its members (``spawn``). A child never recomputes its parent:
the parent is its own cell, and ``cells.json`` of the run records the lineage.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from whynets.data import DataError, Dataset, DataSpec, load
from whynets.engine import Population, TrainSpec, padded_population, population_for, per_example_outcomes, train
from whynets.engine.state import CheckpointError, TrainState, load_state, save_state, state_cell
from whynets.models import ModelSpec
from whynets.probes import Probe
from whynets.store import RunStore, cell_key
from whynets.store.io import quarantine

__all__ = ["Context", "bind_worker_store"]

STATE_FILE = "state.safetensors"

_WORKER = threading.local()  # the store a cell executing in a worker process writes to (executors bind it)


@contextlib.contextmanager
def bind_worker_store(store: Any, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """While a sweep executor runs a cell in a worker: a Context unpickled here (inside the cell's closure) uses
    ``store`` (the worker's own) and ``log``; progress bars stay on the driver."""
    _WORKER.store, _WORKER.log = store, log
    try:
        yield
    finally:
        _WORKER.store = _WORKER.log = None


def _worker_context(device: str, seed_block: int | None) -> "Context":
    return Context(getattr(_WORKER, "store", None), device, log=getattr(_WORKER, "log", None), seed_block=seed_block)


class Context:
    def __init__(self, store: RunStore, device: torch.device | str = "cpu", progress: Any = None,
                 log: Callable[[str], None] | None = None, seed_block: int | None = None, executor: Any = None):
        self.store = store
        self.executor = executor  # None: cells run here; else where they run (``whynets.executors``, e.g. Ray)
        self.seed_block = seed_block  # plain population cells train their seeds in blocks of this many
        self.device = torch.device(device)
        self.progress = progress  # a rich.progress.Progress or None
        self._log = log or (lambda msg: None)
        self._data: dict[str, Dataset] = {}

    def __reduce__(self):
        """A cell's closure travels to a worker process (``whynets.executors``): there the context is rebuilt on the
        worker's store (no progress bars, no data cache; the data are loaded again by their spec)."""
        return _worker_context, (str(self.device), self.seed_block)

    def log(self, message: str) -> None:
        self._log(message)

    def drive(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` (an experiment's run, a diagnosis's stages), its cells computed by this context's executor: here
        when there is none; else ``fn`` is replayed as the executor's cells finish (``whynets.executors``)."""
        return fn() if self.executor is None else self.executor.drive(fn, self.store)

    def _store_cell(self, key: str, fn: Callable[[Path], dict[str, Any]], parent: str | None = None,
                    require: tuple[str, ...] = ()) -> dict[str, Any]:
        if self.executor is None:
            return self.store.cell(key, fn, parent=parent, require=require)
        return self.executor.cell(self.store, key, fn, parent=parent, require=require)

    def data(self, spec: DataSpec) -> Dataset:
        """Load (once per process) the data set a spec describes."""
        key = cell_key(None, data=spec)  # a user's file enters by its content
        if key not in self._data:
            localize = getattr(self.store, "localize", None)  # a worker without the driver's files fetches them
            self._data[key] = load(dataclasses.replace(spec, path=localize(spec.path)) if spec.path and localize
                                   else spec)
        return self._data[key]

    @contextlib.contextmanager
    def bar(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        if self.progress is None:
            yield lambda n: None
            return
        task = self.progress.add_task(description, total=total)
        try:
            yield lambda n: self.progress.advance(task, n)
        finally:
            self.progress.remove_task(task)

    def cell(self, label: dict[str, Any], fn: Callable[[Path], dict[str, Any]], require: tuple[str, ...] = (),
             **consumed: Any) -> dict[str, Any]:
        """Run ``fn(cell_dir)`` once for (``label``, everything in ``consumed``); later calls load its result.
        ``require``: files in the cell folder a later stage reads (then a finished cell without them is redone)."""
        return self._store_cell(cell_key(label, **consumed), fn, require=require)

    def state(self, result: dict[str, Any]) -> TrainState:
        """The end state a ``train(..., keep_state=True)`` cell saved (stacked parameters, optimizer, history)."""
        return load_state(self.store.cell_dir(result["cell"]) / STATE_FILE, self.device, cell=result["cell"])

    def train(self, label: dict[str, Any], model: ModelSpec, data: DataSpec, spec: TrainSpec, seeds: Sequence[int], *,
              probe: Probe | None = None, widths: Sequence[int] | None = None, until: int | None = None,
              parent: dict[str, Any] | None = None, spawn: Sequence[int] | None = None,
              keep_state: bool = False, masks: dict[str, torch.Tensor] | None = None,
              member_rows: torch.Tensor | None = None, fresh_optimizer: bool = False,
              outcomes: bool = False) -> dict[str, Any]:
        """A cell that trains a population (one member per seed) with checkpoints and a progress bar.

        ``widths``: member k is the width-``widths[k]`` MLP of ``model`` padded to the widest (``seeds`` then has
        one seed per member). ``until``: stop at that step (a phase; its state is kept for children). ``parent``:
        continue from that cell's end state; with ``spawn`` (member indices), as copies of those parent members
        with ``seeds`` as their data-order seeds; ``fresh_optimizer``: the parent's weights and step, new optimizer
        state (a rewind). ``masks``: pruned weights per member (``engine.train``); ``member_rows``: each member's own
        training rows. Masks and rows enter the key by content. Returns ``TrainResult.to_dict()`` plus ``cell``."""
        if not isinstance(data, DataSpec):
            raise TypeError("ctx.train takes a DataSpec (so the data enter the cell key); put transforms in DataSpec")
        seeds = [int(s) for s in seeds]
        plain = (widths is None and until is None and parent is None and spawn is None and not keep_state
                 and masks is None and member_rows is None and not outcomes)
        if plain and self.seed_block and len(seeds) > self.seed_block:
            # members do not depend on their neighbours, so the seeds train in fixed blocks, each its own cell: a run
            # with more seeds reuses the blocks it shares (the split depends on the seeds alone, not on the store)
            b = self.seed_block
            parts = [self.train(label, model, data, spec, seeds[i:i + b], probe=probe) for i in range(0, len(seeds), b)]
            return merge_results(parts)
        parent_key = None if parent is None else parent["cell"]
        key = cell_key(label, kind="train", model=model, data=data, train=spec, seeds=seeds, probe=probe,
                       widths=None if widths is None else [int(w) for w in widths], until=until, parent=parent_key,
                       spawn=None if spawn is None else [int(m) for m in spawn], masks=masks, rows=member_rows,
                       fresh=fresh_optimizer or None, outcomes=outcomes or None)
        keep = keep_state or until is not None

        def run(cell_dir: Path) -> dict[str, Any]:
            ds = self.data(data)
            check_loss(ds, spec.loss, data)
            start = None
            if parent is not None:
                start = self.state(parent)
                if spawn is not None:
                    start = start.select(list(spawn), seeds)
                if fresh_optimizer:
                    start = start.with_fresh_optimizer()
            pop = self._population(model, ds, seeds, widths)
            first = 0 if start is None else start.step
            rows: list[dict[str, Any]] = [] if start is None else list(start.history)
            measure = None if probe is None else (lambda p, step: probe(p, step, ds, rows))

            def on_measure(row: dict[str, Any]) -> None:
                rows.append(row)
                self.store.append_metrics(dict(label, **row))

            def on_resume(history: list[dict[str, Any]]) -> None:
                rows[:] = list(history)
                self.store.reset_metrics([dict(label, **r) for r in history if r["step"] > first or start is None])

            text = ", ".join(f"{k}={v}" for k, v in label.items())
            end = spec.steps if until is None else until
            ckpt = cell_dir / "checkpoint.safetensors"
            with contextlib.suppress(CheckpointError):  # a damaged one is moved aside when train() reads it
                if ckpt.exists() and state_cell(ckpt) != cell_dir.name:
                    quarantine(ckpt, self.log, f"the checkpoint of cell {state_cell(ckpt)}, not of this one")
            with self.bar(f"{self.store.experiment} [{text}]", end - first) as advance:
                kwargs = dict(start=start, until=until, measure=measure, on_measure=on_measure, on_resume=on_resume,
                              masks=masks, member_rows=member_rows,
                              progress=advance, checkpoint_seconds=float(os.environ.get("WHYNETS_CHECKPOINT_SECONDS", "20")))
                try:
                    result = train(pop, ds, spec, checkpoint=ckpt, **kwargs)
                except CheckpointError as err:
                    quarantine(ckpt, self.log, str(err))
                    rows[:] = [] if start is None else list(start.history)
                    self.store.reset_metrics()
                    pop = self._population(model, ds, seeds, widths)
                    result = train(pop, ds, spec, checkpoint=ckpt, **kwargs)
            out = result.to_dict()
            if outcomes:
                out["test_outcomes"] = per_example_outcomes(pop, ds.x_test, ds.y_test)
            if keep:
                save_state(result.state, cell_dir / STATE_FILE)
                out["state_file"] = STATE_FILE
            out["cell"] = cell_dir.name
            out["parent"] = parent_key
            return out

        return self._store_cell(key, run, parent=parent_key, require=(STATE_FILE,) if keep else ())

    def _population(self, model: ModelSpec, ds: Dataset, seeds: list[int], widths: Sequence[int] | None) -> Population:
        if widths is None:
            return population_for(model, ds, seeds, self.device)
        return padded_population(model, widths, ds.input_shape, ds.n_classes, seeds, device=self.device)


def check_loss(ds: Dataset, loss: str, data: DataSpec) -> None:
    """Targets a loss can train on, or a ``DataError`` naming the data and the loss that would fit: cross-entropy
    needs integer class labels, kl a teacher's float logits (the loss follows the labels' dtype)."""
    where = f"data.path={data.path}" if data.path else f"data.name={data.name}"
    if loss == "ce" and ds.y.is_floating_point():
        raise DataError(f"{where} holds float targets y (regression), which train.loss=ce cannot fit: set "
                        "train.loss=mse (or save y as integer class labels for classification)")
    if loss == "kl" and not ds.y.is_floating_point():
        raise DataError(f"{where} holds integer class labels, but train.loss=kl needs soft targets (a teacher's float "
                        "logits per class): set train.loss=ce")


def merge_results(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from populations trained side by side (seed blocks): per-member lists concatenated, rows
    aligned by step. A block that stopped early (every member fitted or diverged, so frozen) holds its last
    measurement at the later steps: what one population with all the members would have measured for them."""
    steps = sorted({r["step"] for p in parts for r in p["history"]})
    history = []
    for step in steps:
        row: dict[str, Any] = {"step": step}
        for p in parts:
            rows = [r for r in p["history"] if r["step"] <= step]
            src = rows[-1]
            size = len(p["fit_step"])
            for key, value in src.items():
                if key == "step":
                    continue
                if isinstance(value, list) and len(value) == size:
                    row.setdefault(key, []).extend(value)
                elif key == "phase_end":
                    row[key] = row.get(key, False) or value
                else:
                    row.setdefault(key, value)
        history.append(row)
    final = {}
    for p in parts:
        for key, value in p["final"].items():
            final.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    cat = lambda key: [v for p in parts for v in p[key]]  # noqa: E731
    return {"history": history, "final": final, "fit_step": cat("fit_step"), "diverged": cat("diverged"),
            "diverged_step": cat("diverged_step"), "steps": max(p["steps"] for p in parts),
            "wall_s": sum(p["wall_s"] for p in parts), "cell": "+".join(p["cell"] for p in parts), "parent": None,
            "blocks": [p["cell"] for p in parts]}
