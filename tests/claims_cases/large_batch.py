"""Refutation cases for large-batch (Keskar et al. 2017): at a matched training loss, batch 1024 finds sharper
minima (λ_max, ε-sharpness) than batch 32; the test gap is reported. Three members per regime."""

from claims_cases._case import Case


def _regime(lam, eps, acc):
    return [{"lambda_max": lam * (1 + 0.05 * i), "eps_sharpness": eps * (1 + 0.05 * i), "test_acc": acc + 0.3 * i}
            for i in range(3)]


def record(sb=(10.0, 1.0, 70.0), lb=(77.0, 3.2, 65.0), complete=True):
    """(λ_max, ε-sharpness, test acc %) of each regime's members; ``complete``: all reached the matched loss."""
    at = {"SB": _regime(*sb), "LB": _regime(*lb)}
    if not complete:
        at["LB"][2] = None
    return {"regimes": {k: {"at_target": v} for k, v in at.items()}}


CASES = [
    Case(claim="large-batch/sharper-lambda-max", status="PASS", results=record(),
         why="λ_max 7.7x higher at batch 1024"),
    Case(claim="large-batch/sharper-lambda-max", status="FAIL", results=lambda: record(lb=(12.0, 3.2, 65.0)),
         why="λ_max only 1.2x higher: not sharper by the factor of 3"),
    Case(claim="large-batch/sharper-lambda-max", status="FAIL", results=lambda: record(complete=False),
         why="a large-batch member never reached the matched loss: the premise fails"),
    Case(claim="large-batch/sharper-epsilon", status="PASS", results=record(),
         why="every large-batch member 3x sharper than every small-batch one"),
    Case(claim="large-batch/sharper-epsilon", status="FAIL", results=lambda: record(lb=(77.0, 0.5, 65.0)),
         why="large-batch solutions flatter in ε-sharpness"),
    Case(claim="large-batch/tests-worse", status="PASS", results=record(),
         why="batch 32 tests 5 points better"),
    Case(claim="large-batch/tests-worse", status="FAIL", results=lambda: record(lb=(77.0, 3.2, 75.0)),
         why="batch 1024 tests 5 points better (reported, not gated)"),
]
