"""Refutation cases for signal-propagation: the critical point, mean field against wide nets, the trainability heat
map against 6 ξ_c, and dynamical isometry. The record holds only what ``claims()`` reads; a net "trains" to 0.9
train accuracy and fails at chance (0.1)."""

from claims_cases._case import Case, spread

XI_C = {"1.0": 3.63, "1.15": 5.23, "1.76": 4912.0, "2.5": 11.8, "5.0": 6.01, "8.0": 4.65}  # tanh, σ_b² = 0.05
DEPTHS = [10, 20, 40, 60]
CLAIM_CELLS = {(s, d) for s in ("1.0", "1.76", "8.0") for d in (10, 60)}


def _trains_below(factor):
    """A net trains when its depth is below factor × ξ_c (the paper: 6)."""
    return lambda sigma, depth: depth <= factor * XI_C[sigma]


def record(rule=_trains_below(6.0), critical=1.761, q_ratio=1.0, c_shift=0.0, iso=(1.7, 13.4), iso_large=(11.2, 13.4),
           override=None):
    """``rule(σ_w², depth)``: does the cell train; ``override``: {(σ_w², depth): accuracy} for single cells."""
    cells = {}
    for sigma in XI_C:
        for depth in DEPTHS:
            acc = 0.9 if rule(sigma, depth) else 0.1
            acc = (override or {}).get((sigma, depth), acc)
            n = 3 if (sigma, depth) in CLAIM_CELLS else 1
            cells[f"{sigma}/{depth}"] = {"sigma_w2": float(sigma), "depth": depth, "train_acc": spread(acc, n, 0.01)}
    mc = {"1.3": {"q_star": 0.315, "c_star": 1.0}, "3.0": {"q_star": 1.428, "c_star": 0.299}}
    for v in mc.values():  # mean-field paths at their fixed points from layer 1 on; the nets follow, with scatter
        v["q_mf"], v["c_mf"] = [v["q_star"]] * 30, [v["c_star"]] * 30
        v["q"] = [[v["q_star"] * q_ratio * f] * 30 for f in (0.99, 1.0, 1.01)]
        v["c"] = [[v["c_star"] + c_shift + d] * 30 for d in (-0.005, 0.0, 0.005)]

    def jac(orth, gauss, q):
        return {"q_star": q, "gaussian": {"log_s_std": spread(gauss, 3, 0.1)}, "orthogonal": {"log_s_std": spread(orth, 3, 0.1)}}
    return {"critical_sigma_w2": critical, "theory": {s: {"xi_c": x} for s, x in XI_C.items()}, "cells": cells,
            "monte_carlo": mc, "jacobian": {"0.001": jac(*iso, 0.107), "0.05": jac(*iso_large, 0.57)},
            "points": {"ordered": 1.0, "critical": 1.76, "chaotic": 8.0, "shallow": 10, "deep": 60}}


CASES = [
    Case(claim="signal-propagation/critical-point", status="PASS", results=record(), why="χ₁ = 1 at σ_w² = 1.761"),
    Case(claim="signal-propagation/critical-point", status="FAIL", results=lambda: record(critical=2.0),
         why="the transition computed at σ_w² = 2.0 (ReLU's value), not tanh's 1.76"),
    Case(claim="signal-propagation/mean-field-fixed-points", status="PASS", results=record(),
         why="wide nets within 1% of the mean-field q_l and 0.005 of c_l"),
    Case(claim="signal-propagation/mean-field-fixed-points", status="FAIL", results=lambda: record(q_ratio=1.3, c_shift=0.2),
         why="wide nets sit 30% above the mean-field q_l and 0.2 above c_l"),
    Case(claim="signal-propagation/trainable-at-criticality", status="PASS", results=record(),
         why="the critical depth-60 net trains to 0.9"),
    Case(claim="signal-propagation/trainable-at-criticality", status="FAIL",
         results=lambda: record(override={("1.76", 60): 0.1}), why="the critical depth-60 net stays at chance"),
    Case(claim="signal-propagation/untrainable-off-critical", status="PASS", results=record(),
         why="σ_w² = 1 and 8 stay at chance at depth 60"),
    Case(claim="signal-propagation/untrainable-off-critical", status="FAIL",
         results=lambda: record(rule=lambda s, d: True), why="every net trains at depth 60: no depth limit"),
    Case(claim="signal-propagation/shallow-trainable", status="PASS", results=record(), why="every depth-10 net trains"),
    Case(claim="signal-propagation/shallow-trainable", status="FAIL", results=lambda: record(rule=lambda s, d: s == "1.76"),
         why="only the critical nets train, even at depth 10"),
    Case(claim="signal-propagation/six-xi-c", status="PASS", results=record(), why="the boundary sits at 6 ξ_c"),
    Case(claim="signal-propagation/six-xi-c", status="EXPECTED-FAIL",
         results=lambda: record(rule=lambda s, d: d <= (12.0 if float(s) < 1.76 else 6.0) * XI_C[s]),
         why="chaotic nets stop at 6 ξ_c, ordered ones train to 12 ξ_c (Adam undoes their vanishing gradients)"),
    Case(claim="signal-propagation/six-xi-c", status="FAIL",
         results=lambda: record(rule=lambda s, d: d <= (6.0 if float(s) < 1.76 else 30.0) * XI_C[s]),
         why="chaotic nets train far past 6 ξ_c (to 30 ξ_c): neither the paper nor the prediction"),
    Case(claim="signal-propagation/six-xi-c", status="FAIL", results=lambda: record(rule=_trains_below(2.0)),
         why="nets fail beyond 2 ξ_c: the boundary is 3 times shallower than 6 ξ_c"),
    Case(claim="signal-propagation/six-xi-c", status="FAIL", results=lambda: record(rule=_trains_below(30.0)),
         why="nets train to 30 ξ_c: the depth scale does not limit training"),
    Case(claim="signal-propagation/dynamical-isometry", status="PASS", results=record(),
         why="orthogonal spread 1.7 vs Gaussian 13.4"),
    Case(claim="signal-propagation/dynamical-isometry", status="FAIL", results=lambda: record(iso=(12.9, 13.4)),
         why="orthogonal weights spread the singular values as much as Gaussian ones"),
    Case(claim="signal-propagation/isometry-needs-small-q", status="PASS", results=lambda: record(iso_large=(3.0, 13.4)),
         why="at q* = 0.57 orthogonal weights still concentrate the spectrum (ratio 0.22)"),
    Case(claim="signal-propagation/isometry-needs-small-q", status="FAIL", results=record(),
         why="at q* = 0.57 orthogonal and Gaussian spread alike (ratio 0.84)"),
]
