"""The diagnosis of a user's model, stage by stage as store cells (an interrupted diagnosis resumes; a second
diagnosis of the same model, data and recipe reuses what is done).

    >>> import whynets as wn
    >>> report = wn.diagnose(model, (x, y, x_test, y_test), questions=("simpler", "parameters"), out="diag")
    >>> print(report.summary()); report.to_html("diag/report.html"); report.to_json("diag/diagnosis.json")
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from whynets.data import DataSpec, save_tensors_file
from whynets.engine import configure_threads, resolve_device
from whynets.experiments.context import Context
from whynets.fileio import ensure_folder
from whynets.models import ModelSpec
from whynets.runner import env_info
from whynets.store import RunStore, StoreError, atomic_write_json, file_digest

from .core import loss_kind, measure_module, register_instance, user_module
from .estimate import estimate_seconds
from .parameters import question_parameters
from .preflight import preflight
from .simpler import question_simpler
from .spec import DiagnoseSpec

__all__ = ["diagnose", "run_diagnosis", "Diagnosis"]


class Diagnosis:
    """The answers, with every number behind them (``record``), and their renderings."""

    def __init__(self, record: dict[str, Any], folder: Path):
        self.record = record
        self.folder = Path(folder)

    def summary(self) -> str:
        r = self.record
        ref = r["reference"]
        lines = [f"whynets diagnosis of {r['model']} ({ref['params']} parameters) on {r['data']}",
                 f"your model: test {'MSE' if r['regression'] else 'accuracy'} "
                 f"{ref['test_loss'] if r['regression'] else 100 * ref['test_acc']:.4g}"
                 f"{'' if r['regression'] else '%'}, train {'MSE' if r['regression'] else 'accuracy'} "
                 f"{ref['train_loss'] if r['regression'] else 100 * ref['train_acc']:.4g}{'' if r['regression'] else '%'}"]
        answers = r["answers"]
        if "simpler" in answers:
            lines.append("1. could a simpler model do as well? " + answers["simpler"]["verdict"]["text"])
        if "overparameterization" in answers:
            lines.append("2. is the over-parameterization essential? " + answers["overparameterization"]["verdict"])
        if "bound" in answers:
            lines.append("3. what error bound can I certify? " + answers["bound"]["verdict"])
        if "parameters" in answers:
            lines.append("4. what do the learned parameters say?")
            lines += [f"   - {line}" for line in answers["parameters"]["reading"]]
        if "recommend" in answers:
            lines.append("5. what does theory recommend (initialization, learning rate, shape), checked on your model?")
            lines += [f"   - {line}" for line in answers["recommend"]["verdict"]]
        lines.append(f"({r['wall_s']:.0f} s; every number: {self.folder / 'diagnosis.json'})")
        return "\n".join(lines)

    def spectra_frame(self):
        """Per-layer weight spectra of yours and the two controls (α, its 95% interval, the fit's verdict; pandas)."""
        from whynets.record import require_pandas

        from .frames import spectra_rows
        return require_pandas().DataFrame(spectra_rows(self.record))

    def curvature_frame(self):
        """The curvature measures of question 4, one row each (the trace with its interval; pandas)."""
        from whynets.record import require_pandas

        from .frames import curvature_rows
        return require_pandas().DataFrame(curvature_rows(self.record))

    def simpler_frame(self):
        """Question 1's candidates: size, test score, its 95% interval, within ε or not (pandas)."""
        from whynets.record import require_pandas

        from .frames import simpler_rows
        return require_pandas().DataFrame(simpler_rows(self.record))

    def _repr_html_(self) -> str:
        from whynets.report.notebook import diagnosis_html

        return diagnosis_html(self.record, self.summary(), sorted((self.folder / "figures").glob("*.png")))

    def to_json(self, path: str | Path) -> Path:
        atomic_write_json(Path(path), self.record)
        return Path(path)

    def to_html(self, path: str | Path) -> Path:
        from .report import render

        from whynets.store import atomic_write_text
        atomic_write_text(Path(path), render(self.record, Path(path).parent))
        return Path(path)


class _Missing(Exception):
    """A dry run met a cell that is not in the store yet."""


class _DryStore:
    """The store as a dry run sees it: finished cells are read, a missing one stops the stage (``_Missing``)."""

    def __init__(self, store: RunStore):
        self._store = store
        self.experiment = store.experiment
        self.writable = False

    def cell_dir(self, key: str) -> Path:
        return self._store.cell_dir(key)

    def cell(self, key: str, fn, parent=None, require=()) -> dict[str, Any]:
        if not self._store.has_cell(key):
            raise _Missing(key)

        def refuse(_: Path) -> dict[str, Any]:
            raise _Missing(key)
        return self._store.cell(key, refuse, parent=parent, require=require)


def _cached_stages(store: RunStore, ctx: Context, stages: dict[str, Callable[[Context], Any]],
                   answers: dict[str, Any] | None = None) -> list[str]:
    """The stages whose every cell is already in the store (tried in a dry run that computes nothing). A stage that
    reads an earlier one's answer (recommend reads the parameters' λ_max, the width question the tickets) finds it in
    ``answers`` while the dry run lasts, so its cells are the ones the real run will ask for."""
    loaded, lineage = list(store.loaded), dict(store.lineage)
    dry = Context(_DryStore(store), ctx.device, progress=None, log=None)
    dry._data = ctx._data
    answers = {} if answers is None else answers
    done = []
    try:
        for name, stage in stages.items():
            try:
                result = stage(dry)
                done.append(name)
                if name != "reference":
                    answers[name] = result
            except _Missing:
                pass
    finally:
        answers.clear()
        store.loaded[:], store.lineage = loaded, lineage
    return done


def _finite(value: Any) -> Any:
    """The record with every NaN/inf replaced by None (JSON has no NaN; a reader should not meet a bare NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _reference(ctx, spec: DiagnoseSpec, ds, module: nn.Module, kind: str, key: str) -> dict[str, Any]:
    return ctx.cell({"stage": "reference"}, lambda _: measure_module(module, ds, kind), model=key, data=spec.data,
                    outcomes="per-example")


def run_diagnosis(spec: DiagnoseSpec, out: str | Path = "diag", device: str = "cpu", progress: Any = None,
                  log: Callable[[str], None] | None = None, executor: Any = None) -> Diagnosis:
    """Every asked question as store cells under ``out/diagnose``; the report to ``out/report.html`` and
    ``out/diagnosis.json``. ``executor``: where the cells are computed (``whynets.executors``; None: here)."""
    log = log or (lambda m: None)
    dev = resolve_device(device)
    if dev.type == "cpu":
        configure_threads()
    out = Path(out)
    ensure_folder(out)  # a file, /dev/null, an unwritable or over-long path: one line, before any work
    ds_ctx = Context(None, dev)  # data only: a mistake in the data is found before the store is touched
    ds = ds_ctx.data(spec.data)
    spec = preflight(spec, ds, log, dev)  # every flag, the --init file, the data's size: before any work
    module = user_module(spec, ds)
    store = RunStore(out, "diagnose", spec, log=log)
    store.begin()
    ctx = Context(store, dev, progress=progress, log=log, executor=executor)
    ctx._data = ds_ctx._data
    started = time.perf_counter()
    try:
        kind = loss_kind(spec, ds)
        regression = kind == "mse" and ds.y.is_floating_point()
        key = json.dumps({"model": spec.model.non_default(), "weights": file_digest(spec.weights) if spec.weights
                          else None}, sort_keys=True)
        recipe = replace(spec.train, loss=kind)
        answers: dict[str, Any] = {}

        def stage(name: str) -> Callable[[Context], Any]:
            def fn(c: Context) -> Any:
                ref = _reference(c, spec, ds, module, kind, key)
                if name == "reference":
                    return ref
                if name == "simpler":
                    return question_simpler(c, spec, ds, recipe, module, key, ref, regression)
                if name == "overparameterization":
                    from .width import question_width
                    return question_width(c, spec, ds, recipe, ref, regression, answers.get("simpler"))
                if name == "bound":
                    from .bound import question_bound
                    return question_bound(c, spec, ds, module, key, kind, ref)
                if name == "recommend":
                    from .recommend import question_recommend
                    params = answers.get("parameters")
                    return question_recommend(c, spec, ds, module, key, kind, recipe,
                                              params["curvature"].get("lambda_max") if params else None)
                return question_parameters(c, spec, ds, module, key, kind, recipe)
            return fn

        stages = {q: stage(q) for q in ("reference", *spec.questions)}
        cached = _cached_stages(store, ctx, stages, answers)
        guess = estimate_seconds(spec, ds, dev, recipe, module, kind, skip=cached)
        total = guess["total"]
        parts = ", ".join(f"{q} {guess[q]:.0f} s" for q in spec.questions if guess[q] > 0)
        log(f"diagnose: expected to take about {f'{total / 60:.0f} minutes' if total >= 90 else f'{total:.0f} s'} "
            f"(timed on a few steps of the recipe; {len(spec.seeds)} seed(s); {parts or 'every stage is in the store'}"
            f"{'; in the store already: ' + ', '.join(q for q in cached if q != 'reference') if len(cached) > 1 else ''})")
        walls: dict[str, float] = {}
        after_estimate = time.perf_counter()

        def answer() -> Any:  # replayed as cells finish when an executor computes them elsewhere
            t0 = time.perf_counter()
            ref = stages["reference"](ctx)
            walls["reference"] = time.perf_counter() - t0
            for q in spec.questions:
                t0 = time.perf_counter()
                answers[q] = stages[q](ctx)
                walls[q] = time.perf_counter() - t0
            return ref
        ref = ctx.drive(answer)
        record = {"model": spec.model.factory or spec.model.kind, "model_args": spec.model.factory_args,
                  "data": spec.data.name if not spec.data.path else spec.data.path, "weights": spec.weights,
                  "spec": spec.to_dict(), "spec_hash": spec.hash(), "loss": kind, "regression": regression,
                  "recipe": recipe.to_dict(), "vectorized": _vectorized(spec, ds, dev),
                  "reference": {k: v for k, v in ref.items() if k not in ("test_wrong", "test_sq_errors")},
                  "answers": answers, "wall_s": time.perf_counter() - started,
                  "walls": walls, "estimate": guess,
                  "cells": {"computed": len(store.computed), "loaded": len(store.loaded)}, "env": env_info(dev)}
        record = _finite(record)
        store.finish(record, record["env"])
    except BaseException as err:
        store.fail(err)
        raise
    diagnosis = Diagnosis(record, out)
    if store.writable:
        diagnosis.to_html(out / "report.html")
        # what the printed estimate predicted: the time from printing it to the report written
        record["wall_after_estimate"] = time.perf_counter() - after_estimate
        diagnosis.to_json(out / "diagnosis.json")
        from whynets.trackers import on_report  # --log mlflow: the report and figures drawn after the finish

        on_report(store.dir, [out / "report.html", *sorted((out / "figures").glob("*.png"))], log)
    return diagnosis


def _vectorized(spec: DiagnoseSpec, ds, dev) -> str:
    from .preflight import vectorization
    why = vectorization(spec, ds, dev)
    return "batched (one model for all seeds)" if why is None else f"member by member: {why}"


def diagnose(model: nn.Module | None = None, data: Sequence | DataSpec | str | None = None, *,
             questions: Sequence[str] = ("simpler", "parameters"), out: str | Path = "diag", factory: str | None = None,
             factory_args: dict | None = None, weights: str | None = None, device: str = "cpu",
             progress: Any = None, log: Callable[[str], None] | None = None, **settings: Any) -> Diagnosis:
    """Diagnose a trained model: ``model`` (an ``nn.Module`` with its trained weights) or ``factory`` +
    ``weights`` (files), and ``data`` as ``(x, y, x_test, y_test)`` arrays, a ``DataSpec`` or a built-in name.
    ``settings`` are DiagnoseSpec fields (``epsilon=0.5``, ``seeds=(0, 1)``, ``train=TrainSpec(...)`` …)."""
    out = Path(out)
    ensure_folder(out)
    if isinstance(data, DataSpec):
        data_spec = data
    elif isinstance(data, str):
        data_spec = DataSpec(name=data)
    elif data is not None:
        arrays = [a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a) for a in data]
        if len(arrays) != 4:
            raise StoreError("data must be (x, y, x_test, y_test)")
        path = out / "data.safetensors"
        save_tensors_file(path, x=arrays[0].astype(np.float32), y=arrays[1], x_test=arrays[2].astype(np.float32),
                          y_test=arrays[3])
        data_spec = DataSpec(name="safetensors", path=str(path))
    else:
        data_spec = DataSpec()
    if model is not None:
        key = register_instance(model)
        path = out / "weights.safetensors"
        from safetensors.torch import save_file
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
        model_spec = ModelSpec(kind="factory", factory="whynets.diagnosis.core:instance_factory",
                               factory_args=json.dumps({"key": key}))
        weights = str(path)
    else:
        if not factory:
            raise StoreError("give a model (an nn.Module) or factory='module:function' with weights='file'")
        model_spec = ModelSpec(kind="factory", factory=factory, factory_args=json.dumps(factory_args or {}))
    spec = DiagnoseSpec(model=model_spec, data=data_spec, weights=weights or "", questions=tuple(questions), **settings)
    return run_diagnosis(spec, out, device, progress, log)
