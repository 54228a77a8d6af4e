"""The catalogue of experiments, one small declarative module each (see PHENOMENA.md).

Any module in this package that defines ``EXPERIMENT`` is an experiment; ``ORDER`` fixes the listing
order of the catalogue (the order of PHENOMENA.md), newcomers follow alphabetically.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil

from whynets.spec import SpecError

from .base import Claim, Context, Experiment

__all__ = ["Claim", "Context", "Experiment", "get", "names", "all_experiments"]

ORDER = ["baselines", "random-labels", "min-norm", "double-descent", "soft-inductive-bias", "matrix-factorization",
         "hessian-spectrum", "large-batch", "saddles", "loss-surfaces", "mode-connectivity",
         "effective-dimensionality", "critical-periods", "sgd-bayes", "lottery-ticket", "mimic", "depth-vs-width",
         "information-plane", "bounds", "small-tabular", "stability", "edge-of-stability", "kernel-machine",
         "measures", "simplicity-bias", "signal-propagation", "infinite-width", "convergence", "recommendations"]
_NOT_EXPERIMENTS = {"base", "context"}


@functools.lru_cache(maxsize=None)
def _registry() -> dict[str, str]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _NOT_EXPERIMENTS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        experiment = getattr(module, "EXPERIMENT", None)
        if isinstance(experiment, Experiment):
            found[experiment.name] = module.__name__
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))


def names() -> list[str]:
    return list(_registry())


def get(name: str) -> Experiment:
    registry = _registry()
    if name not in registry:
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(f"unknown experiment {name!r}{hint}; known: {', '.join(registry)}")
    return importlib.import_module(registry[name]).EXPERIMENT


def all_experiments() -> list[Experiment]:
    return [get(n) for n in _registry()]
