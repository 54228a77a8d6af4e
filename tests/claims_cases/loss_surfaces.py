"""Refutation cases for loss-surfaces (Choromanska et al. 2015): the test losses training runs end at concentrate,
and move down, as the network widens. Widths 10 and 400 (narrowest and widest read), 10 seeds each."""

from claims_cases._case import Case, spread


def _row(width, mean, half):
    losses = spread(mean, 10, half)
    return {"width": width, "test_loss": losses, "mean": mean, "std": half}


def record(narrow=(1.2, 0.3), wide=(0.9, 0.05)):
    """(mean, half-range) of the final test loss over 10 seeds at the narrowest and the widest width."""
    return {"widths": [10, 25, 100, 400], "n_seeds": 10,
            "rows": {"10": _row(10, *narrow), "25": _row(25, 1.1, 0.2), "100": _row(100, 1.0, 0.1),
                     "400": _row(400, *wide)}}


CASES = [
    Case(claim="loss-surfaces/spread-shrinks", status="PASS", results=record(),
         why="the spread of final test losses shrinks 6x from width 10 to 400"),
    Case(claim="loss-surfaces/spread-shrinks", status="FAIL", results=lambda: record(wide=(0.9, 0.6)),
         why="the widest net's runs spread twice as much as the narrowest's"),
    Case(claim="loss-surfaces/band-is-lower", status="PASS", results=record(),
         why="the band moves down from 1.2 to 0.9"),
    Case(claim="loss-surfaces/band-is-lower", status="FAIL", results=lambda: record(wide=(1.6, 0.05)),
         why="the widest net ends at a higher test loss (1.6)"),
]
