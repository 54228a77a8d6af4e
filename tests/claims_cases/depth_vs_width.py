"""Refutation cases for depth-vs-width: Telgarsky's piece counts, Raghu's trajectory growth (and its mean-field rate),
Poggio's compositional target. The record holds only what ``claims()`` reads."""

import math

from claims_cases._case import Case, spread

SIGMAS = ["1.0", "2.0", "4.0", "8.0", "16.0"]
CHI = {"1.0": 0.76, "2.0": 1.05, "4.0": 1.34, "8.0": 1.76, "16.0": 2.26}  # tanh, σ_b² = 0.05


def _lengths(rate, seed, layers=11, wiggle=0.0):
    """ln length = 3 + rate·layer (+ a zigzag of ±wiggle): a pure exponential when wiggle = 0."""
    return [math.exp(3 + rate * i + (wiggle if (i + seed) % 2 else -wiggle)) for i in range(layers)]


def record(pieces=lambda L: 2 ** L, shallow_excess=0, rate=None, wiggle=0.0, mse_deep=0.07, mse_shallow=0.24,
           deep_pieces=lambda d: 7 * d + 2, params_shallow=3491):
    """``rate``: growth per layer per σ_w² (default ½ ln χ₁, the mean-field rate)."""
    rate = rate or {k: 0.5 * math.log(c) for k, c in CHI.items()}
    return {
        "pieces": {"sawtooth": {str(L): pieces(L) for L in range(1, 13)},
                   "shallow": {str(k): [k + 1 + shallow_excess, k, k - 1] for k in (2, 8, 32, 128)},
                   "deep_width8": {str(d): [deep_pieces(d)] * 20 for d in (1, 2, 4, 8)}},
        "traj_fit_from": 3,
        "trajectories": {k: {"chi_1": CHI[k], "lengths": [_lengths(rate[k], s, wiggle=wiggle) for s in range(3)]}
                         for k in SIGMAS},
        "tree": {"params": {"deep": 3489, "shallow": params_shallow}, "widths": {"deep": [32] * 4, "shallow": [349]},
                 "test_var": 1.0, "test_mse": {"deep": spread(mse_deep, half=0.005), "shallow": spread(mse_shallow, half=0.005)},
                 "train_mse": {"deep": [0.03] * 3, "shallow": [0.18] * 3}},
    }


FLAT = {k: 0.0 for k in SIGMAS}
SAME = {k: 0.15 for k in SIGMAS}
HALF = {k: 0.25 * math.log(c) for k, c in CHI.items()}

CASES = [
    Case(claim="depth-vs-width/sawtooth-pieces", status="PASS", results=record(), why="2^L pieces at every depth"),
    Case(claim="depth-vs-width/sawtooth-pieces", status="FAIL", results=lambda: record(pieces=lambda L: 2 * L + 1),
         why="pieces grow linearly with depth (2L + 1): no exponential"),
    Case(claim="depth-vs-width/shallow-bound", status="PASS", results=record(), why="k + 1 pieces at most"),
    Case(claim="depth-vs-width/shallow-bound", status="FAIL", results=lambda: record(shallow_excess=3),
         why="a one-hidden-layer net with k units shows k + 4 pieces"),
    Case(claim="depth-vs-width/random-deep-pieces", status="PASS", results=record(),
         why="random width-8 nets: pieces ≈ 7 per layer, below the unit count"),
    Case(claim="depth-vs-width/random-deep-pieces", status="FAIL", results=lambda: record(deep_pieces=lambda d: 2 ** (d + 3)),
         why="random deep nets realize 2^(depth+3) pieces, more than their units"),
    Case(claim="depth-vs-width/trajectory-exponential", status="PASS", results=record(),
         why="ln length exactly linear in depth with a positive slope"),
    Case(claim="depth-vs-width/trajectory-exponential", status="FAIL", results=lambda: record(rate=FLAT, wiggle=0.3),
         why="length does not grow with depth, only zigzags"),
    Case(claim="depth-vs-width/trajectory-faster-with-sigma", status="PASS", results=record(),
         why="slopes 0.15, 0.28, 0.41 for σ_w² = 4, 8, 16"),
    Case(claim="depth-vs-width/trajectory-faster-with-sigma", status="FAIL", results=lambda: record(rate=SAME),
         why="the same slope at every σ_w²"),
    Case(claim="depth-vs-width/trajectory-mean-field", status="PASS", results=record(), why="slope = ½ ln χ₁ exactly"),
    Case(claim="depth-vs-width/trajectory-mean-field", status="FAIL", results=lambda: record(rate=HALF),
         why="growth at half the mean-field rate"),
    Case(claim="depth-vs-width/compositional", status="PASS", results=record(), why="deep 0.07 vs shallow 0.24 test MSE"),
    Case(claim="depth-vs-width/compositional", status="FAIL", results=lambda: record(mse_deep=0.24, mse_shallow=0.22),
         why="the deep net is no better than the shallow one"),
    Case(claim="depth-vs-width/compositional", status="FAIL", results=lambda: record(params_shallow=1000),
         why="the shallow net has 3.5 times fewer parameters: not a fair comparison"),
]
