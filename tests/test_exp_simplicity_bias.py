"""simplicity-bias: the smoke run end to end; the per-sample statistics against a hand-built set of counted tables
(known complexities, counts and constant functions)."""

import math

import pytest
import torch
from scipy.stats import spearmanr

from whynets.experiments.simplicity_bias import function_stats
from whynets.kernels.complexity import lz_complexity, pack_tables


def test_smoke_run_records_claims_and_figures(smoke):
    record = smoke.record("simplicity-bias")
    ids = {c["id"] for c in record["claims"]}
    assert ids == {"simplicity-bias/probability-complexity", "simplicity-bias/frequent-are-simple",
                   "simplicity-bias/bias-scale", "simplicity-bias/depth-equal-parameters"}
    res = record["results"]
    for samples in res["main"].values():
        for s in samples:
            assert s["nets"] == 3000 and s["distinct"] >= s["singletons"] and sum(s["counts"]) + s["singletons"] == 3000
            assert all(7.0 <= v <= 7 * 30 for v in s["lz"])  # C_LZ of 128-bit strings: 7 (constant) up to ~7·30
    for by_depth in res["depth"].values():
        for samples in by_depth.values():
            assert all(abs(s["params"] - res["params"]) <= 0.05 * res["params"] for s in samples)
    assert (smoke.folder("simplicity-bias") / "figures" / "simplicity_bias.png").stat().st_size > 1000


def test_function_stats_on_hand_built_tables():
    m = 16
    rows = [[0] * m, [1] * m, [0, 1] * 8, [0] * 8 + [1] * 8, [1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0],
            [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0]]
    tables = pack_tables(torch.tensor(rows, dtype=torch.uint8))
    counts = torch.tensor([50, 30, 6, 4, 1, 1])
    stats = function_stats(tables, counts, m, once_sample=10, frequent_p=0.05, seed=0)
    lz = [lz_complexity("".join(map(str, r))) for r in rows]
    assert stats["nets"] == 92 and stats["distinct"] == 6 and stats["singletons"] == 2
    assert stats["p_constant"] == pytest.approx(80 / 92)
    assert stats["lz"] == pytest.approx(lz[:4]) and sorted(stats["lz_once"]) == pytest.approx(sorted(lz[4:]))
    assert stats["spearman"] == pytest.approx(spearmanr([50, 30, 6, 4], lz[:4]).statistic)
    # frequent: P̂ >= 0.05, i.e. >= 4.6 of 92 nets: the first three tables
    assert stats["n_frequent"] == 3 and stats["frequent_lz"] == pytest.approx(sum(lz[:3]) / 3)
    assert stats["once_lz"] == pytest.approx(sum(lz[4:]) / 2)
    assert lz[0] == math.log2(m)
