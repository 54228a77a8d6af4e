"""Refutation cases for effective-dimensionality (Maddox, Benton & Wilson 2020): with label noise the test loss
double-descends in width, N_eff of the Hessian peaks where it peaks, and N_eff falls past its peak while the
parameter count grows. Seven widths, two seeds (the quick preset's)."""

from claims_cases._case import Case

WIDTHS = [4, 8, 16, 32, 64, 128, 256]


def record(loss=(1.0, 1.2, 1.6, 2.2, 1.7, 1.3, 1.1), neff=(5.0, 10.0, 20.0, 40.0, 25.0, 12.0, 8.0)):
    """Mean curves over width; the two seeds sit ±1% around them."""
    per_seed = {str(w): [{"n_eff": n * (1 + s), "test_loss": l * (1 + s)} for s in (-0.01, 0.01)]
                for w, l, n in zip(WIDTHS, loss, neff)}
    return {"widths": WIDTHS, "n_eff": list(neff), "test_loss": list(loss), "train_err": [0.5, 0.3, 0.1, 0.0, 0.0,
                                                                                          0.0, 0.0],
            "params": [40 * w + w * w for w in WIDTHS], "per_seed": per_seed}


CASES = [
    Case(claim="effective-dimensionality/test-loss-double-descent", status="PASS", results=record(),
         why="the test loss peaks at width 32 (2.2) and falls to 1.1 at 256"),
    Case(claim="effective-dimensionality/test-loss-double-descent", status="FAIL",
         results=lambda: record(loss=(2.2, 2.0, 1.8, 1.6, 1.4, 1.2, 1.1)), why="the test loss only falls: no peak"),
    Case(claim="effective-dimensionality/neff-tracks-test-loss", status="PASS", results=record(),
         why="N_eff and the test loss both peak at width 32"),
    Case(claim="effective-dimensionality/neff-tracks-test-loss", status="FAIL",
         results=lambda: record(neff=(5.0, 10.0, 12.0, 14.0, 16.0, 20.0, 40.0)),
         why="N_eff peaks at 256, four grid steps from the test-loss peak"),
    Case(claim="effective-dimensionality/params-grow-neff-falls", status="PASS", results=record(),
         why="N_eff falls from 40 at its peak to 8 at the widest (0.2x)"),
    Case(claim="effective-dimensionality/params-grow-neff-falls", status="FAIL",
         results=lambda: record(neff=(5.0, 10.0, 20.0, 40.0, 38.0, 37.0, 36.0)),
         why="N_eff stays at 36-40 past its peak (0.9x)"),
]
