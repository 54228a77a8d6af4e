"""Classical baselines for "could a simpler model do as well?": logistic/ridge regression, an RBF kernel
machine, gradient-boosted trees and k-nearest neighbours, each tuned by cross-validation on the training
data only, with an honest size (how many numbers the fitted model stores) to set beside a network's.

    >>> from whynets.solvers.classical import classical_baselines
    >>> results = classical_baselines(x, y, x_test, y_test, task="classification", seed=0)
    >>> [(r.name, round(r.test_score, 3), r.size) for r in results]

Inputs are arrays (numpy or torch, examples first; anything after the first axis is flattened to d
features). Every learner except the trees sees inputs standardized by a scaler fitted inside each CV
fold on that fold's training part (a ``Pipeline``), so no held-out fold and never the test set shapes
a choice; regression targets are standardized the same way. With ``choose_scaling`` the distance-based learners
(RBF kernel machine, k-NN) let cross-validation decide between standardized and raw inputs (on pixel data raw
distances can be the better ones: k-NN on digits). Each result keeps how it did on every test example
(``test_outcomes``: the indices it gets wrong, or each squared error), for comparisons paired on the same examples. All randomness (CV folds, the
median-heuristic subsample, the trees' validation split) derives from ``seed``.

Sizes (numbers the fitted predictor stores; the input/target scalers' 2d (+2) numbers are not counted):
logistic / ridge: coefficients + intercepts = (d + 1)·C, or d + 1 for binary / regression;
RBF SVC: n_SV·d support-vector coordinates + dual coefficients ((C − 1)·n_SV) + intercepts (C(C − 1)/2,
one-vs-one); kernel ridge: n_train·d + n_train; trees: Σ over trees of their nodes (2·leaves − 1 each);
kNN: n_train·d stored inputs (the n_train labels are not counted).

The SVC grid (5 bandwidths × 3 values of C × 3 folds) was sized on MNIST-1D (4000 × 40, 10 classes):
each fit takes ~0.2-0.4 s on one core, the whole grid ~15 s. The median heuristic γ₀ = 1/median‖x − x'‖²
(on standardized inputs) was ~4-8× below the CV optimum there (and ~3× above it on the small sklearn
tables), hence a grid of γ₀·4^{-2..2}.
Also ``paired_difference_ci`` for comparing two learners over paired random splits.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Sequence

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

__all__ = ["BaselineResult", "PairedCI", "classical_baselines", "median_heuristic_gamma", "hgb_node_count",
           "paired_difference_ci", "BASELINES", "GRIDS"]

BASELINES = {"classification": ("logistic", "rbf_kernel", "boosted_trees", "knn"),
             "regression": ("ridge", "rbf_kernel", "boosted_trees", "knn")}
GRIDS = {
    "logistic_C": (0.01, 0.1, 1.0, 10.0, 100.0),  # inverse ℓ2 strength, on standardized inputs
    "ridge_alpha": (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0),
    "gamma_factor": (1 / 16, 1 / 4, 1.0, 4.0, 16.0),  # × the median-heuristic bandwidth γ₀
    "svc_C": (1.0, 10.0, 100.0),
    "krr_alpha": (1e-3, 1e-2, 1e-1, 1.0),  # on standardized targets
    "knn_k": (1, 3, 5, 9, 15, 25),
}
_HGB = dict(max_iter=300, early_stopping=True, validation_fraction=0.1, n_iter_no_change=10)  # 300 ≫ the ~100
# iterations early stopping picks on MNIST-1D, so the internal validation split, not the cap, decides


@dataclass(frozen=True)
class BaselineResult:
    """One fitted baseline. Scores are accuracy (classification) or MSE (regression) in ``score_name``;
    ``cv_score`` is the best mean CV score in the same units (None where nothing was cross-validated)."""

    name: str
    task: str
    score_name: str
    test_score: float
    train_score: float
    cv_score: float | None
    fit_seconds: float
    size: int
    size_note: str
    params: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    skipped: str = ""  # why it did not run (time budget); scores are NaN then
    test_outcomes: list = field(default_factory=list)  # wrong test indices (classification) or squared errors

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PairedCI(NamedTuple):
    mean: float
    lo: float
    hi: float
    n: int


def paired_difference_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> PairedCI:
    """Student-t interval on the mean of the paired differences a_i − b_i (e.g. two learners' scores on
    the same n random splits): mean ± t_{(1+level)/2, n−1}·s_d/√n."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have equal lengths, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"a t-interval needs at least 2 pairs, got {a.size}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired samples contain NaN/Inf")
    d = a - b
    n, mean = d.size, float(d.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return PairedCI(mean, mean - half, mean + half, n)


def median_heuristic_gamma(x: np.ndarray, seed: int, max_points: int = 1000) -> float:
    """γ₀ = 1 / median of squared pairwise distances (on a seeded subsample of ≤ max_points rows)."""
    rng = np.random.default_rng(seed)
    sub = x if len(x) <= max_points else x[rng.choice(len(x), max_points, replace=False)]
    d2 = pdist(sub, "sqeuclidean")
    d2 = d2[d2 > 0]
    return 1.0 / float(np.median(d2)) if d2.size else 1.0


def hgb_node_count(model: HistGradientBoostingClassifier | HistGradientBoostingRegressor) -> int:
    """Σ over the fitted trees of their nodes, 2·leaves − 1 per (binary) tree; read from the fitted
    predictors (sklearn's ``_predictors``: one list of trees per boosting iteration)."""
    return sum(2 * tree.get_n_leaf_nodes() - 1 for it in model._predictors for tree in it)


def _as_2d(name: str, a: Any) -> np.ndarray:
    a = np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a, dtype=np.float64)
    if a.ndim < 1 or a.shape[0] == 0:
        raise ValueError(f"{name} must have examples along its first axis, got shape {a.shape}")
    a = a.reshape(len(a), -1)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN/Inf")
    return a


def _targets(name: str, y: Any, n: int, task: str) -> np.ndarray:
    y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    multi = task == "regression" and y.ndim == 2  # several regression outputs per example
    if (y.ndim != 1 and not multi) or len(y) != n:
        raise ValueError(f"{name} must be 1-D with one target per example ({n}) (or (n, outputs) for regression), "
                         f"got shape {y.shape}")
    if task == "classification":
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError(f"{name}: classification needs integer class labels; use task='regression' for reals")
        return y.astype(np.int64)
    y = y.astype(np.float64)
    if not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN/Inf")
    return y


def _scaled(model: Any, task: str, standardize: bool = True) -> Any:
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)]) if standardize else Pipeline([("model", model)])
    if task == "classification":
        return pipe
    return TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())


def _fitted(est: Any) -> Any:
    """The final estimator inside our Pipeline / TransformedTargetRegressor wrapper."""
    if isinstance(est, TransformedTargetRegressor):
        est = est.regressor_
    return est.named_steps["model"]


def _spec(name: str, task: str, x: np.ndarray, seed: int, n_fold_train: int, grids: dict,
          multi: bool = False) -> tuple[Any, dict, str]:
    """(estimator, CV grid, size note) for one baseline (``multi``: several regression outputs)."""
    prefix = "model__" if task == "classification" else "regressor__model__"
    if name == "logistic":
        return (_scaled(LogisticRegression(max_iter=5000), task), {prefix + "C": list(grids["logistic_C"])},
                "coefficients + intercepts: (d + 1)·C, or d + 1 for binary")
    if name == "ridge":
        return (_scaled(Ridge(), task), {prefix + "alpha": list(grids["ridge_alpha"])},
                "coefficients + intercept: d + 1")
    if name == "rbf_kernel":
        g0 = median_heuristic_gamma(StandardScaler().fit_transform(x), seed)
        gammas = [g0 * f for f in grids["gamma_factor"]]
        if task == "classification":
            return (_scaled(SVC(kernel="rbf", random_state=seed), task),
                    {prefix + "gamma": gammas, prefix + "C": list(grids["svc_C"])},
                    "SVC: n_SV·d support vectors + dual coefficients (C − 1)·n_SV + C(C − 1)/2 intercepts")
        return (_scaled(KernelRidge(kernel="rbf"), task),
                {prefix + "gamma": gammas, prefix + "alpha": list(grids["krr_alpha"])},
                "kernel ridge: n_train·d stored inputs + n_train dual coefficients")
    if name == "boosted_trees":
        cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
        trees = cls(random_state=seed, **_HGB)
        if multi:  # one boosted ensemble per output (sklearn's HGB regressor takes one target)
            from sklearn.multioutput import MultiOutputRegressor
            trees = MultiOutputRegressor(trees)
        return (_scaled(trees, task, standardize=False), {},
                "Σ over trees of nodes (2·leaves − 1 per tree); bin thresholds and baseline not counted")
    if name == "knn":
        knn = KNeighborsClassifier() if task == "classification" else KNeighborsRegressor()
        ks = [k for k in grids["knn_k"] if k <= n_fold_train] or [1]
        return _scaled(knn, task), {prefix + "n_neighbors": ks}, "stored training inputs n_train·d (labels not counted)"
    raise ValueError(f"unknown baseline {name!r} for task={task}; choose from {', '.join(BASELINES[task])}")


def _size(name: str, model: Any, n: int, d: int) -> int:
    if name in ("logistic", "ridge"):
        return int(np.size(model.coef_) + np.size(model.intercept_))
    if name == "rbf_kernel":
        if isinstance(model, SVC):
            return int(model.support_vectors_.size + model.dual_coef_.size + model.intercept_.size)
        return int(model.X_fit_.size + model.dual_coef_.size)
    if name == "boosted_trees":
        if hasattr(model, "estimators_"):  # one ensemble per output
            return sum(hgb_node_count(m) for m in model.estimators_)
        return hgb_node_count(model)
    return n * d  # knn


def classical_baselines(x: Any, y: Any, x_test: Any, y_test: Any, task: str = "classification", seed: int = 0,
                        cv_folds: int = 3, which: Sequence[str] | None = None,
                        time_budget_s: float | None = None, threads: int | None = None,
                        grids: dict[str, Sequence[float]] | None = None,
                        choose_scaling: bool = False) -> list[BaselineResult]:
    """Fit each baseline in ``which`` (default: all for ``task``, see ``BASELINES``), hyperparameters by
    ``cv_folds``-fold CV on (x, y) alone, then score on train and test. Before each baseline, if
    ``time_budget_s`` has been spent, it is not run and its result says so (``skipped``, NaN scores).
    ``threads`` caps BLAS/OpenMP threads during the call (threadpoolctl, a scikit-learn dependency);
    ``grids`` replaces entries of ``GRIDS`` (e.g. ``{"knn_k": (1,)}``); ``choose_scaling``: standardized or raw
    inputs for the RBF kernel machine and k-NN, chosen by the same CV."""
    if task not in BASELINES:
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    if cv_folds < 2:
        raise ValueError(f"cv_folds must be >= 2, got {cv_folds}")
    names = tuple(BASELINES[task] if which is None else which)
    bad = [w for w in names if w not in BASELINES[task]]
    if bad:
        raise ValueError(f"baselines {bad} do not apply to task={task}; choose from {', '.join(BASELINES[task])}")
    x, x_test = _as_2d("x", x), _as_2d("x_test", x_test)
    if x.shape[1] != x_test.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features per example but x_test has {x_test.shape[1]}")
    y, y_test = _targets("y", y, len(x), task), _targets("y_test", y_test, len(x_test), task)
    if task == "classification" and len(np.unique(y)) < 2:
        raise ValueError("classification needs at least two classes in y")
    unknown = sorted(set(grids or {}) - set(GRIDS))
    if unknown:
        raise ValueError(f"unknown grid keys {unknown}; known: {', '.join(GRIDS)}")
    grids = {**GRIDS, **{k: tuple(v) for k, v in (grids or {}).items()}}
    if any(len(v) == 0 for v in grids.values()):
        raise ValueError("every CV grid needs at least one value")
    if threads is not None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=int(threads)):
            return classical_baselines(x, y, x_test, y_test, task, seed, cv_folds, names, time_budget_s, None, grids,
                                       choose_scaling)

    n, d = x.shape
    split = (StratifiedKFold if task == "classification" else KFold)(cv_folds, shuffle=True, random_state=seed)
    scoring = "accuracy" if task == "classification" else "neg_mean_squared_error"
    score_name = "accuracy" if task == "classification" else "mse"
    started, out = time.perf_counter(), []
    for name in names:
        spent = time.perf_counter() - started
        est, grid, note = _spec(name, task, x, seed, n - -(-n // cv_folds), grids, multi=y.ndim == 2)
        if choose_scaling and name in ("rbf_kernel", "knn"):
            step = "scale" if task == "classification" else "regressor__scale"
            grid = {**grid, step: [StandardScaler(), "passthrough"]}
        if time_budget_s is not None and spent >= time_budget_s:
            out.append(BaselineResult(name, task, score_name, math.nan, math.nan, None, 0.0, 0, note,
                                      skipped=f"time budget of {time_budget_s:g} s spent ({spent:.1f} s) before it"))
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if grid:
                search = GridSearchCV(est, grid, scoring=scoring, cv=split, refit=True, error_score="raise").fit(x, y)
                fitted, cv = search.best_estimator_, float(search.best_score_)
                cv = cv if task == "classification" else -cv
                params = {k.rsplit("__", 1)[-1]: v for k, v in search.best_params_.items()}
            else:
                fitted, cv, params = est.fit(x, y), None, {}
        seconds = time.perf_counter() - t0
        model = _fitted(fitted)
        if name == "boosted_trees":
            params = {"n_iter": int(model.n_iter_) if hasattr(model, "n_iter_")
                      else int(sum(m.n_iter_ for m in model.estimators_))}
        scaled = params.pop("scale", None)
        if scaled is not None:
            params["standardized"] = 0.0 if scaled == "passthrough" else 1.0
        pred, pred_test = fitted.predict(x), fitted.predict(x_test)
        if task == "classification":
            train, test = float(np.mean(pred == y)), float(np.mean(pred_test == y_test))
            outcomes = np.flatnonzero(pred_test != y_test).tolist()
        else:
            # squared error summed over outputs, averaged over examples (the engine's MSE)
            sq, sq_test = ((pred - y) ** 2).reshape(len(y), -1).sum(1), ((pred_test - y_test) ** 2).reshape(len(y_test), -1).sum(1)
            train, test = float(sq.mean()), float(sq_test.mean())
            outcomes = sq_test.tolist()
        msgs = tuple(sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}))
        out.append(BaselineResult(name, task, score_name, test, train, cv, seconds, _size(name, model, n, d), note,
                                  {k: float(v) for k, v in params.items()}, msgs, test_outcomes=outcomes))
    return out
