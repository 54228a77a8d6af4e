"""Refutation cases for saddles (Dauphin et al. 2014, Fig. 1): at critical points the index rises with the loss.
Six trajectories (seeds) of five critical points each; a cluster bootstrap resamples whole trajectories."""

from claims_cases._case import Case


def record(slope=1.0, critical=5, starts=5):
    """Point j of trajectory s has objective 0.2·(j + 1) + 0.01·s and index slope·0.05·(j + 1) (+ 0.005·s): rising
    with the loss for slope > 0, falling for slope < 0; ``critical`` of each trajectory's starts converged."""
    points = []
    for s in range(6):
        for j in range(starts):
            idx = 0.5 + slope * 0.05 * (j + 1) + 0.005 * s
            points.append({"seed": s, "objective": 0.2 * (j + 1) + 0.01 * s, "index": idx, "critical": j < critical})
    return {"points": points}


CASES = [
    Case(claim="saddles/index-rises-with-loss", status="PASS", results=record(),
         why="30 critical points whose index rises with their loss in every trajectory"),
    Case(claim="saddles/index-rises-with-loss", status="FAIL", results=lambda: record(slope=-1.0),
         why="the index falls as the loss rises: higher critical points are closer to minima"),
    Case(claim="saddles/index-rises-with-loss", status="FAIL", results=lambda: record(critical=1),
         why="only 6 of 30 starts reached a critical point: fewer than the 8 the correlation needs (the premise)"),
]
