"""Refutation cases for soft-inductive-bias (Wilson 2025, Fig. 1): a soft-penalized order-30 polynomial against
hard-restricted fits on simple (cubic) and complex data. 16 data seeds; test MSEs per seed."""

from claims_cases._case import Case, spread


def _target(name, soft, loo, oracle, unpen=(0.005, 1.0), low=(0.6, 1.0), oracle_order=3, n=16):
    """Per-seed test MSEs: soft fit, LOO-picked order, oracle order; unpenalized (train, test); order-3 (train,
    test). Each is spread ±2% around its value over n seeds."""
    s = lambda v: spread(v, n, 0.02 * v)  # noqa: E731
    return {"target": name, "oracle_order": oracle_order, "loo_orders": [3] * n,
            "per_seed": {"soft": s(soft), "hard_loo": s(loo), "hard_oracle": s(oracle), "unpenalized_train": s(unpen[0]),
                         "unpenalized_test": s(unpen[1]), "low_train": s(low[0]), "low_test": s(low[1])}}


def record(simple=(0.0100, 0.0100, 0.0100), complex_=(0.01, 0.1, 0.1), unpen=(0.005, 1.0), low=(0.6, 1.0), n=16):
    """``simple``/``complex_``: test MSE of (soft, LOO order, oracle order) over n data seeds."""
    return {"noise_var": 0.01, "targets": {"simple": _target("cubic", *simple, unpen=unpen, n=n),
                                           "complex": _target("complex", *complex_, low=low, oracle_order=11, n=n)}}


CASES = [
    Case(claim="soft-inductive-bias/soft-matches-validated-order", status="PASS", results=record(),
         why="the soft fit matches the LOO order on the cubic and beats it 10x on the complex target"),
    Case(claim="soft-inductive-bias/soft-matches-validated-order", status="FAIL",
         results=lambda: record(simple=(0.03, 0.01, 0.01)), why="the soft fit is 3x worse than the LOO order"),
    Case(claim="soft-inductive-bias/soft-matches-oracle-order", status="PASS", results=record(),
         why="the soft fit matches even the oracle's order on both targets"),
    Case(claim="soft-inductive-bias/soft-matches-oracle-order", status="EXPECTED-FAIL",
         results=lambda: record(simple=(0.0143, 0.013, 0.01)),
         why="on the cubic the oracle's order 3 is 1.43x better (predicted: > 1.1 there), the complex target matched"),
    Case(claim="soft-inductive-bias/soft-matches-oracle-order", status="FAIL",
         results=lambda: record(simple=(0.0143, 0.013, 0.01), complex_=(0.3, 0.1, 0.1)),
         why="the oracle also wins on the complex target (3x): outside the prediction, which keeps that one matched"),
    Case(claim="soft-inductive-bias/unpenalized-overfits-simple", status="PASS", results=record(),
         why="the unpenalized fit has train MSE .005 < σ² and test MSE 100x the soft fit's"),
    Case(claim="soft-inductive-bias/unpenalized-overfits-simple", status="FAIL",
         results=lambda: record(unpen=(0.012, 0.011)), why="the unpenalized fit does not overfit: train MSE above σ²"),
    Case(claim="soft-inductive-bias/low-order-underfits-complex", status="PASS", results=record(),
         why="order 3 on the complex target: train MSE .6 >= 2σ², test 10x the soft fit's"),
    Case(claim="soft-inductive-bias/low-order-underfits-complex", status="FAIL",
         results=lambda: record(low=(0.01, 0.012)), why="order 3 fits the complex target as well as the soft fit"),
    Case(claim="soft-inductive-bias/soft-fit-tail", status="PASS", results=lambda: record(n=40),
         why="none of 40 seeds has a soft fit 2x worse than the LOO order (Clopper-Pearson: <= 9%; 35 seeds are the "
             "fewest that can show <= 10%)"),
    Case(claim="soft-inductive-bias/soft-fit-tail", status="FAIL", results=lambda: record(simple=(0.03, 0.01, 0.01)),
         why="every seed's soft fit is 3x worse than the LOO order (reported, not gated)"),
]
