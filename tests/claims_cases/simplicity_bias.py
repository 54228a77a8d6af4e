"""Refutation cases for simplicity-bias: probability against Lempel–Ziv complexity, frequent against rare functions,
the other bias scale and the depth question (both reported). The record holds only what ``claims()`` reads: per
sample (seed) statistics with a small, known scatter."""

from claims_cases._case import Case, spread


def _sample(rho, frequent, once, p_const=0.7):
    return {"nets": 50_000, "spearman": rho, "frequent_lz": frequent, "once_lz": once, "p_constant": p_const}


def record(rho=-0.7, frequent=25.0, once=74.0, other_rho=-0.62, other_frequent=27.0, depth_slope=-4.0):
    """``depth_slope``: change of the net-average C_LZ per doubling of depth (negative: deeper nets simpler)."""
    main = {"1.0": [_sample(r, f, once) for r, f in zip(spread(rho, half=0.01), spread(frequent, half=0.5))],
            "0.01": [_sample(r, f, 84.0, 0.17) for r, f in zip(spread(other_rho, half=0.01), spread(other_frequent, half=0.5))]}
    depth = {}
    for setting, base in (("1.0/1.0", 32.0), ("2.0/0.01", 45.0)):
        depth[setting] = {str(d): [{"width": w, "mean_lz": base + depth_slope * i + j, "p_constant": 0.5,
                                    "mean_lz_nonconstant": 2 * base + depth_slope * i + j} for j in (-0.2, 0.0, 0.2)]
                          for i, (d, w) in enumerate(((1, 222), (2, 40), (4, 24), (8, 16)))}
    return {"main": main, "gated_sigma_b2": "1.0", "depth": depth, "params": 2001}


CASES = [
    Case(claim="simplicity-bias/probability-complexity", status="PASS", results=record(),
         why="Spearman −0.7: frequent functions are the simple ones"),
    Case(claim="simplicity-bias/probability-complexity", status="FAIL", results=lambda: record(rho=0.05),
         why="no relation between a function's probability and its complexity"),
    Case(claim="simplicity-bias/frequent-are-simple", status="PASS", results=record(),
         why="C_LZ 25 for frequent functions vs 74 for rare ones"),
    Case(claim="simplicity-bias/frequent-are-simple", status="FAIL", results=lambda: record(frequent=70.0),
         why="frequent functions are as complex as rare ones (70 vs 74)"),
    Case(claim="simplicity-bias/bias-scale", status="PASS", results=record(),
         why="at σ_b² = 0.01 the same bias: Spearman −0.62, C_LZ 27 vs 84"),
    Case(claim="simplicity-bias/bias-scale", status="FAIL", results=lambda: record(other_rho=0.0, other_frequent=84.0),
         why="at σ_b² = 0.01 the bias is gone"),
    Case(claim="simplicity-bias/depth-equal-parameters", status="PASS", results=record(),
         why="net-average C_LZ falls by 4 per doubling of depth"),
    Case(claim="simplicity-bias/depth-equal-parameters", status="FAIL", results=lambda: record(depth_slope=4.0),
         why="deeper nets compute more complex functions"),
]
