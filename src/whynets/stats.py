"""Intervals for claims: how sure is a number measured over seeds, draws or test examples?

Every interval here is a 95% two-sided interval by default and says which method made it:

* ``t_interval`` — the mean of n ≥ 2 independent values (seeds), Student t with n − 1 degrees of freedom;
* ``paired_t_interval`` — the mean of paired differences a_i − b_i (the same seed under two conditions);
* ``bootstrap_interval`` — any statistic of one or two groups of values (a ratio of means, a ratio of
  standard deviations, a median), percentile bootstrap with a fixed seed so the interval is reproducible;
* ``proportion_interval`` — a rate k/n measured on n independent examples (a test error), Clopper–Pearson
  (exact binomial), for a quantity measured once on a fixed test set;
* ``contrast_interval`` — a contrast between conditions of a seeds × conditions table (e.g. test error at
  two widths of a sweep trained with the same few seeds), with the seed-to-seed noise pooled over ALL the
  conditions (two-way layout, residual degrees of freedom (S − 1)(C − 1)): with two seeds a single pair has one
  degree of freedom, fourteen widths give thirteen. The noise model: seed noise of equal variance at every
  condition, additive seed effects;
* ``paired_score_interval`` — a candidate model's mean score over its seeds and the test examples, paired with a
  reference model's score on the SAME examples (diagnose: "does this simpler model reach yours?"): test-sample
  noise and seed noise both enter, and the interval stays inside the metric's range;
* ``exact`` — a deterministic number with no sampling noise to speak of (a closed-form solve); its
  interval has zero width.

    >>> from whynets.stats import t_interval
    >>> iv = t_interval([60.5, 62.5, 65.6])
    >>> round(iv.mean, 2), round(iv.lo, 1), round(iv.hi, 1)
    (62.87, 56.5, 69.3)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats as _st

__all__ = ["kendall_tau", "Interval", "t_interval", "paired_t_interval", "bootstrap_interval", "paired_bootstrap_interval",
           "proportion_interval", "contrast_interval", "paired_score_interval", "difference", "joint_level", "pooled_noise", "simulated_interval", "exact", "clean_values"]

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval; ``method`` says how it was made (shown in the claim)."""

    estimate: float
    lo: float
    hi: float
    n: int
    method: str
    level: float = LEVEL

    @property
    def width(self) -> float:
        return self.hi - self.lo

    def to_dict(self) -> dict:
        return asdict(self)


def clean_values(values: Sequence[float | None]) -> list[float]:
    """The finite values of a sequence (None/NaN dropped): a diverged or missing seed does not count."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def t_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """Student-t interval on the mean of independent values. With one value the interval is unbounded:
    a single seed says nothing about the seed-to-seed spread."""
    vals = clean_values(values)
    n = len(vals)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "no values", level)
    m = float(np.mean(vals))
    if n == 1:
        return Interval(m, -math.inf, math.inf, 1, "t-interval (1 value: no spread estimate)", level)
    half = float(_st.t.ppf(0.5 + level / 2, n - 1)) * float(np.std(vals, ddof=1)) / math.sqrt(n)
    return Interval(m, m - half, m + half, n, f"t-interval over {n} values", level)


def paired_t_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """t-interval on the mean of a_i − b_i (pairs with a missing side are dropped)."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b) if x is not None and y is not None
             and math.isfinite(float(x)) and math.isfinite(float(y))]
    iv = t_interval(diffs, level)
    return Interval(iv.estimate, iv.lo, iv.hi, iv.n, iv.method.replace("t-interval", "paired t-interval"), level)


def bootstrap_interval(statistic: Callable[..., float], *groups: Sequence[float], level: float = LEVEL,
                       n_boot: int = 4000, seed: int = 0) -> Interval:
    """Percentile bootstrap of ``statistic(*groups)``, each group resampled with replacement on its own
    (independent groups); a fixed ``seed`` makes the interval the same on every run and machine."""
    data = [np.asarray(clean_values(g), dtype=np.float64) for g in groups]
    if any(len(d) == 0 for d in data):
        return Interval(math.nan, math.nan, math.nan, 0, "no values", level)
    est = float(statistic(*data))
    n = min(len(d) for d in data)
    if n < 2:
        return Interval(est, -math.inf, math.inf, n, "bootstrap (1 value: no spread estimate)", level)
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    with np.errstate(divide="ignore", invalid="ignore"):  # a degenerate resample gives inf/nan: dropped below
        for i in range(n_boot):
            draws[i] = statistic(*[d[rng.integers(0, len(d), len(d))] for d in data])
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return Interval(est, -math.inf, math.inf, n, "bootstrap (no finite resample)", level)
    lo, hi = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    sizes = "×".join(str(len(d)) for d in data)
    return Interval(est, float(lo), float(hi), n, f"percentile bootstrap ({n_boot}) over {sizes} values", level)


def paired_bootstrap_interval(statistic: Callable[..., float], *columns: Sequence[float], level: float = LEVEL,
                              n_boot: int = 4000, seed: int = 0) -> Interval:
    """Percentile bootstrap of ``statistic(*columns)`` where the columns are paired (row i of every column is
    the same seed): rows are resampled jointly. Rows with a missing value are dropped."""
    rows = [r for r in zip(*columns) if all(v is not None and math.isfinite(float(v)) for v in r)]
    data = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(columns))
    if len(rows) == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "no values", level)
    est = float(statistic(*data.T))
    if len(rows) < 2:
        return Interval(est, -math.inf, math.inf, 1, "paired bootstrap (1 row: no spread estimate)", level)
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.array([statistic(*data[rng.integers(0, len(rows), len(rows))].T) for _ in range(n_boot)])
    draws = draws[np.isfinite(draws)]
    lo, hi = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return Interval(est, float(lo), float(hi), len(rows), f"paired percentile bootstrap ({n_boot}) over {len(rows)} "
                    "seeds", level)


def contrast_interval(table: Sequence[Sequence[float]], weights: Sequence[float], level: float = LEVEL,
                      paired: bool = True) -> Interval:
    """Interval of Σ_c w_c·mean_c for a seeds × conditions ``table`` (rows: seeds, columns: conditions), with
    the seed noise pooled over every condition.

    ``paired``: row i of every column is the same seed (e.g. one data order shared by every width of a padded
    sweep): seed effects are removed (two-way residuals, (S − 1)(C − 1) df). Unpaired: every cell is its own
    run (one-way residuals about the condition means, C(S − 1) df); then a single weight of 1 gives the interval
    of one condition's mean with the pooled noise. ``weights`` sum to 0 for a comparison (e.g. +1 at the peak
    width, −1 at the widest). A caveat the caller must state: when a condition is picked from the same data
    (the argmax of the curve), the estimate at it is biased upward; the interval does not correct for that."""
    x = np.asarray(table, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(weights):
        raise ValueError(f"table must be seeds × {len(weights)} conditions, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        return Interval(math.nan, math.nan, math.nan, 0, "non-finite values", level)
    s, c = x.shape
    w = np.asarray(weights, dtype=np.float64)
    est = float(w @ x.mean(0))
    sigma2, df = pooled_noise(x, paired)
    if df == 0:
        return Interval(est, -math.inf, math.inf, s, "contrast (one seed: no spread estimate)", level)
    half = float(_st.t.ppf(0.5 + level / 2, df)) * math.sqrt(sigma2 * float(w @ w) / s)
    kind = "paired seeds" if paired else "independent runs"
    return Interval(est, est - half, est + half, s,
                    f"contrast, seed noise pooled over {c} conditions ({s} seeds, {kind}, {df} df)", level)


def pooled_noise(table: Sequence[Sequence[float]], paired: bool = True) -> tuple[float, int]:
    """(σ², df) of the seed noise of a seeds × conditions table, pooled over conditions: two-way residuals
    (seed effects removed) when ``paired``, one-way residuals about the condition means otherwise."""
    x = np.asarray(table, dtype=np.float64)
    s, c = x.shape
    df = (s - 1) * (c - 1) if paired else c * (s - 1)
    if df == 0:
        return math.inf, 0
    resid = x - x.mean(0)[None, :]
    if paired:
        resid = resid - x.mean(1, keepdims=True) + x.mean()
    return float((resid ** 2).sum() / df), df


def simulated_interval(statistic: Callable[..., float], *tables: Sequence[Sequence[float]], level: float = LEVEL,
                       n_sim: int = 4000, seed: int = 0, paired: bool = True) -> Interval:
    """Parametric bootstrap of ``statistic(*mean_curves)`` for seeds × conditions tables: each simulated mean
    curve is the measured mean plus Gaussian noise of the pooled seed variance / S (``pooled_noise``), the
    tables independent. For statistics no t-interval describes: the location of a curve's maximum, the rise
    of a curve above its running minimum."""
    xs = [np.asarray(t, dtype=np.float64) for t in tables]
    means = [x.mean(0) for x in xs]
    est = float(statistic(*means))
    noise = [pooled_noise(x, paired) for x in xs]
    if any(df == 0 for _, df in noise):
        return Interval(est, -math.inf, math.inf, min(x.shape[0] for x in xs),
                        "parametric bootstrap (one seed: no spread estimate)", level)
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(*[m + rng.normal(0.0, math.sqrt(v / x.shape[0]), m.shape)
                                  for m, (v, _), x in zip(means, noise, xs)]) for _ in range(n_sim)])
    lo, hi = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    seeds = "/".join(str(x.shape[0]) for x in xs)
    return Interval(est, float(lo), float(hi), min(x.shape[0] for x in xs),
                    f"parametric bootstrap ({n_sim}) from seed noise pooled over conditions ({seeds} seeds)", level)


def proportion_interval(k: int, n: int, level: float = LEVEL) -> Interval:
    """Clopper–Pearson interval of a rate k/n (e.g. errors on n test examples)."""
    if n <= 0:
        raise ValueError(f"a proportion needs n > 0 examples, got n={n}")
    if not 0 <= k <= n:
        raise ValueError(f"a proportion needs 0 <= k <= n, got k={k}, n={n}")
    alpha = 1 - level
    lo = 0.0 if k == 0 else float(_st.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(_st.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Interval(k / n, lo, hi, n, f"Clopper–Pearson over {n} examples", level)


def paired_score_interval(candidate: Sequence[Sequence[float]], reference: Sequence[float] | Sequence[Sequence[float]],
                          *, binary: bool, bounds: tuple[float, float] = (-math.inf, math.inf), level: float = LEVEL,
                          difference: bool = False) -> Interval:
    """Interval of a candidate's mean score, paired with a reference on the same n test examples.

    ``candidate`` is K seeds × n examples of per-example scores (e.g. 100 for right and 0 for wrong, or a squared
    error), ``reference`` the reference model's n scores on the same examples. With d_i the candidate's mean over
    seeds minus the reference on example i, the estimate is mean(reference) + mean(d), and the variance of mean(d)
    is the sum of
      * the test-sample part var(d_i)/n — the two models meet the same examples, so what they share cancels;
        for ``binary`` scores one pseudo-example each way is added first (Agresti & Min 2005's adjustment for
        paired proportions: with no discordant example the interval does not collapse to a point), and
      * the seed part var(a_s)/K of the K per-seed mean scores a_s (none with one seed: said in the method),
    which counts the seed × example interaction twice (conservative). Student t with Welch–Satterthwaite degrees of
    freedom; the interval is clipped to ``bounds`` (the metric's range). Zero variance (every seed identical to the
    reference on every example, real-valued scores) gives a zero-width interval whose method says "degenerate":
    a caller must refuse a verdict from it. ``difference``: the interval of mean(candidate) − mean(reference)
    instead (not clipped)."""
    c = np.asarray(candidate, dtype=np.float64)
    rs = np.asarray(reference, dtype=np.float64)
    rs = rs[None, :] if rs.ndim == 1 else rs
    r = rs.mean(0)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != r.size or r.size == 0:
        raise ValueError(f"candidate must be seeds × {r.size} examples, got shape {c.shape}")
    k, n = c.shape
    d = c.mean(0) - r
    est = float(r.mean() + d.mean())
    if binary:  # scores take two values (lo, hi): one pseudo-example each way, of size hi - lo
        span = float(max(c.max(), r.max()) - min(c.min(), r.min())) or 1.0
        d = np.concatenate([d, [span, -span]])
    v_test = float(d.var(ddof=1)) / len(d) if len(d) > 1 else 0.0
    seeds = c.mean(1)
    v_seed = float(seeds.var(ddof=1)) / k if k > 1 else 0.0
    k_ref = rs.shape[0]
    v_ref = float(rs.mean(1).var(ddof=1)) / k_ref if k_ref > 1 else 0.0
    var = v_test + v_seed + v_ref
    shift = float(r.mean()) if difference else 0.0
    what = f"paired with yours over {n} test examples × {k} seed(s)"
    if k_ref > 1:
        what += f" (yours: {k_ref} seeds)"
    if not math.isfinite(var) or var <= 0:
        return Interval(est - shift, est - shift, est - shift, n, f"degenerate: no variation ({what})", level)
    dfs = [(v_test, len(d) - 1), (v_seed, k - 1), (v_ref, k_ref - 1)]
    df = var ** 2 / sum(v * v / f for v, f in dfs if f > 0 and v > 0)
    half = float(_st.t.ppf(0.5 + level / 2, df)) * math.sqrt(var)
    lo, hi = (est - half, est + half) if difference else (max(bounds[0], est - half), min(bounds[1], est + half))
    est, lo, hi = est - shift, lo - shift, hi - shift
    noise = "test-sample noise only (one fit)" if k == 1 else "test-sample and seed noise"
    return Interval(est, lo, hi, n, f"{what}, {noise}, t with {df:.0f} df", level)


def difference(a: Interval, b: Interval) -> Interval:
    """Interval of (a − b) for two independent estimates, each given at level (1 + L)/2 so that by the union
    bound both cover at once with probability >= L (make them with ``level=joint_level(L)``)."""
    level = 2 * min(a.level, b.level) - 1
    return Interval(a.estimate - b.estimate, a.lo - b.hi, a.hi - b.lo, min(a.n, b.n),
                    f"difference of [{a.method}] and [{b.method}], each at {min(a.level, b.level):.3g} "
                    f"(union bound: {level:.3g} jointly)", level)


def joint_level(level: float = LEVEL) -> float:
    """The level each of two intervals needs so that both hold at once with probability >= ``level``."""
    return (1 + level) / 2


def exact(value: float, why: str = "deterministic") -> Interval:
    """A number without sampling noise (a closed-form or float64 solve): a zero-width interval."""
    v = float(value)
    return Interval(v, v, v, 1, why, LEVEL)


def kendall_tau(a, b) -> float:
    """Kendall's τ_b of two equal-length sequences (equals ``scipy.stats.kendalltau``; tested), vectorized so a
    bootstrap can call it thousands of times. 0 where either sequence is constant: a measure that does not vary
    says nothing (Jiang et al.'s tables print 0.000 there, e.g. the parameter count across learning rates)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"kendall_tau needs two 1-d sequences of equal length, got shapes {a.shape} and {b.shape}")
    iu = np.triu_indices(len(a), 1)
    da = np.sign(a[:, None] - a[None, :])[iu]
    db = np.sign(b[:, None] - b[None, :])[iu]
    na, nb = np.count_nonzero(da), np.count_nonzero(db)
    return float((da * db).sum() / math.sqrt(na * nb)) if na and nb else 0.0
