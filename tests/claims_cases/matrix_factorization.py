"""Refutation cases for matrix-factorization (Gunasekar et al. 2017; Arora et al. 2019): depth 1 learns nothing off
the observed entries, deeper factorizations recover a rank-5 100×100 matrix from fewer entries with lower effective
rank, and depth 2 tracks the minimum-nuclear-norm completion. Two observation masks, entries 1000-4000."""

from claims_cases._case import Case

OBS = (1000, 1500, 2000, 2500, 3000, 4000)
MASKS = (0, 1)


def _default(depth, n):
    """Relative test error: depth 1 never recovers; depth 2 from 2500 entries; depth 3 from 1500."""
    if depth == 1:
        return 1.0
    return 0.02 if n >= {2: 2500, 3: 1500}[depth] else 0.5


def record(err=None, nuc=None, rank=None, nuc_ratio=1.0):
    """``err``/``nuc``/``rank``: overrides {(depth, n): value} of the relative test error, the min-nuclear
    completion's error ({n: value}) and the effective rank; masks differ by ±0.002 in error."""
    cells = {}
    for n in OBS:
        for m in MASKS:
            c = {}
            for d in (1, 2, 3):
                e = (err or {}).get((d, n), _default(d, n)) + 0.002 * m
                r = (rank or {}).get((d, n), {1: 60.0, 2: 8.0, 3: 5.0}[d])
                c[f"depth={d}"] = {"test_error": e, "effective_rank": r, "nuclear_norm": 500.0 * nuc_ratio}
            c["min-nuclear"] = {"test_error": (nuc or {}).get(n, _default(2, n)) + 0.002 * m, "nuclear_norm": 500.0}
            cells[f"{n}/{m}"] = c
    sweep = {f"depth={d}": {"effective_rank": [cells[f"{n}/0"][f"depth={d}"]["effective_rank"] for n in OBS]}
             for d in (1, 2, 3)}
    sweep["depth=2"]["nuclear_ratio"] = [nuc_ratio] * len(OBS)
    return {"observations": list(OBS), "cells": cells, "sweep": sweep, "max_certified_gap": 1e-6}


CASES = [
    Case(claim="matrix-factorization/shallow-fails", status="PASS", results=record(),
         why="depth 1 leaves the unobserved entries at 0: relative error 1"),
    Case(claim="matrix-factorization/shallow-fails", status="FAIL", results=lambda: record(err={(1, 2000): 0.3}),
         why="depth 1 reaches error .3: it learns off the observed entries, which plain GD on W cannot"),
    Case(claim="matrix-factorization/depth2-recovers", status="PASS", results=lambda: record(err={(2, 2000): 0.03}),
         why="depth 2 recovers at 2000 entries (.03)"),
    Case(claim="matrix-factorization/depth2-recovers", status="EXPECTED-FAIL", results=record(),
         why="depth 2 errs .5 at 2000 entries, as the min-nuclear completion does (.5): the predicted tracking"),
    Case(claim="matrix-factorization/depth2-recovers", status="FAIL", results=lambda: record(nuc={2000: 0.03}),
         why="the min-nuclear completion recovers (.03) but depth 2 errs .5: it does not track it"),
    Case(claim="matrix-factorization/depth3-recovers", status="PASS", results=record(),
         why="depth 3 recovers at 2000 entries (.02)"),
    Case(claim="matrix-factorization/depth3-recovers", status="FAIL", results=lambda: record(err={(3, 2000): 0.4}),
         why="depth 3 errs .4 at 2000 entries"),
    Case(claim="matrix-factorization/depth3-beats-depth2", status="PASS", results=record(),
         why="depth 3 errs .02 vs depth 2's .5, effective rank 5"),
    Case(claim="matrix-factorization/depth3-beats-depth2", status="FAIL", results=lambda: record(err={(3, 2000): 0.7}),
         why="depth 3 errs .7, worse than depth 2's .5"),
    Case(claim="matrix-factorization/depth2-min-nuclear", status="PASS", results=record(),
         why="depth 2's nuclear norm equals the minimum (ratio 1)"),
    Case(claim="matrix-factorization/depth2-min-nuclear", status="FAIL", results=lambda: record(nuc_ratio=1.4),
         why="depth 2's nuclear norm is 1.4x the minimum"),
    Case(claim="matrix-factorization/deeper-lower-rank", status="PASS", results=record(),
         why="effective rank 60, 8, 5 for depths 1, 2, 3 at every count and mask"),
    Case(claim="matrix-factorization/deeper-lower-rank", status="FAIL",
         results=lambda: record(rank={(3, n): 20.0 for n in OBS}), why="depth 3's effective rank 20 exceeds depth 2's 8"),
    Case(claim="matrix-factorization/deeper-needs-fewer", status="PASS", results=record(),
         why="depth 3 recovers from 1500 entries, depth 2 from 2500, depth 1 never"),
    Case(claim="matrix-factorization/deeper-needs-fewer", status="FAIL",
         results=lambda: record(err={(3, n): 0.5 for n in (1500, 2000, 2500)}),
         why="depth 3 needs 3000 entries, more than depth 2's 2500"),
]
