"""The catalogue of experiments, one small declarative module each (see PHENOMENA.md)."""

from __future__ import annotations

import importlib

from .base import Claim, Context, Experiment

__all__ = ["Claim", "Context", "Experiment", "get", "names", "all_experiments"]

_MODULES = {
    "baselines": "baselines",
    "random-labels": "random_labels",
}


def names() -> list[str]:
    return list(_MODULES)


def get(name: str) -> Experiment:
    if name not in _MODULES:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(_MODULES)}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}").EXPERIMENT


def all_experiments() -> list[Experiment]:
    return [get(n) for n in _MODULES]
