"""Oracle tests for whynets.solvers.classical.

Sizes are checked against their closed forms on fitted models whose configuration we know (forced by a
one-value grid, or refitted by hand from the chosen hyperparameters). Accuracy thresholds come from the
geometry of the toys (separable with a margin; XOR, where no linear rule beats 3 of 4 clusters), MSE
thresholds from the best linear approximation of sin on [−3, 3] (see the regression test).
"""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from whynets.solvers.classical import classical_baselines, hgb_node_count, median_heuristic_gamma, paired_difference_ci


def _blobs(n, d, n_classes, seed, sep=6.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centers = rng.normal(size=(n_classes, d)) * sep
    return centers[y] + rng.normal(size=(n, d)), y


def _xor(n, seed):
    rng = np.random.default_rng(seed)
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    signs = corners[np.arange(n) % 4]  # exactly balanced clusters, so the toy is symmetric under x → −x
    x = signs * 2.0 + 0.4 * rng.normal(size=(n, 2))  # four clusters at (±2, ±2), σ = 0.4: no overlap
    return x, (signs[:, 0] * signs[:, 1] > 0).astype(int)


def _by_name(results):
    return {r.name: r for r in results}


def test_logistic_separates_separable_data_and_size_is_d_plus_1_times_C():
    x, y = _blobs(240, 4, 3, seed=0, sep=10.0)  # 3 classes, centres ~10σ apart: linearly separable
    r = _by_name(classical_baselines(x, y, x[:30], y[:30], which=["logistic"], seed=0))["logistic"]
    assert r.train_score == 1.0
    assert r.size == (4 + 1) * 3
    xb, yb = _blobs(100, 7, 2, seed=1, sep=10.0)
    rb = classical_baselines(xb, yb, xb, yb, which=["logistic"], seed=0)[0]
    assert rb.train_score == 1.0 and rb.size == 7 + 1  # binary: one weight vector and one intercept


def test_rbf_machine_fits_xor_that_logistic_cannot_and_svc_size_formula():
    x, y = _xor(400, seed=2)
    xt, yt = _xor(400, seed=3)
    res = _by_name(classical_baselines(x, y, xt, yt, which=["logistic", "rbf_kernel", "knn"], seed=0))
    assert res["rbf_kernel"].test_score > 0.95
    # no linear rule gets more than 3 of the 4 clusters (75%); logistic loss on symmetric XOR is minimized
    # near w = 0, i.e. near chance
    assert res["logistic"].test_score < 0.70
    # size = n_SV·d + (C − 1)·n_SV dual coefficients + C(C − 1)/2 intercepts; n_SV from a hand refit
    p = res["rbf_kernel"].params
    xs = StandardScaler().fit_transform(x)
    n_sv = int(SVC(kernel="rbf", gamma=p["gamma"], C=p["C"]).fit(xs, y).n_support_.sum())
    assert res["rbf_kernel"].size == n_sv * 2 + (2 - 1) * n_sv + 1
    # γ grid is centred on the median heuristic: 1/median of squared distances of standardized inputs
    g0 = 1.0 / np.median([np.sum((a - b) ** 2) for i, a in enumerate(xs) for b in xs[i + 1:]])
    assert median_heuristic_gamma(xs, seed=0) == pytest.approx(g0, rel=1e-12)  # 400 ≤ 1000 points: no subsample
    assert any(p["gamma"] == pytest.approx(g0 * f, rel=1e-12) for f in (1 / 16, 1 / 4, 1, 4, 16))


def test_multiclass_svc_size_counts_one_vs_one_coefficients():
    x, y = _blobs(150, 5, 3, seed=4, sep=2.0)
    one_config = {"gamma_factor": (1.0,), "svc_C": (1.0,)}
    r = classical_baselines(x, y, x, y, which=["rbf_kernel"], seed=0, grids=one_config)[0]
    xs = StandardScaler().fit_transform(x)
    n_sv = int(SVC(kernel="rbf", gamma=median_heuristic_gamma(xs, 0), C=1.0).fit(xs, y).n_support_.sum())
    assert r.size == n_sv * 5 + (3 - 1) * n_sv + 3 * 2 // 2


def test_knn_with_k1_memorizes_and_stores_the_training_set():
    x, y = _blobs(90, 6, 3, seed=5, sep=0.5)  # heavily overlapping classes: k = 1 still fits (distinct points)
    r = classical_baselines(x, y, x[:10], y[:10], which=["knn"], seed=0, grids={"knn_k": (1,)})[0]
    assert r.train_score == 1.0 and r.params == {"n_neighbors": 1.0}
    assert r.size == 90 * 6


def test_boosted_tree_size_is_sum_of_2_leaves_minus_1():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(400, 3))
    reg = HistGradientBoostingRegressor(max_iter=1, max_leaf_nodes=4, early_stopping=False)
    reg.fit(x, x[:, 0] + x[:, 1] ** 2)
    assert hgb_node_count(reg) == 2 * 4 - 1  # one tree grown to its 4-leaf cap: 3 splits + 4 leaves
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)  # 3 classes: one tree per class per iteration
    clf = HistGradientBoostingClassifier(max_iter=2, max_leaf_nodes=3, early_stopping=False).fit(x, y)
    assert hgb_node_count(clf) == 2 * 3 * (2 * 3 - 1)
    r = classical_baselines(x, y, x, y, which=["boosted_trees"], seed=0)[0]
    assert r.size == sum(len(t.nodes) for it in _fitted_hgb(x, y, r.params["n_iter"])._predictors for t in it)


def _fitted_hgb(x, y, n_iter):
    # the seeded early-stopped model, refitted by hand: same random_state → same split → same trees
    m = HistGradientBoostingClassifier(max_iter=300, early_stopping=True, validation_fraction=0.1,
                                       n_iter_no_change=10, random_state=0).fit(x, y)
    assert m.n_iter_ == n_iter
    return m


def test_regression_kernel_ridge_beats_ridge_on_sine():
    rng = np.random.default_rng(7)
    x, xt = rng.uniform(-3, 3, size=(200, 1)), rng.uniform(-3, 3, size=(1000, 1))
    y, yt = np.sin(x[:, 0]) + 0.1 * rng.normal(size=200), np.sin(xt[:, 0]) + 0.1 * rng.normal(size=1000)
    res = _by_name(classical_baselines(x, y, xt, yt, task="regression", which=["ridge", "rbf_kernel"], seed=0))
    # best linear fit of sin x, x ~ U(−3, 3): E[sin²] − E[x sin x]²/E[x²] = 0.5 − sin 6/12 − (sin 3 − 3 cos 3)²/27
    linear_floor = 0.5 - math.sin(6) / 12 - (math.sin(3) - 3 * math.cos(3)) ** 2 / 27
    assert linear_floor == pytest.approx(0.165, abs=1e-3)
    assert res["ridge"].test_score > 0.8 * linear_floor + 0.01  # noise σ² = 0.01; 20% slack for 200 samples
    assert res["rbf_kernel"].test_score < 0.01 + 0.02  # noise floor + a small estimation error of a smooth fit
    assert res["ridge"].size == 1 + 1 and res["rbf_kernel"].size == 200 * (1 + 1)


def test_deterministic_under_seed_and_time_budget():
    x, y = _xor(200, seed=8)
    runs = [classical_baselines(x, y, x, y, seed=3) for _ in range(2)]
    strip = [[{k: v for k, v in r.to_dict().items() if k != "fit_seconds"} for r in run] for run in runs]
    assert strip[0] == strip[1]
    skipped = classical_baselines(x, y, x, y, seed=3, time_budget_s=0.0)
    assert all(r.skipped and math.isnan(r.test_score) for r in skipped)


def test_paired_difference_ci_against_hand_computation_and_scipy():
    a, b = [0.9, 0.8, 0.75, 0.7], [-0.1, -1.2, -2.25, -3.3]  # differences 1, 2, 3, 4
    ci = paired_difference_ci(a, b)
    # mean 2.5, s = √(5/3), t_{0.975, 3} = 3.182446305…: half-width 3.182446305 · √(5/3)/2 = 2.054290
    assert ci.n == 4 and ci.mean == pytest.approx(2.5, rel=1e-12)
    assert ci.hi - ci.mean == pytest.approx(3.182446305284263 * math.sqrt(5 / 3) / 2, rel=1e-9)
    lo, hi = stats.t.interval(0.9, 3, loc=2.5, scale=math.sqrt(5 / 3) / 2)
    ci90 = paired_difference_ci(a, b, level=0.9)
    assert (ci90.lo, ci90.hi) == (pytest.approx(lo, rel=1e-12), pytest.approx(hi, rel=1e-12))
    with pytest.raises(ValueError, match="at least 2"):
        paired_difference_ci([1.0], [0.0])


def test_bad_inputs_raise_actionable_errors():
    x, y = _xor(50, seed=9)
    with pytest.raises(ValueError, match="do not apply"):
        classical_baselines(x, y, x, y, which=["ridge"])
    with pytest.raises(ValueError, match="features"):
        classical_baselines(x, y, x[:, :1], y)
    with pytest.raises(ValueError, match="integer class labels"):
        classical_baselines(x, y + 0.5, x, y)
    with pytest.raises(ValueError, match="unknown grid"):
        classical_baselines(x, y, x, y, grids={"svm_C": (1,)})
