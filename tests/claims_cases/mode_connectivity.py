"""Refutation cases for mode-connectivity (Frankle et al. 2020): copies of a CNN spawned at initialization end in
different basins, copies spawned after a little training stay linearly connected, independently initialized nets are
not connected, and an MLP control is stable at init. Four parents; barriers in points of test error."""

from claims_cases._case import Case, spread

KS = [0, 5, 10, 20, 40, 80, 160]


def record(barriers=None, independent=20.0, control=0.8, steps=1600):
    """``barriers``: mean test-error barrier (points) per spawn step k (4 parents, ±0.3)."""
    bars = {**{0: 6.0, 5: 4.0, 10: 2.5, 20: 1.2, 40: 0.8, 80: 0.6, 160: 0.5}, **(barriers or {})}
    per = [spread(bars[k], 4, 0.3) for k in KS]
    return {"spawn_steps": KS, "steps": steps, "barrier": per, "mean_barrier": [bars[k] for k in KS],
            "independent": {"barrier": spread(independent, 4, 1.0)},
            "control": {"model": "mlp", "lr": 0.05, "barrier": spread(control, 4, 0.3)}}


CASES = [
    Case(claim="mode-connectivity/unstable-at-init", status="PASS", results=record(),
         why="a 6-point barrier between copies spawned at k = 0"),
    Case(claim="mode-connectivity/unstable-at-init", status="FAIL", results=lambda: record(barriers={0: 0.5}),
         why="copies spawned at k = 0 are already connected (0.5 points)"),
    Case(claim="mode-connectivity/stable-early", status="PASS", results=record(),
         why="barriers below 2 points from k = 20 on (1.25% of 1600 steps)"),
    Case(claim="mode-connectivity/stable-early", status="FAIL", results=lambda: record(barriers={160: 5.0}),
         why="the barrier comes back at k = 160: not stable from an early k on"),
    Case(claim="mode-connectivity/independent-inits-not-connected", status="PASS", results=record(),
         why="a 20-point barrier between independently initialized nets"),
    Case(claim="mode-connectivity/independent-inits-not-connected", status="FAIL",
         results=lambda: record(independent=0.5), why="independent nets connected by a straight line (0.5 points)"),
    Case(claim="mode-connectivity/mlp-stable-at-init", status="PASS", results=record(),
         why="the MLP control's barrier at k = 0 is 0.8 points"),
    Case(claim="mode-connectivity/mlp-stable-at-init", status="FAIL", results=lambda: record(control=8.0),
         why="the MLP control has an 8-point barrier at k = 0"),
]
