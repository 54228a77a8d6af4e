"""What an experiment is: a spec with presets, a ``run`` that declares cells, claims, and figures.

An experiment module defines ``EXPERIMENT = Experiment(...)``. ``run(spec, ctx)`` returns a JSON-able
results dict built from cells (``ctx.train(...)`` or ``ctx.cell(...)``); ``claims(results, spec)``
turns results into `Claim` records; ``figures(results, spec, out)`` draws from results only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from whynets.claims import (Check, Claim, Prediction, bootstrap_check, direction_check, exact_check, fact_check,
                            mean_check, paired_check, rate_check)
from whynets.spec import Spec, SpecError

__all__ = ["Experiment", "Claim", "Check", "Prediction", "Context", "mean", "std", "mean_check", "paired_check", "bootstrap_check",
           "rate_check", "exact_check", "direction_check", "fact_check"]


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    paper: str
    claim: str
    presets: dict[str, Spec]
    run: Callable[[Spec, "Context"], dict[str, Any]]
    claims: Callable[[dict[str, Any], Spec], list[Claim]]
    figures: Callable[[dict[str, Any], Spec, Path], list[str]]
    # Why ``--device auto`` runs this experiment on the CPU even where a GPU is present (tiny models, float64
    # linear algebra, long chains of small steps: launch-bound on a GPU), or None. ``--device cuda`` still wins.
    cpu_on_auto: str | None = None
    # Wall seconds of the quick preset in CI (one thread; 2-core AMD EPYC, 2026-11-22), or None. Only an order:
    # ``reproduce --jobs N`` starts the longest first, so the last one to finish does not start last.
    quick_wall_s: float | None = None
    # Spec keys (dotted) that hold tuples of seeds. When a claim is inconclusive, the runner may rerun with more
    # seeds in these fields (each extended to the same new count), up to ``max_seeds``; --seeds N sets them.
    seed_fields: tuple[str, ...] = ()
    max_seeds: int | dict[str, int] = 0  # one cap for every seed field, or one per field ({field: cap})
    # Which seed fields a claim's intervals rest on, by claim-id prefix (the longest matching prefix wins); a claim
    # no prefix matches rests on all of ``seed_fields``. Escalation extends only the fields of the open claims.
    seed_scope: dict[str, tuple[str, ...]] | None = None
    # Plain population cells train their seeds in blocks of this many (each block a cell), so more seeds reuse
    # the blocks already trained; None: one population per cell. Set it to the quick preset's seed count.
    seed_block: int | None = None
    # Does the experiment's science apply on scikit-learn digits (``--robustness`` reruns it there)? Experiments
    # whose claims are numbers of the MNIST-1D paper, or that need MNIST-1D's size, say False.
    on_digits: bool = False

    def seed_fields_for(self, claim_ids: Sequence[str]) -> tuple[str, ...]:
        """The seed fields that more seeds in would narrow the intervals of ``claim_ids`` (``seed_scope``)."""
        scope = self.seed_scope or {}
        out: set[str] = set()
        for cid in claim_ids:
            keys = [k for k in scope if cid.startswith(k)]
            out |= set(scope[max(keys, key=len)] if keys else self.seed_fields)
        return tuple(f for f in self.seed_fields if f in out)

    @property
    def spec_type(self) -> type:
        return type(self.presets["quick"])

    def preset(self, name: str) -> Spec:
        if name not in self.presets:
            raise SpecError(f"{self.name} has no preset {name!r}; presets: {', '.join(self.presets)}")
        return self.presets[name]


def mean(values: Sequence[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")


def std(values: Sequence[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if len(vals) < 2:
        return 0.0
    m = mean(vals)
    return (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5


from .context import Context  # noqa: E402  (Context needs Claim-free imports only)
