"""A refutation case: a constructed results record fed to an experiment's ``claims(results, spec)``, and the status
one of its claims must get.

One file per experiment module, ``tests/claims_cases/<module_name>.py`` (``lottery_ticket.py`` for
``whynets.experiments.lottery_ticket``), defines ``CASES: list[Case]``. ``tests/test_claims_can_fail.py`` runs every
case and asserts the status, and fails naming any claim id the experiment produces without both a FAIL case (the
paper's effect absent or reversed) and a PASS case (the effect present). A claim that declares a prediction
(``Claim(expected=Prediction(...))``) also needs an EXPECTED-FAIL case, and its FAIL case should be one where the
paper's effect is absent *and* the measurement is outside the predicted range. A REPORTED claim is not gated: its
cases give the verdict its checks would have.

    from claims_cases._case import Case, spread

    def record(gap=5.0):
        return {"test_acc": spread(70.0 + gap), "chance": 10.0}

    CASES = [
        Case(claim="toy/learns", status="PASS", results=record(), why="70 points above chance on every seed"),
        Case(claim="toy/learns", status="FAIL", results=lambda: record(gap=-60.0), why="at chance: nothing learned"),
    ]

Records are built from numbers a reader can check by eye, never copied from a run: the case says what the paper's
effect is, in the numbers the claim reads. The cases of one spec share what a run computes from the spec alone
(closed-form theory, sizes); only the measurements differ, so a prediction that changes between them was declared
from a measurement (the test fails then).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from whynets.spec import Spec

__all__ = ["Case", "spread", "STATUSES"]

STATUSES = ("PASS", "FAIL", "EXPECTED-FAIL", "INCONCLUSIVE")


@dataclass(frozen=True)
class Case:
    """``claim``: the claim id; ``status``: what it must be; ``results``: the results record (or a function building
    it); ``why``: one line saying what the record shows; ``spec``: a preset name of the experiment or a spec."""

    claim: str
    status: str
    results: dict[str, Any] | Callable[[], dict[str, Any]]
    why: str
    spec: str | Spec = "quick"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"case {self.claim}: status {self.status!r}, want one of {STATUSES}")
        if len(self.why.strip()) < 10:
            raise ValueError(f"case {self.claim}: say in one line why the record gets {self.status}")

    @property
    def experiment(self) -> str:
        return self.claim.split("/", 1)[0]

    def record(self) -> dict[str, Any]:
        return self.results() if callable(self.results) else self.results


def spread(center: float, n: int = 3, half: float = 0.5) -> list[float]:
    """``n`` per-seed values evenly spread over [center − half, center + half] (mean ``center``): a small, known
    seed-to-seed scatter, so an interval over them is narrow and its side of a threshold obvious."""
    if n == 1:
        return [float(center)]
    return [float(center - half + 2 * half * i / (n - 1)) for i in range(n)]
