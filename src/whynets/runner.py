"""Run one experiment end to end: spec → cells (store) → claims → figures → results.json.

    >>> import whynets as wn
    >>> record = wn.run("random-labels", preset="smoke", out="runs")
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from whynets.engine import configure_threads, resolve_device
from whynets.experiments import Context, get
from whynets.store import RunStore

__all__ = ["run", "env_info", "git_commit"]


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


def run(name: str, preset: str = "quick", overrides: Sequence[str] = (), out: str | Path = "runs",
        device: str = "auto", progress: Any = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run experiment ``name``; returns the record written to ``results.json``."""
    experiment = get(name)
    spec = experiment.preset(preset).override(list(overrides))
    dev = choose_device(experiment, device, log)
    if dev.type == "cpu":
        configure_threads()
    store = RunStore(out, experiment.name, spec)
    store.begin(env_info(dev))
    ctx = Context(store, dev, progress=progress, log=log)
    started = time.perf_counter()
    results = experiment.run(spec, ctx)
    wall = time.perf_counter() - started
    claims = [c.to_dict() for c in experiment.claims(results, spec)]
    record = {
        "experiment": experiment.name, "title": experiment.title, "paper": experiment.paper,
        "preset": preset, "overrides": list(overrides), "spec_hash": spec.hash(), "spec": spec.to_dict(),
        "results": results, "claims": claims, "wall_s": wall,
        "cells": {"computed": len(store.computed), "loaded": len(store.loaded)}, "env": env_info(dev),
    }
    from whynets.report.figures import draw_figures

    record["figures"] = draw_figures(experiment, results, spec, store.figure_dir)
    store.write_results(record)
    return record
