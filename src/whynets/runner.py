"""Run one experiment end to end: spec → cells (store) → claims → figures → results.json.

    >>> import whynets as wn
    >>> record = wn.run("random-labels", preset="smoke", out="runs")
"""

from __future__ import annotations

import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from whynets.engine import configure_threads, resolve_device
from whynets.experiments import Context, get
from whynets.record import RunRecord
from whynets.robustness import SETTINGS, more_seeds, seed_counts, with_seeds
from whynets.spec import SpecError
from whynets.store import RunStore

__all__ = ["run", "resolve_spec", "env_info", "git_commit", "choose_device"]

_FIGURES = threading.Lock()  # pyplot is not thread-safe: experiments driven side by side (Ray) draw one at a time


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def env_info(device: torch.device | str | None = None) -> dict[str, Any]:
    """Versions, device and threads: what a bug report or a result's provenance needs."""
    import matplotlib
    import numpy
    import scipy
    import sklearn

    import whynets

    info = {
        "whynets": whynets.__version__, "git_commit": git_commit(), "python": sys.version.split()[0],
        "platform": platform.platform(), "torch": torch.__version__, "numpy": numpy.__version__,
        "scipy": scipy.__version__, "matplotlib": matplotlib.__version__, "scikit_learn": sklearn.__version__,
        "cuda_available": torch.cuda.is_available(), "torch_threads": torch.get_num_threads(),
        "cpu_count": __import__("os").cpu_count(),
    }
    try:
        import mnist1d  # noqa: F401
        from importlib.metadata import version

        info["mnist1d"] = version("mnist1d")
    except Exception as err:  # metadata lookup only; report why it is missing
        info["mnist1d"] = f"unavailable ({err})"
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
        info["gpu"] = torch.cuda.get_device_name(0)
    if device is not None:
        info["device"] = str(device)
    return info


def choose_device(experiment, device: str, log: Callable[[str], None] | None = None) -> torch.device:
    """``device`` resolved for ``experiment``: ``auto`` is the CPU for an experiment that declares it runs faster
    there (``cpu_on_auto``; measured on an H100 against one CPU core), else CUDA when present."""
    if device == "auto" and experiment.cpu_on_auto:
        if torch.cuda.is_available() and log is not None:
            log(f"--device auto: {experiment.name} runs on the CPU ({experiment.cpu_on_auto}); --device cuda overrides")
        return torch.device("cpu")
    return resolve_device(device)


def resolve_spec(experiment, preset: str, overrides: Sequence[str] = (), seeds: int | None = None,
                 setting: str = "default"):
    """The spec a run uses: the preset, then ``--set`` overrides, then ``--seeds N``, then a robustness setting."""
    spec = experiment.preset(preset).override(list(overrides))
    if seeds is not None:
        spec = with_seeds(spec, experiment.seed_fields, seeds)
    if setting != "default":
        if setting not in SETTINGS:
            raise SpecError(f"unknown setting {setting!r}; choose default or one of {', '.join(SETTINGS)}")
        spec = SETTINGS[setting](spec, experiment.seed_fields)
    return spec


def run(name: str, preset: str = "quick", overrides: Sequence[str] = (), out: str | Path = "runs",
        device: str = "auto", progress: Any = None, log: Callable[[str], None] | None = None,
        seeds: int | None = None, setting: str = "default", escalate: bool = True,
        executor: Any = None) -> dict[str, Any]:
    """Run experiment ``name``; returns the record written to ``results.json`` (a ``whynets.record.RunRecord``: that
    dict, with its run folder, ``claims_frame()``, ``metrics_frame()`` and a view in Jupyter). ``executor``: where
    the cells are computed (``whynets.executors.make_executor``; None: here), the store and the record are the same.

    While a claim is inconclusive because an interval straddles its threshold and the experiment declares seed fields,
    the run is repeated with each seed field doubled, up to the experiment's ``max_seeds``; cells already computed
    are reused, and the record lists each round (``escalation``)."""
    log = log or (lambda msg: None)
    experiment = get(name)
    requested = resolve_spec(experiment, preset, overrides, seeds, setting)
    dev = choose_device(experiment, device, log)
    if dev.type == "cpu":
        configure_threads()
    store = RunStore(out, experiment.name, requested, log=log)
    store.begin()
    if executor is not None:  # a replayed pass says its lines once
        said: set[str] = set()
        log = _once(log, said)
    ctx = Context(store, dev, progress=progress, log=log, seed_block=experiment.seed_block, executor=executor)
    started, spec, rounds = time.perf_counter(), requested, []
    try:
        while True:
            results = ctx.drive(lambda: experiment.run(spec, ctx))
            claims = [c.to_dict() for c in experiment.claims(results, spec)]
            open_ = [c["id"] for c in claims if c.get("resolvable")]  # more seeds can narrow their intervals
            fields = experiment.seed_fields_for(open_)  # only the seed fields the open claims' intervals rest on
            more = (more_seeds(spec, fields, experiment.max_seeds)
                    if escalate and open_ and fields and experiment.max_seeds else None)
            if more is None:
                break
            rounds.append({"seeds": seed_counts(spec, experiment.seed_fields), "inconclusive": open_})
            log(f"{name}: {len(open_)} inconclusive claim(s) ({', '.join(open_)}); rerunning with more seeds "
                f"{seed_counts(more, experiment.seed_fields)} (cap {experiment.max_seeds})")
            spec = more
        wall = time.perf_counter() - started
        env = env_info(dev)
        record = {
            "experiment": experiment.name, "title": experiment.title, "paper": experiment.paper, "preset": preset,
            "overrides": list(overrides), "setting": setting, "spec_hash": requested.hash(), "spec": spec.to_dict(),
            "seeds": seed_counts(spec, experiment.seed_fields), "escalation": rounds, "results": results,
            "claims": claims, "wall_s": wall, "cells": {"computed": len(store.computed), "loaded": len(store.loaded)},
            "env": env,
        }
        with _FIGURES:
            record["figures"] = (list(experiment.figures(results, spec, store.figure_dir)) if store.writable
                                 else sorted(p.name for p in store.figure_dir.glob("*.png")))
        store.finish(record, env)
    except BaseException as err:
        store.fail(err)
        raise
    return RunRecord(record, store.dir)  # the same dict, with claims_frame/metrics_frame and a notebook view


def _once(log: Callable[[str], None], said: set[str]) -> Callable[[str], None]:
    def say(message: str) -> None:
        if message not in said:
            said.add(message)
            log(message)
    return say
