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
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from whynets.data import Dataset, DataSpec, load
from whynets.engine import Population, TrainSpec, padded_population, population_for, train
from whynets.engine.state import CheckpointError, TrainState, load_state, save_state
from whynets.models import ModelSpec
from whynets.probes import Probe
from whynets.store import RunStore, cell_key
from whynets.store.io import quarantine

__all__ = ["Context"]

STATE_FILE = "state.safetensors"


class Context:
    def __init__(self, store: RunStore, device: torch.device | str = "cpu", progress: Any = None,
                 log: Callable[[str], None] | None = None):
        self.store = store
        self.device = torch.device(device)
        self.progress = progress  # a rich.progress.Progress or None
        self._log = log or (lambda msg: None)
        self._data: dict[str, Dataset] = {}

    def log(self, message: str) -> None:
        self._log(message)

    def data(self, spec: DataSpec) -> Dataset:
        """Load (once per process) the data set a spec describes."""
        key = cell_key(None, data=spec)  # a user's file enters by its content
        if key not in self._data:
            self._data[key] = load(spec)
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

    def cell(self, label: dict[str, Any], fn: Callable[[Path], dict[str, Any]], **consumed: Any) -> dict[str, Any]:
        """Run ``fn(cell_dir)`` once for (``label``, everything in ``consumed``); later calls load its result."""
        return self.store.cell(cell_key(label, **consumed), fn)

    def state(self, result: dict[str, Any]) -> TrainState:
        """The end state a ``train(..., keep_state=True)`` cell saved (stacked parameters, optimizer, history)."""
        return load_state(self.store.cell_dir(result["cell"]) / STATE_FILE, self.device)

    def train(self, label: dict[str, Any], model: ModelSpec, data: DataSpec, spec: TrainSpec, seeds: Sequence[int], *,
              probe: Probe | None = None, widths: Sequence[int] | None = None, until: int | None = None,
              parent: dict[str, Any] | None = None, spawn: Sequence[int] | None = None,
              keep_state: bool = False) -> dict[str, Any]:
        """A cell that trains a population (one member per seed) with checkpoints and a progress bar.

        ``widths``: member k is the width-``widths[k]`` MLP of ``model`` padded to the widest (``seeds`` then has
        one seed per member). ``until``: stop at that step (a phase; its state is kept for children). ``parent``:
        continue from that cell's end state; with ``spawn`` (member indices), as copies of those parent members
        with ``seeds`` as their data-order seeds. Returns ``TrainResult.to_dict()`` plus ``cell`` (its key)."""
        if not isinstance(data, DataSpec):
            raise TypeError("ctx.train takes a DataSpec (so the data enter the cell key); put transforms in DataSpec")
        seeds = [int(s) for s in seeds]
        parent_key = None if parent is None else parent["cell"]
        key = cell_key(label, kind="train", model=model, data=data, train=spec, seeds=seeds, probe=probe,
                       widths=None if widths is None else [int(w) for w in widths], until=until, parent=parent_key,
                       spawn=None if spawn is None else [int(m) for m in spawn])
        keep = keep_state or until is not None

        def run(cell_dir: Path) -> dict[str, Any]:
            ds = self.data(data)
            start = None
            if parent is not None:
                start = self.state(parent)
                if spawn is not None:
                    start = start.select(list(spawn), seeds)
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
            with self.bar(f"{self.store.experiment} [{text}]", end - first) as advance:
                kwargs = dict(start=start, until=until, measure=measure, on_measure=on_measure, on_resume=on_resume,
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
            if keep:
                save_state(result.state, cell_dir / STATE_FILE)
                out["state_file"] = STATE_FILE
            out["cell"] = cell_dir.name
            out["parent"] = parent_key
            return out

        return self.store.cell(key, run, parent=parent_key, require=(STATE_FILE,) if keep else ())

    def _population(self, model: ModelSpec, ds: Dataset, seeds: list[int], widths: Sequence[int] | None) -> Population:
        if widths is None:
            return population_for(model, ds, seeds, self.device)
        return padded_population(model, widths, ds.input_shape, ds.n_classes, seeds, device=self.device)
