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
measure (SKIPPED, with the reason).

**Expected findings are predictions.** A claim that we expect not to reproduce at this scale declares so when
it is built, before anything is judged: ``Claim(..., expected=Prediction(outcome=..., why=..., checks=[...]))``
says which outcome is expected instead of the paper's, why (the scale, the estimator, the data size: words of
the spec, or closed-form theory computed from it, never a measurement), and the range it expects, as checks with
their own intervals. Then

* the paper's checks pass                                  -> PASS (the paper's effect showed after all);
* the paper's checks fail and the prediction's checks pass -> EXPECTED-FAIL (a prediction that came true; it
  does not fail a run);
* the paper's checks fail and a prediction's check fails   -> FAIL (neither the paper nor our prediction);
* the paper's checks fail and the prediction is undecided  -> INCONCLUSIVE (more seeds may decide it);
* no prediction declared                                   -> the paper's verdict, FAIL included.

Nothing attaches a reason *because* a claim failed: ``expected`` (like ``reported`` and ``skipped``) can only be
given when the claim is built, and assigning it afterwards raises; ``tests/test_claims_can_fail.py`` also checks
that every claim's prediction is the same whether its results show the paper's effect or not, and greps the
experiments for excuses set after a verdict. A claim whose *premise* does not hold in our setting is not an
expected finding: choose the setting the paper chose and check the premise as a claim of its own.

    >>> from whynets.claims import Claim, Prediction, mean_check
    >>> c = Claim(id="demo/acc", source="a paper", statement="accuracy is high", paper=0.9,
    ...           checks=[mean_check("mean test acc", [0.91, 0.93, 0.92], ">=", 0.85)])
    >>> c.verdict, c.status
    ('pass', 'PASS')
    >>> small = Claim(id="demo/acc-small", source="a paper", statement="accuracy is high", paper=0.9,
    ...               checks=[mean_check("mean test acc", [0.61, 0.63, 0.62], ">=", 0.85)],
    ...               expected=Prediction(outcome="accuracy 0.5-0.8", why="40 training examples, not 60000",
    ...                                   checks=[mean_check("mean test acc", [0.61, 0.63, 0.62], "within",
    ...                                                      (0.5, 0.8))]))
    >>> small.status
    'EXPECTED-FAIL'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .stats import (Interval, bootstrap_interval, exact, paired_t_interval, proportion_interval, t_interval)

__all__ = ["Check", "Claim", "Prediction", "decide", "mean_check", "paired_check", "bootstrap_check", "rate_check",
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


def _checks_verdict(checks: list[Check], owner: str) -> str:
    if not checks:
        raise ValueError(f"{owner}: no checks decide it")
    gated = [c.verdict for c in checks]
    if "fail" in gated:
        return "fail"
    return "pass" if all(v == "pass" for v in gated) else "inconclusive"


@dataclass(kw_only=True, frozen=True)
class Prediction:
    """An expected finding, declared with its claim before the verdict (see the module docstring).

    ``outcome``: what we expect to measure instead of the paper's result; ``why``: the reason in terms of the
    setting (scale, estimator, data size; never a number read off the results); ``checks``: the expected range,
    each check with its own interval. Outside that range the claim FAILS."""

    outcome: str
    why: str
    checks: list[Check]

    def __post_init__(self) -> None:
        if len(self.outcome.strip()) < 10 or len(self.why.strip()) < 10:
            raise ValueError("a prediction says what is expected and why, in words (outcome and why)")
        if not self.checks:
            raise ValueError(f"prediction {self.outcome!r}: no checks decide it; give the expected range as a check")

    @property
    def verdict(self) -> str:
        return _checks_verdict(self.checks, f"prediction {self.outcome!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "why": self.why, "verdict": self.verdict,
                "criterion": " and ".join(c.criterion for c in self.checks),
                "checks": [c.to_dict() for c in self.checks]}


_DECLARED = ("expected", "reported", "skipped")  # what decides a claim's status besides its checks


@dataclass(kw_only=True)
class Claim:
    """One falsifiable statement: the paper's number beside ours, decided by its checks.

    ``reported``: the paper's statement is shown with its measurement but not gated (PHENOMENA says so).
    ``skipped``: why this preset did not measure it. ``expected``: a `Prediction` declared before the verdict
    (an expected finding with its own range). These three are given when the claim is built and never assigned
    afterwards (assigning raises), so no code can attach them because of a verdict."""

    id: str
    source: str
    statement: str
    paper: Any
    checks: list[Check] = field(default_factory=list)
    measured: Any = None
    criterion: str | None = None
    expected: Prediction | None = None
    reported: bool = False
    skipped: str | None = None

    def __post_init__(self) -> None:
        if self.expected is not None and not isinstance(self.expected, Prediction):
            raise TypeError(f"claim {self.id}: expected must be a Prediction, got {type(self.expected).__name__}")
        if self.expected is not None and self.reported:
            raise ValueError(f"claim {self.id}: a reported claim is not gated, so it has no expected finding")
        object.__setattr__(self, "_built", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _DECLARED and getattr(self, "_built", False):
            raise AttributeError(f"claim {self.id}: {name!r} is declared when the claim is built (before its "
                                 "verdict), never assigned afterwards")
        if name == "expected_failure":
            raise AttributeError(f"claim {self.id}: expected_failure is gone; declare Claim(expected=Prediction(...)) "
                                 "when the claim is built")
        object.__setattr__(self, name, value)

    @property
    def paper_verdict(self) -> str:
        """The verdict of the paper's checks alone."""
        return _checks_verdict(self.checks, f"claim {self.id}")

    @property
    def verdict(self) -> str:
        """pass | fail | inconclusive | reported | skipped. A failed claim whose declared prediction passes keeps
        "fail" (its status is EXPECTED-FAIL); one whose prediction is undecided is "inconclusive"."""
        if self.skipped:
            return "skipped"
        paper = self.paper_verdict
        if self.reported:
            return "reported"
        if paper == "fail" and self.expected is not None and self.expected.verdict == "inconclusive":
            return "inconclusive"
        return paper

    @property
    def status(self) -> str:
        return status(self.to_dict())

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def resolvable(self) -> bool:
        """Inconclusive only through an interval check, which more seeds can narrow? (A per-seed direction check
        that some seeds contradict gets no easier with more seeds.)"""
        if self.verdict != "inconclusive":
            return False
        deciding = self.expected.checks if self.paper_verdict == "fail" else self.checks  # type: ignore[union-attr]
        return any(c.verdict == "inconclusive" and c.op != "all" for c in deciding)

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
        if self.reported and not self.skipped:
            d["reported"] = True
            d["checks_verdict"] = self.paper_verdict
        if self.expected is not None and not self.skipped:
            d["expected"] = self.expected.to_dict()
            pv = d["expected"]["verdict"]
            if self.paper_verdict == "fail" and pv != "fail":  # the note the tables list expected findings by
                came = "came true" if pv == "pass" else "is undecided"
                d["expected_failure"] = (f"predicted: {self.expected.outcome} ({self.expected.why}); the prediction "
                                         f"{came}: " + "; ".join(f"{c['criterion']} ({c['verdict']})"
                                                                 for c in d["expected"]["checks"]))
        return d


def _measured(checks: list[Check]) -> Any:
    if len(checks) == 1:
        return checks[0].interval.estimate
    return {c.name: c.interval.estimate for c in checks}


def status(claim: dict[str, Any]) -> str:
    """PASS | FAIL | INCONCLUSIVE | EXPECTED-FAIL | REPORTED | SKIPPED for a claim record (a dict)."""
    verdict = claim.get("verdict") or ("pass" if claim.get("passed") else "fail")
    if verdict == "fail" and (claim.get("expected") or {}).get("verdict") == "pass":
        return "EXPECTED-FAIL"  # a declared prediction that came true
    return {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "reported": "REPORTED",
            "skipped": "SKIPPED"}[verdict]
