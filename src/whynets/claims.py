"""Claims and the checks that decide them, with their uncertainty.

A claim is one falsifiable statement of a paper, measured here. It is decided by one or more *checks*; each
check is a threshold on an estimate with an interval (``whynets.stats``), and is decided on the side of the
interval, never on the point estimate:

* ``estimate >= t`` PASSES when the interval's lower end is >= t, FAILS when its upper end is < t, and is
  INCONCLUSIVE when the interval straddles t (and likewise for <= and for a band ``a <= estimate <= b``);
* a per-seed direction check passes when every seed points the claimed way, fails when most seeds point the
  other way, and is inconclusive in between.

A claim passes when every check passes, fails when any check fails, and is inconclusive otherwise. Its
*margin* is that of its tightest check: the distance from the threshold to the estimate on the passing side,
in units of the interval's width; |margin| < 0.5 means the interval straddles the threshold.

Two more outcomes: a claim the paper says to *report, not gate* (REPORTED), and a claim this preset did not
measure (SKIPPED, with the reason). A claim that honestly does not reproduce keeps FAIL and carries an
``expected_failure`` reason computed from the run; then it shows as EXPECTED-FAIL and does not fail a run.

    >>> from whynets.claims import Claim, mean_check
    >>> c = Claim(id="demo/acc", source="a paper", statement="accuracy is high", paper=0.9,
    ...           checks=[mean_check("mean test acc", [0.91, 0.93, 0.92], ">=", 0.85)])
    >>> c.verdict
    'pass'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .stats import (Interval, bootstrap_interval, exact, paired_t_interval, proportion_interval, t_interval)

__all__ = ["Check", "Claim", "decide", "mean_check", "paired_check", "bootstrap_check", "rate_check",
           "exact_check", "direction_check", "fact_check", "status", "STATUSES"]

STATUSES = ("PASS", "FAIL", "INCONCLUSIVE", "EXPECTED-FAIL", "REPORTED", "SKIPPED")
_OPS = (">=", "<=", ">", "<", "within")


def decide(iv: Interval, op: str, threshold: float | tuple[float, float]) -> tuple[str, float | None]:
    """(verdict, margin) of ``estimate op threshold`` decided on the interval's side.

    ``>`` and ``<`` are decided like ``>=`` and ``<=``: an interval cannot tell them apart."""
    if op not in _OPS:
        raise ValueError(f"unknown comparison {op!r}; use one of {', '.join(_OPS)}")
    if not math.isfinite(iv.estimate):
        return "fail", None
    if op == "within":
        a, b = threshold  # type: ignore[misc]
        lo_v, lo_m = decide(iv, ">=", a)
        hi_v, hi_m = decide(iv, "<=", b)
        verdict = "fail" if "fail" in (lo_v, hi_v) else "pass" if lo_v == hi_v == "pass" else "inconclusive"
        margins = [m for m in (lo_m, hi_m) if m is not None]
        return verdict, min(margins) if margins else None
    t = float(threshold)  # type: ignore[arg-type]
    up = op in (">=", ">")
    if up:
        verdict = "pass" if iv.lo >= t else "fail" if iv.hi < t else "inconclusive"
        distance = iv.estimate - t
    else:
        verdict = "pass" if iv.hi <= t else "fail" if iv.lo > t else "inconclusive"
        distance = t - iv.estimate
    width = iv.width
    if not math.isfinite(width):
        margin = 0.0
    elif width == 0:
        margin = math.copysign(math.inf, distance) if distance != 0 else 0.0
    else:
        margin = distance / width
    return verdict, margin


@dataclass(kw_only=True)
class Check:
    """One threshold on one estimate: what was measured, the interval, the rule and its verdict."""

    name: str
    op: str
    threshold: Any
    interval: Interval
    values: list[Any] | None = None
    verdict: str = ""
    margin: float | None = None

    def __post_init__(self) -> None:
        if not self.verdict:
            self.verdict, self.margin = decide(self.interval, self.op, self.threshold)

    @property
    def criterion(self) -> str:
        if self.op == "within":
            a, b = self.threshold
            return f"{_num(a)} <= {self.name} <= {_num(b)}"
        if self.op == "all":
            return self.name
        return f"{self.name} {self.op} {_num(self.threshold)}"

    def to_dict(self) -> dict[str, Any]:
        iv = self.interval
        return {"name": self.name, "criterion": self.criterion, "op": self.op, "threshold": self.threshold,
                "estimate": iv.estimate, "interval": [iv.lo, iv.hi], "level": iv.level, "n": iv.n,
                "method": iv.method, "values": self.values, "verdict": self.verdict, "margin": self.margin}


def _num(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def mean_check(name: str, values: Sequence[float | None], op: str, threshold: Any) -> Check:
    """A threshold on the mean over seeds (t-interval)."""
    return Check(name=name, op=op, threshold=threshold, interval=t_interval(values), values=list(values))


def paired_check(name: str, a: Sequence[float | None], b: Sequence[float | None], op: str, threshold: Any) -> Check:
    """A threshold on the mean of paired differences a_i − b_i (same seed, two conditions)."""
    return Check(name=name, op=op, threshold=threshold, interval=paired_t_interval(a, b),
                 values=[None if x is None or y is None else x - y for x, y in zip(a, b)])


def bootstrap_check(name: str, statistic: Callable[..., float], groups: Sequence[Sequence[float]], op: str,
                    threshold: Any, seed: int = 0) -> Check:
    """A threshold on any statistic of independent groups (percentile bootstrap, fixed seed)."""
    return Check(name=name, op=op, threshold=threshold, interval=bootstrap_interval(statistic, *groups, seed=seed),
                 values=[list(g) for g in groups])


def rate_check(name: str, k: int, n: int, op: str, threshold: Any) -> Check:
    """A threshold on a rate k/n measured on n examples (Clopper–Pearson)."""
    return Check(name=name, op=op, threshold=threshold, interval=proportion_interval(int(k), int(n)), values=[k, n])


def exact_check(name: str, value: float | None, op: str, threshold: Any, why: str = "deterministic") -> Check:
    """A threshold on a number without sampling noise (a closed-form or float64 solve)."""
    iv = exact(math.nan if value is None else value, why)
    return Check(name=name, op=op, threshold=threshold, interval=iv, values=[value])


def direction_check(name: str, flags: Sequence[bool | None]) -> Check:
    """Does the effect point the claimed way in every seed? Pass: all do; fail: most do not; else inconclusive."""
    known = [bool(f) for f in flags if f is not None]
    n, k = len(known), sum(known)
    verdict = "pass" if n and k == n else "fail" if 2 * k < n or n == 0 else "inconclusive"
    iv = Interval(k / n if n else math.nan, k / n if n else math.nan, k / n if n else math.nan, n,
                  f"per-seed direction: {k} of {n} seeds")
    return Check(name=name, op="all", threshold=None, interval=iv, values=list(flags), verdict=verdict)


def fact_check(name: str, holds: bool, value: Any = None) -> Check:
    """A logical fact of the run with no noise (e.g. an ordering of deterministic numbers)."""
    iv = Interval(1.0 if holds else 0.0, 1.0 if holds else 0.0, 1.0 if holds else 0.0, 1, "deterministic fact")
    return Check(name=name, op="all", threshold=None, interval=iv, values=None if value is None else [value],
                 verdict="pass" if holds else "fail")


@dataclass(kw_only=True)
class Claim:
    """One falsifiable statement: the paper's number beside ours, decided by its checks.

    ``reported``: the paper's statement is shown with its measurement but not gated (PHENOMENA says so).
    ``skipped``: why this preset did not measure it. ``expected_failure``: why a failure is an honest
    finding at this scale (attached only when the claim fails; computed from the run)."""

    id: str
    source: str
    statement: str
    paper: Any
    checks: list[Check] = field(default_factory=list)
    measured: Any = None
    criterion: str | None = None
    expected_failure: str | None = None
    reported: bool = False
    skipped: str | None = None

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        if not self.checks:
            raise ValueError(f"claim {self.id}: no checks decide it")
        gated = [c.verdict for c in self.checks]
        if self.reported:
            return "reported"
        if "fail" in gated:
            return "fail"
        return "pass" if all(v == "pass" for v in gated) else "inconclusive"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def resolvable(self) -> bool:
        """Inconclusive only through an interval check, which more seeds can narrow? (A per-seed direction check
        that some seeds contradict gets no easier with more seeds.)"""
        return self.verdict == "inconclusive" and any(c.verdict == "inconclusive" and c.op != "all" for c in self.checks)

    @property
    def margin(self) -> float | None:
        margins = [c.margin for c in self.checks if c.margin is not None]
        return min(margins) if margins else None

    def to_dict(self) -> dict[str, Any]:
        verdict = self.verdict
        d = {"id": self.id, "source": self.source, "statement": self.statement,
             "criterion": self.criterion or " and ".join(c.criterion for c in self.checks) or "—",
             "paper": self.paper, "measured": self.measured if self.measured is not None else _measured(self.checks),
             "verdict": verdict, "passed": verdict == "pass", "margin": self.margin, "resolvable": self.resolvable,
             "checks": [c.to_dict() for c in self.checks]}
        if self.skipped:
            d["skipped"] = self.skipped
        if self.expected_failure and verdict in ("fail", "inconclusive"):
            d["expected_failure"] = self.expected_failure
        return d


def _measured(checks: list[Check]) -> Any:
    if len(checks) == 1:
        return checks[0].interval.estimate
    return {c.name: c.interval.estimate for c in checks}


def status(claim: dict[str, Any]) -> str:
    """PASS | FAIL | INCONCLUSIVE | EXPECTED-FAIL | REPORTED | SKIPPED for a claim record (a dict)."""
    verdict = claim.get("verdict") or ("pass" if claim.get("passed") else "fail")
    if verdict == "fail" and claim.get("expected_failure"):
        return "EXPECTED-FAIL"
    return {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "reported": "REPORTED",
            "skipped": "SKIPPED"}[verdict]
