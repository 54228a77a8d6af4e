"""The context an experiment runs in: the store (cells), the device, data cache and progress bars."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from whynets.data import Dataset, DataSpec, load
from whynets.engine import Population, TrainSpec, population_for, train
from whynets.models import ModelSpec
from whynets.store import RunStore, cell_key

__all__ = ["Context"]


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
        key = spec.to_json(indent=None)
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

    def cell(self, key: str | dict[str, Any], fn: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Run ``fn(cell_dir)`` once; later calls (and later runs) load its stored result."""
        name = cell_key(**key) if isinstance(key, dict) else key
        return self.store.cell(name, fn)

    def train(self, key: dict[str, Any], model: ModelSpec, data: DataSpec | Dataset, spec: TrainSpec,
              seeds: Sequence[int], measure: Callable[[Population, int], dict[str, list]] | None = None,
              keep_params: bool = False, population: Callable[[Dataset], Population] | None = None) -> dict[str, Any]:
        """A cell that trains a population (one member per seed) with checkpoints and a progress bar.

        Returns ``TrainResult.to_dict()`` (plus ``params_file`` when ``keep_params``: the final stacked
        parameters, saved in the cell folder for instruments that need the trained models).
        """
        full_key = dict(key, model=model.hash(), train=spec.hash(), seeds=",".join(map(str, seeds)))
        if isinstance(data, DataSpec):
            full_key["data"] = data.hash()

        def run(cell_dir: Path) -> dict[str, Any]:
            ds = self.data(data) if isinstance(data, DataSpec) else data
            pop = population(ds) if population is not None else population_for(model, ds, seeds, self.device)
            label = ", ".join(f"{k}={v}" for k, v in key.items())
            with self.bar(f"{self.store.experiment} [{label}]", spec.steps) as advance:
                result = train(pop, ds, spec, checkpoint=cell_dir / "checkpoint.pt", measure=measure,
                               on_measure=lambda row: self.store.append_metrics(dict(key, **row)), progress=advance,
                               checkpoint_seconds=float(os.environ.get("WHYNETS_CHECKPOINT_SECONDS", "20")))
            out = result.to_dict()
            if keep_params:
                torch.save(pop.state_dict(), cell_dir / "params.pt")
                out["params_file"] = "params.pt"
            return out

        return self.cell(full_key, run)

    def load_params(self, key: dict[str, Any], model: ModelSpec, spec: TrainSpec, seeds: Sequence[int],
                    data: DataSpec | None = None) -> dict[str, Any]:
        """The stacked parameters a ``train(..., keep_params=True)`` cell saved."""
        full_key = dict(key, model=model.hash(), train=spec.hash(), seeds=",".join(map(str, seeds)))
        if data is not None:
            full_key["data"] = data.hash()
        return torch.load(self.store.cell_dir(cell_key(**full_key)) / "params.pt", map_location=self.device)
