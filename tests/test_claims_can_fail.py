"""Every claim can fail: refutation cases for every claim id, and no excuse attached after a verdict.

* Each experiment module has ``tests/claims_cases/<module_name>.py`` with ``CASES`` (see ``claims_cases/_case.py``):
  constructed results records fed to its ``claims(results, spec)``, each with the status one claim must get.
  Every claim id the experiment produces needs a FAIL case (the paper's effect absent or reversed) and a PASS case;
  one that declares a prediction also an EXPECTED-FAIL case. An experiment without a case file fails here, by name.
* A prediction (``Claim(expected=Prediction(...))``) is declared before the verdict: for one spec, its presence,
  outcome, reason and thresholds are the same whatever the results show.
* No experiment sets ``expected_failure`` (gone from the API), assigns a claim's ``expected``/``reported``/``skipped``
  after building it, or reads a verdict: a grep over ``src/whynets/experiments``.

    WHYNETS_THREADS=1 .venv/bin/python -m pytest tests/test_claims_can_fail.py -q -k "not smoke"
"""

from __future__ import annotations

import importlib
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import whynets.experiments as catalogue
from whynets.claims import Claim, Prediction, mean_check, status
from whynets.experiments import get, names

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from claims_cases._case import Case  # noqa: E402

EXPERIMENTS = Path(catalogue.__file__).resolve().parent


def _module(name: str) -> str:
    return catalogue._registry()[name].rsplit(".", 1)[1]


def _cases(name: str) -> list[Case] | None:
    module = _module(name)
    if not (HERE / "claims_cases" / f"{module}.py").exists():
        return None
    cases = importlib.import_module(f"claims_cases.{module}").CASES
    assert all(isinstance(c, Case) for c in cases), f"claims_cases/{module}.py: CASES holds Case records only"
    return cases


def _all_cases() -> list[Case]:
    return [c for n in names() for c in (_cases(n) or [])]


def _spec(case: Case):
    return get(case.experiment).preset(case.spec) if isinstance(case.spec, str) else case.spec


def _claims(case: Case) -> dict[str, Claim]:
    out = get(case.experiment).claims(case.record(), _spec(case))
    ids = [c.id for c in out]
    assert len(ids) == len(set(ids)), f"{case.experiment}: claim ids repeat: {ids}"
    return {c.id: c for c in out}


def _status(claim: Claim) -> str:
    """The claim's status; for a REPORTED claim (not gated), the status its checks would give."""
    if claim.reported:
        return {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}[claim.paper_verdict]
    return claim.status


def _declared(claim: Claim):
    p = claim.expected
    return None if p is None else (p.outcome, p.why, [(c.name, c.op, c.threshold) for c in p.checks])


# --- the API --------------------------------------------------------------------------------------------------------


def _claim(values, expected=None, **kw):
    return Claim(id="t/c", source="s", statement="mean is at least 10", paper=10.0,
                 checks=[mean_check("mean", values, ">=", 10.0)], expected=expected, **kw)


def _prediction(values, band=(4.0, 6.0)):
    return Prediction(outcome="a mean of 4 to 6 instead", why="a tiny data set (declared in the spec)",
                      checks=[mean_check("mean", values, "within", band)])


def test_status_of_a_declared_prediction():
    assert _claim([11.9, 12, 12.1], _prediction([11.9, 12, 12.1])).status == "PASS"  # the paper's effect showed after all
    assert _claim([4.9, 5, 5.1], _prediction([4.9, 5, 5.1])).status == "EXPECTED-FAIL"  # came true
    assert _claim([0.9, 1, 1.1], _prediction([0.9, 1, 1.1])).status == "FAIL"  # outside the declared range
    assert _claim([0.9, 1, 1.1]).status == "FAIL"  # nothing declared
    undecided = _claim([5.5, 6, 6.5], _prediction([5.5, 6, 6.5]))  # interval straddles the band's upper end
    assert undecided.status == "INCONCLUSIVE" and undecided.resolvable
    record = undecided.to_dict()
    assert record["expected"]["verdict"] == "inconclusive" and status(record) == "INCONCLUSIVE"
    came = _claim([4.9, 5, 5.1], _prediction([4.9, 5, 5.1])).to_dict()
    assert status(came) == "EXPECTED-FAIL" and "4 to 6" in came["expected_failure"]
    assert "expected_failure" not in _claim([0.9, 1, 1.1], _prediction([0.9, 1, 1.1])).to_dict()
    assert status({"verdict": "fail", "expected_failure": "an excuse written by old code"}) == "FAIL"


def test_an_excuse_cannot_be_attached_after_the_verdict():
    claim = _claim([0.9, 1, 1.1])
    assert claim.status == "FAIL"
    for name, value in (("expected", _prediction([0.9, 1, 1.1])), ("reported", True), ("skipped", "too small"),
                        ("expected_failure", "it failed, so it was expected")):
        with pytest.raises(AttributeError):
            setattr(claim, name, value)
    assert claim.status == "FAIL"
    with pytest.raises(TypeError):
        Claim(id="t/c", source="s", statement="x", paper=1, checks=[], expected_failure="why")  # gone from the API
    with pytest.raises(TypeError):
        _claim([1, 2, 3], expected="a reason, not a prediction")
    with pytest.raises(ValueError):
        Prediction(outcome="a mean of 4 to 6 instead", why="small data", checks=[])  # a range, as a check


FORBIDDEN = [
    (r"expected_failure", "expected_failure is gone: declare Claim(expected=Prediction(...)) when building the claim"),
    (r"\.(expected|reported|skipped)\s*=[^=]", "a claim's expected/reported/skipped is declared when it is built"),
    (r"\[\s*['\"](expected|reported|skipped|verdict|status)['\"]\s*\]\s*=[^=]", "no status written into a record"),
    (r"setattr\s*\(", "no setattr on claims"),
    (r"\.(verdict|paper_verdict|passed|status|resolvable)\b", "an experiment never reads a verdict: predictions are "
                                                              "declared from the spec, before any verdict"),
]


def test_no_experiment_sets_an_excuse_after_its_verdict():
    found = []
    for path in sorted(EXPERIMENTS.glob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, why in FORBIDDEN:
                if re.search(pattern, code):
                    found.append(f"{path.name}:{i}: {line.strip()}  <- {why}")
    assert not found, "\n".join(found)


# --- the cases ------------------------------------------------------------------------------------------------------

ALL = _all_cases()


@pytest.mark.parametrize("case", ALL, ids=[f"{c.claim}:{c.status}:{i}" for i, c in enumerate(ALL)])
def test_case(case: Case):
    claims = _claims(case)
    assert case.claim in claims, f"{case.experiment}.claims() did not produce {case.claim}; it made {list(claims)}"
    claim = claims[case.claim]
    got = _status(claim)
    assert got == case.status, (f"{case.claim}: {got}, the case wants {case.status} ({case.why}); checks: "
                                + "; ".join(f"{c.criterion}: {c.interval.estimate:.4g} [{c.interval.lo:.4g}, "
                                            f"{c.interval.hi:.4g}] {c.verdict}" for c in claim.checks))
    if case.status == "EXPECTED-FAIL":
        assert claim.expected is not None


@pytest.mark.parametrize("name", names())
def test_every_claim_has_a_refutation_case(name: str):
    cases = _cases(name)
    assert cases is not None, (f"experiment {name} has no refutation cases: write tests/claims_cases/{_module(name)}.py "
                               "with CASES (see tests/claims_cases/_case.py)")
    assert all(c.experiment == name for c in cases), f"claims_cases/{_module(name)}.py holds another experiment's case"
    produced: set[str] = set()
    statuses: dict[str, set[str]] = defaultdict(set)
    declared: dict[tuple[str, str], set] = defaultdict(set)
    predicts: set[str] = set()
    for case in cases:
        claims = _claims(case)
        produced |= set(claims)
        statuses[case.claim].add(case.status)
        spec = _spec(case)
        for cid, claim in claims.items():
            declared[(cid, spec.hash())].add(repr(_declared(claim)))
            if claim.expected is not None:
                predicts.add(cid)
    missing = [f"{cid} (has {sorted(statuses[cid]) or 'no case'})" for cid in sorted(produced)
               if not {"PASS", "FAIL"} <= statuses[cid]]
    missing += [f"{cid} declares a prediction but has no EXPECTED-FAIL case" for cid in sorted(predicts)
                if "EXPECTED-FAIL" not in statuses[cid]]
    assert not missing, f"{name}: claims without a PASS and a FAIL case: " + "; ".join(missing)
    moved = [cid for (cid, _), seen in declared.items() if len(seen) > 1]
    assert not moved, (f"{name}: the prediction of {sorted(set(moved))} changes with the results (declared "
                       "because of a verdict?); declare it from the spec only")


@pytest.mark.parametrize("name", names())
def test_smoke_claims_are_covered(name: str, smoke):
    """Every claim id a real (smoke) run produces has refutation cases (the cases' records are not missing one)."""
    cases = _cases(name) or []
    covered = {c.claim for c in cases}
    real = {c["id"] for c in smoke.record(name)["claims"]}
    assert real <= covered, f"{name}: claims without refutation cases: {sorted(real - covered)}"


def test_the_claims_table_shows_the_declared_prediction():
    from whynets.report.claims import markdown_table, summary

    came = _claim([4.9, 5, 5.1], _prediction([4.9, 5, 5.1])).to_dict()
    failed = _claim([0.9, 1, 1.1], _prediction([0.9, 1, 1.1])).to_dict()
    table = markdown_table([came, failed])
    assert "predicted instead (a mean of 4 to 6 instead)" in table and "**EXPECTED-FAIL**" in table
    assert "**FAIL**" in table  # the prediction that did not come true fails the claim
    assert summary([came, failed])["EXPECTED-FAIL"] == 1 and summary([came, failed])["FAIL"] == 1
