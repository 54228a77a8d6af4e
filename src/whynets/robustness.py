"""Settings a claim must survive, and the seed arithmetic the runner uses.

* ``with_seeds(spec, fields, n)`` — every seed field (an experiment's ``seed_fields``) set to n seeds
  (``--seeds N``); ``more_seeds`` extends each field with new seeds (when a claim is inconclusive);
* ``SETTINGS`` — the robustness mode's reruns of an experiment: ``new-draw`` (new model seeds, a fresh draw of every
  generated data set — MNIST-1D's generation seed, the teacher's, digits' split — and new corruption seeds) and
  ``digits`` (scikit-learn's digits in place of MNIST-1D, where the experiment declares ``on_digits``).

    >>> from whynets.robustness import settings_for
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from whynets.data import DataSpec
from whynets.spec import Spec, SpecError

__all__ = ["with_seeds", "more_seeds", "seed_counts", "new_draw", "on_digits", "settings_for", "SETTINGS", "DRAW_OFFSET"]

DRAW_OFFSET = 1000  # new-draw seeds: every seed and generation seed + 1000 (none of the presets use seeds that high)
DIGITS_TRAIN, DIGITS_TEST = 1297, 500


def _get(spec: Spec, dotted: str) -> Any:
    value: Any = spec
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def seed_counts(spec: Spec, fields: tuple[str, ...]) -> dict[str, int]:
    return {f: len(_get(spec, f)) for f in fields}


def with_seeds(spec: Spec, fields: tuple[str, ...], n: int, start: int = 0) -> Spec:
    """Every seed field set to the n seeds start, start + 1, …"""
    if n < 1:
        raise SpecError(f"--seeds must be a positive number of seeds, got {n}")
    if not fields:
        raise SpecError(f"{type(spec).__name__} declares no seed fields; --seeds does not apply to it")
    return spec.override({f: tuple(range(start, start + n)) for f in fields})


def more_seeds(spec: Spec, fields: tuple[str, ...], cap: int | dict[str, int]) -> Spec | None:
    """Each seed field doubled in length (new seeds above its largest), at most ``cap`` long (a number, or one per
    field: {field: cap}, 0 for a field not named); None at the cap."""
    changes = {}
    for f in fields:
        seeds = tuple(_get(spec, f))
        n = min(cap.get(f, 0) if isinstance(cap, dict) else cap, 2 * len(seeds))
        if n > len(seeds):
            top = max(seeds) + 1 if seeds else 0
            changes[f] = seeds + tuple(range(top, top + n - len(seeds)))
    return spec.override(changes) if changes else None


def _map_data(spec: Spec, fn: Callable[[DataSpec], DataSpec]) -> Spec:
    """``spec`` with ``fn`` applied to every DataSpec in it (at any depth)."""
    changes = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, DataSpec):
            changes[f.name] = fn(value)
        elif isinstance(value, Spec):
            changes[f.name] = _map_data(value, fn)
    return dataclasses.replace(spec, **changes) if changes else spec


def new_draw(spec: Spec, fields: tuple[str, ...]) -> Spec:
    """New model seeds, a fresh draw of every generated data set, new corruption seeds."""
    def redraw(d: DataSpec) -> DataSpec:
        if d.name in ("npz", "idx", "safetensors"):
            return d  # a user's file cannot be redrawn
        return dataclasses.replace(d, seed=d.seed + DRAW_OFFSET, corruption_seed=d.corruption_seed + DRAW_OFFSET)
    spec = _map_data(spec, redraw)
    return spec.override({f: tuple(s + DRAW_OFFSET for s in _get(spec, f)) for f in fields}) if fields else spec


def on_digits(spec: Spec, fields: tuple[str, ...]) -> Spec:
    """scikit-learn's digits (1297 train / 500 test, 8×8 images) in place of MNIST-1D; sizes beyond digits' own
    become "all"."""
    def swap(d: DataSpec) -> DataSpec:
        if d.name != "mnist1d":
            return d
        n_train = d.n_train if 0 < d.n_train < DIGITS_TRAIN else 0
        n_test = d.n_test if 0 < d.n_test < DIGITS_TEST else 0
        return dataclasses.replace(d, name="digits", seed=0, n_train=n_train, n_test=n_test)
    return _map_data(spec, swap)


SETTINGS: dict[str, Callable[[Spec, tuple[str, ...]], Spec]] = {"new-draw": new_draw, "digits": on_digits}


def settings_for(experiment: Any) -> list[str]:
    """The settings ``--robustness`` reruns ``experiment`` in (besides its default)."""
    return ["new-draw"] + (["digits"] if experiment.on_digits else [])
