"""Continuous power-law tail fits (Clauset, Shalizi & Newman 2009, "Power-law distributions in empirical data").

    >>> fit = fit_power_law(samples)                 # alpha, xmin (KS-chosen), D, n_tail, sigma
    >>> ci = bootstrap_alpha(samples, 200, seed=0)   # percentile interval, xmin re-chosen in every resample
    >>> power_law_quality(samples, fit)["verdict"]   # "power law" | "inconclusive" | "not a power law"

Model: p(x) ∝ x^-alpha on [xmin, xmax] (xmax = None: unbounded). MLE alpha = 1 + n / Σ ln(x_i/xmin) (CSN eq. 3.1);
with an xmax the truncated likelihood equation 1/u - L/(e^{uL} - 1) = mean ln(x/xmin), u = alpha - 1,
L = ln(xmax/xmin), is solved by bisection (the xmax-aware normalizer of WeightWatcher issue #103).

xmin rule, the one ``powerlaw.Fit`` (2.0) uses with default settings: non-positive samples are dropped, the
candidates are the distinct sample values except the two largest distinct values, and the candidate with the
smallest KS distance D wins (the first, i.e. smallest, on ties). D is powerlaw's: on the tail's distinct values
u, |F_fit(u) - #{tail < u}/n_tail| maximized (the empirical CDF's left limits; it can differ from the two-sided
sup by at most 1/n_tail). Only alpha > 1 fits are valid. Unlike powerlaw 2.0 there is no upper limit on alpha:
powerlaw 2.0's default range is alpha in (0, 3), so its default fit silently moves xmin into the far tail
when the true alpha exceeds 3 (``powerlaw.Fit(x, parameter_ranges={"alpha": [1, None]})`` is the equal rule).

Speed: all candidates at once, exactly. D_k = max_j |F_k(x_j) - E_k(j)| is bounded for every candidate on a grid
of its tail (the deviation at grid points is exact: a lower bound; F and E are non-decreasing, so inside a cell it
is at most max(F_b - E_a, E_b - F_a): an upper bound); candidates whose lower bound exceeds the smallest upper
bound are dropped and the grid is refined 8x per level; the last few candidates are evaluated exactly, in order
of increasing lower bound, until no remaining bound is below the best exact D. Rows of a (B, n) batch (bootstrap
resamples, synthetic sets) are fitted together.

Goodness of fit (``power_law_quality``), the rule:
1. n_tail < ``min_tail`` (50): "inconclusive". CSN §3 need n_tail ≳ 50 for the MLE and its error
   (alpha-1)/√n_tail, and the KS test has no power below that; the "fingers" of WeightWatcher issue #102 (a few
   outliers picked as the whole tail, spuriously large alpha) land here.
2. CSN §4.1 semi-parametric bootstrap p-value of D (``n_reps`` synthetic sets, each refitted with its own
   xmin): p <= 0.1 -> "not a power law".
3. CSN §5 likelihood-ratio tests on the tail against an exponential (Vuong) and a lognormal (nested: the
   power law is its limit), both truncated at xmin and fitted by MLE: an alternative significantly better
   (R < 0, p < 0.1) -> "not a power law".
4. The power law must also fit significantly better than the exponential (R > 0, p < 0.1), CSN's test of
   whether the tail is heavy at all; if not: "inconclusive" (the KS-chosen tail of an exponential sample is
   often a short stretch that a steep power law also fits).
5. Otherwise "power law": plausible by the KS test, better than an exponential, and no lognormal fits
   significantly better. A lognormal can never be excluded (it contains the power law as a limit), and with a
   KS-chosen xmin the far tail of a lognormal sample often passes all tests (CSN §5 report the same for real
   data; in our runs about 3 in 8 lognormal samples of n = 2000-5000): "power law" means a power law is a
   plausible, better-than-exponential description of the tail, not that other heavy tails are ruled out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["PowerLawFit", "BootstrapCI", "fit_power_law", "bootstrap_alpha", "ks_pvalue", "likelihood_ratio",
           "power_law_quality"]

_GRID = 32  # cells per candidate tail at the first level
_SPLIT = 8  # each open cell is split into this many at the next level
_PAIRS = 1 << 16  # candidates fitted at once (bootstrap rows are chunked to this)
_CHUNK = 1 << 16  # grid evaluations per block (fits in L2 cache)
_EXACT_COST = 3  # a contiguous exact pass costs ~1/3 of a gathered grid point per tail point


@dataclass(frozen=True)
class PowerLawFit:
    alpha: float
    xmin: float
    D: float  # KS distance of the tail fit (powerlaw's definition, see module docstring)
    n_tail: int  # samples in [xmin, xmax]
    sigma: float  # standard error (alpha - 1) / sqrt(n_tail)
    n_candidates: int  # xmin values searched (1 for a fixed xmin)
    n: int  # positive samples used (at or below xmax)
    xmax: float | None = None


@dataclass(frozen=True)
class BootstrapCI:
    low: float
    high: float
    level: float
    alphas: torch.Tensor  # the refitted alphas of the resamples that could be fitted
    n_failed: int  # resamples with fewer than 4 distinct values


def _as_sorted(samples, xmax: float | None) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(samples.detach().cpu() if torch.is_tensor(samples) else samples, dtype=np.float64))
    if x.ndim != 1:
        raise ValueError(f"samples must be one-dimensional, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"samples contain {int((~torch.isfinite(x)).sum())} NaN/Inf values; remove them first")
    x = x[x > 0]
    if xmax is not None:
        if not xmax > 0:
            raise ValueError(f"xmax must be positive or None, got {xmax}")
        x = x[x <= xmax]
    return torch.sort(x).values


def _beta(nk, sum_log, xmax_log):
    """u = alpha - 1 from the tail sums: nk points, sum_log = Σ ln(x/xmin), xmax_log = ln(xmax/xmin) or None."""
    if xmax_log is None:
        return nk / sum_log
    m, L = sum_log / nk, xmax_log
    ok = m < L / 2  # otherwise the truncated MLE has alpha <= 1
    lo, hi = torch.zeros_like(m), torch.where(m > 0, 1 / m.clamp_min(1e-300), torch.inf)  # root u* < 1/m
    for _ in range(80):  # bisection on the decreasing h(u) = 1/u - L/(e^{uL} - 1)
        mid = (lo + hi) / 2
        h = 1 / mid - L / torch.expm1(mid * L)
        lo, hi = torch.where(h > m, mid, lo), torch.where(h > m, hi, mid)
    return torch.where(ok, (lo + hi) / 2, torch.nan)


def _cdf(t, beta, norm):
    """Power-law CDF at ln(x/xmin) = t: (1 - e^{-u t}) / norm, norm = 1 - (xmax/xmin)^{-u} (1 without xmax)."""
    return -torch.expm1(-beta * t) / norm


def _bounds(lflat, fflat, n, pb, pk, beta, norm, nk, grid):
    """For each pair (row b, candidate index k): (lower, upper) bound of D_k from a ``grid``-cell grid of its tail:
    the deviation at grid points is exact (lower bound) and, F_fit and E being non-decreasing, inside a cell
    [a, b] it is at most max(F_b - E_a, E_b - F_a) (upper bound)."""
    lbs, ubs = [], []
    steps = torch.arange(grid + 1, dtype=torch.float64)
    rows = max(1, _CHUNK // (grid + 1))
    for s in range(0, len(pk), rows):
        base, k, m = pb[s:s + rows, None] * n, pk[s:s + rows, None], nk[s:s + rows, None]
        at = base + k + torch.floor(steps * (m - 1) / grid).long()
        f = _cdf(lflat[at] - lflat[base + k], beta[s:s + rows, None], norm[s:s + rows, None])
        e = (fflat[at] - k).double() / m
        lbs.append((f - e).abs().amax(1))
        ubs.append(torch.maximum((f[:, 1:] - e[:, :-1]).amax(1), (e[:, 1:] - f[:, :-1]).amax(1)))
    return torch.cat(lbs), torch.cat(ubs)


def _exact(l, F, pb, pk, beta, norm, nk):
    """D_k exactly for each pair, on contiguous column blocks (pairs sorted by k share a start column)."""
    n = l.shape[1]
    order = torch.argsort(pk)
    pb, pk, beta, norm, nk = pb[order], pk[order], beta[order], norm[order], nk[order]
    D = torch.empty(len(pk), dtype=torch.float64)
    s = 0
    while s < len(pk):
        start = int(pk[s])
        e = min(len(pk), s + max(1, _CHUNK // (n - start)))
        b, k = pb[s:e], pk[s:e, None]
        f = _cdf(l[b, start:] - l[b, k[:, 0], None], beta[s:e, None], norm[s:e, None])
        d = (f - (F[b, start:] - k).double() / nk[s:e, None]).abs_()
        d.masked_fill_(torch.arange(start, n) < k, 0.0)  # columns before this candidate's xmin
        D[s:e] = d.amax(1)
        s = e
    return D[torch.argsort(order)]


def _exact_from_best(l, F, pb, pk, beta, norm, nk, lb, best):
    """Exact D for the remaining pairs in order of increasing lower bound, dropping those whose bound exceeds
    the best exact D found so far. Returns the pairs still in the race with their exact D."""
    order = torch.argsort(lb)
    pb, pk, beta, norm, nk, lb = pb[order], pk[order], beta[order], norm[order], nk[order], lb[order]
    done = torch.zeros(len(pk), dtype=torch.bool)
    D = lb.clone()
    s, size = 0, 16
    while s < len(pk):
        live = (~done) & (lb <= best[pb] + 1e-12)
        live[:s] = False
        todo = live.nonzero(as_tuple=True)[0][:size]
        if not len(todo):
            break
        D[todo] = _exact(l, F, pb[todo], pk[todo], beta[todo], norm[todo], nk[todo])
        done[todo] = True
        best = best.scatter_reduce(0, pb[todo], D[todo], "amin")
        s, size = int(todo[-1]) + 1, size * 2
    keep = done & (D <= best[pb])
    return pb[keep], pk[keep], D[keep]


def _scan(x: torch.Tensor, xmax: float | None):
    """KS xmin search on each row of sorted positive ``x`` (B, n). Returns (alpha, xmin index, D, n_candidates)."""
    B, n = x.shape
    idx = torch.arange(n)
    l = torch.log(x / x[:, :1])
    first = torch.ones_like(x, dtype=torch.bool)
    first[:, 1:] = x[:, 1:] != x[:, :-1]
    F = torch.cummax(torch.where(first, idx, 0), dim=1).values  # index of each value's first occurrence
    distinct = torch.cumsum(first, 1) - 1
    cand = first & (distinct < distinct[:, -1:] - 1)  # drop the two largest distinct values
    nk = (n - idx).double().expand(B, n)
    suffix = torch.flip(torch.cumsum(torch.flip(l, [1]), 1), [1])
    sum_log = suffix - nk * l
    xmax_log = None if xmax is None else math.log(xmax) - torch.log(x)
    beta = _beta(nk, sum_log, xmax_log)
    norm = torch.ones_like(x) if xmax is None else -torch.expm1(-beta * xmax_log)
    enough = cand.sum(1, keepdim=True) >= 2  # powerlaw needs two candidate xmins
    valid = cand & enough & torch.isfinite(beta) & (beta > 0)
    pb, pk = valid.nonzero(as_tuple=True)
    pbeta, pnorm, pnk = beta[pb, pk], norm[pb, pk], nk[pb, pk]
    lflat, fflat = l.reshape(-1), F.reshape(-1)
    best = torch.full((B,), torch.inf, dtype=torch.float64)
    grid, lb = _GRID, pbeta
    while len(pk):  # bounds on ever finer grids, dropping candidates that cannot be the minimum
        g = int(min(grid, max(1, int(pnk.max()) - 1)))
        lb, ub = _bounds(lflat, fflat, n, pb, pk, pbeta, pnorm, pnk, g)
        exact = pnk - 1 <= g  # the grid covers every tail point: the bound is D itself
        best = best.scatter_reduce(0, pb, torch.where(exact, lb, ub), "amin")
        keep = lb <= best[pb] + 1e-12  # (tolerance: ulp-level non-monotonicity of expm1)
        pb, pk, pbeta, pnorm, pnk, lb = pb[keep], pk[keep], pbeta[keep], pnorm[keep], pnk[keep], lb[keep]
        if bool(exact[keep].all()):
            break
        if float(pnk.sum()) <= _EXACT_COST * len(pk) * (_SPLIT * g + 1):
            pb, pk, lb = _exact_from_best(l, F, pb, pk, pbeta, pnorm, pnk, lb, best)
            break
        grid *= _SPLIT
    alpha = torch.full((B,), torch.nan, dtype=torch.float64)
    kbest = torch.full((B,), -1, dtype=torch.long)
    D = torch.full((B,), torch.nan, dtype=torch.float64)
    if len(pk):
        dmin = torch.full((B,), torch.inf, dtype=torch.float64).scatter_reduce(0, pb, lb, "amin")
        at_min = lb <= dmin[pb]
        kbest = torch.full((B,), n, dtype=torch.long).scatter_reduce(0, pb[at_min], pk[at_min], "amin")
        ok = kbest < n
        kbest = torch.where(ok, kbest, -1)
        rows = ok.nonzero(as_tuple=True)[0]
        alpha[rows] = 1 + beta[rows, kbest[rows]]
        D[rows] = dmin[rows]
    return alpha, kbest, D, valid.sum(1)


def _fixed_xmin(x: torch.Tensor, xmin: float, xmax: float | None):
    tail = x[x >= xmin]
    if len(tail) < 2:
        raise ValueError(f"only {len(tail)} samples are >= xmin={xmin}; a tail fit needs at least 2")
    t = torch.log(tail / xmin)
    nk = torch.tensor(float(len(tail)), dtype=torch.float64)
    L = None if xmax is None else torch.tensor(math.log(xmax / xmin), dtype=torch.float64)
    beta = _beta(nk, t.sum(), L)
    if not (torch.isfinite(beta) and beta > 0):
        raise ValueError(f"the tail above xmin={xmin} has no power-law fit with alpha > 1")
    norm = torch.ones(()) if L is None else -torch.expm1(-beta * L)
    first = torch.searchsorted(tail, tail, side="left")
    D = (_cdf(t, beta, norm) - first.double() / len(tail)).abs().max()
    return float(1 + beta), float(D), len(tail)


def fit_power_law(samples, xmin: str | float = "ks", xmax: float | None = None) -> PowerLawFit:
    """CSN continuous power-law fit of the tail of ``samples`` (array or tensor); ``xmin="ks"`` searches xmin."""
    x = _as_sorted(samples, xmax)
    if isinstance(xmin, str):
        if xmin != "ks":
            raise ValueError(f'xmin must be "ks" (search) or a number, got {xmin!r}')
        alpha, k, D, ncand = _scan(x[None], xmax)
        if k[0] < 0:
            raise ValueError(f"cannot choose xmin: {len(x)} positive samples with {len(torch.unique(x))} distinct "
                             "values; the KS search needs at least 4 distinct values and a fit with alpha > 1")
        a, xm, d, nt, nc = float(alpha[0]), float(x[k[0]]), float(D[0]), len(x) - int(k[0]), int(ncand[0])
    else:
        a, d, nt = _fixed_xmin(x, float(xmin), xmax)
        xm, nc = float(xmin), 1
    return PowerLawFit(alpha=a, xmin=xm, D=d, n_tail=nt, sigma=(a - 1) / math.sqrt(nt), n_candidates=nc, n=len(x),
                       xmax=xmax)


def _generator(seed: int | torch.Generator) -> torch.Generator:
    return seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))


def _fit_rows(rows: torch.Tensor, xmax: float | None):
    chunk = max(1, _PAIRS // rows.shape[1])
    out = [_scan(torch.sort(rows[s:s + chunk], dim=1).values, xmax) for s in range(0, len(rows), chunk)]
    return torch.cat([o[0] for o in out]), torch.cat([o[2] for o in out])


def bootstrap_alpha(samples, n_boot: int = 200, seed: int | torch.Generator = 0, level: float = 0.95,
                    xmax: float | None = None) -> BootstrapCI:
    """Percentile interval of alpha over ``n_boot`` resamples (with replacement), xmin re-chosen by KS each time."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2, got {n_boot}")
    x = _as_sorted(samples, xmax)
    draws = torch.randint(0, len(x), (n_boot, len(x)), generator=_generator(seed))
    alphas, _ = _fit_rows(x[draws], xmax)
    good = alphas[torch.isfinite(alphas)]
    if len(good) < 2:
        raise ValueError("fewer than 2 resamples could be fitted; the sample has too few distinct values")
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    low, high = torch.quantile(good, q).tolist()
    return BootstrapCI(low=low, high=high, level=level, alphas=good, n_failed=n_boot - len(good))


def ks_pvalue(samples, fit: PowerLawFit, n_reps: int = 100, seed: int | torch.Generator = 0) -> float:
    """CSN §4.1 semi-parametric bootstrap: the fraction of synthetic data sets (power-law tail above xmin with
    probability n_tail/n, else a draw from the observed values below xmin), each refitted by the same rule as
    ``fit`` (its own KS xmin, or the same fixed xmin), whose D is at least the observed D."""
    x = _as_sorted(samples, fit.xmax)
    g = _generator(seed)
    body = x[x < fit.xmin]
    u = torch.rand(n_reps, len(x), generator=g, dtype=torch.float64)
    beta = fit.alpha - 1
    cut = 1.0 if fit.xmax is None else 1 - (fit.xmax / fit.xmin) ** -beta
    synthetic = fit.xmin * (1 - u * cut) ** (-1 / beta)  # inverse CDF of the (truncated) power law
    if len(body):
        from_body = torch.rand(n_reps, len(x), generator=g, dtype=torch.float64) >= fit.n_tail / len(x)
        pick = body[torch.randint(0, len(body), (n_reps, len(x)), generator=g)]
        synthetic = torch.where(from_body, pick, synthetic)
    if fit.n_candidates == 1:  # a fixed xmin: each synthetic set is fitted with the same xmin
        D = torch.tensor([_fixed_xmin(torch.sort(row).values, fit.xmin, fit.xmax)[1] for row in synthetic])
    else:
        _, D = _fit_rows(synthetic, fit.xmax)
    D = D[torch.isfinite(D)]
    return float((D >= fit.D).double().mean()) if len(D) else math.nan


def _loglik_alternative(tail: np.ndarray, xmin: float, xmax: float | None, kind: str) -> np.ndarray:
    """Pointwise log-likelihoods of the MLE exponential or lognormal truncated to [xmin, xmax]."""
    from scipy import optimize, special

    ln = np.log(tail)
    if kind == "exponential":
        def loglik(p):
            lam = math.exp(p[0])
            mass = 1.0 if xmax is None else -math.expm1(-lam * (xmax - xmin))
            return math.log(lam / mass) - lam * (tail - xmin)
        p0 = [-math.log(max(float(np.mean(tail - xmin)), 1e-300))]
    elif kind == "lognormal":
        def loglik(p):
            mu, s = p[0], math.exp(p[1])
            mass = special.log_ndtr((mu - math.log(xmin)) / s)  # log P(X >= xmin)
            if xmax is not None:  # log P(xmin <= X <= xmax); an underflowing mass makes the point impossible
                beyond = special.log_ndtr((mu - math.log(xmax)) / s)
                mass = mass + math.log1p(-math.exp(beyond - mass)) if beyond < mass else np.inf
            return -ln - math.log(s * math.sqrt(2 * math.pi)) - (ln - mu) ** 2 / (2 * s * s) - mass
        p0 = [float(np.mean(ln)), math.log(max(float(np.std(ln)), 1e-3))]
    else:
        raise ValueError(f"alternative must be 'exponential' or 'lognormal', got {kind!r}")
    options = {"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000}
    return loglik(optimize.minimize(lambda p: -float(np.sum(loglik(p))), p0, method="Nelder-Mead", options=options).x)


def likelihood_ratio(samples, fit: PowerLawFit, alternative: str) -> tuple[float, float]:
    """Log-likelihood ratio test of the power law against ``alternative`` on the tail (CSN §5). Returns
    (R/(σ√n), p), R = Σ (ln p_pl - ln p_alt) > 0 favouring the power law. Exponential: Vuong's non-nested test,
    p = erfc(|R|/(σ√(2n))). Lognormal: the power law is the μ → -∞, σ² → ∞ limit of the lognormal truncated at
    xmin, so the test is nested with the power law on the boundary: p = ½·P(χ²₁ > -2R) (Self & Liang 1987) for
    R < 0, and 1 for R >= 0: a lognormal can be shown better than a power law, never the reverse."""
    from scipy.special import erfc
    from scipy.stats import chi2

    x = _as_sorted(samples, fit.xmax)
    tail = x[x >= fit.xmin].numpy()
    beta, n = fit.alpha - 1, len(tail)
    norm = 1.0 if fit.xmax is None else -math.expm1(-beta * math.log(fit.xmax / fit.xmin))
    ll_pl = math.log(beta / fit.xmin / norm) - fit.alpha * np.log(tail / fit.xmin)
    diff = ll_pl - _loglik_alternative(tail, fit.xmin, fit.xmax, alternative)
    R, sd = float(diff.sum()), float(diff.std())
    normalized = R / (sd * math.sqrt(n)) if sd > 0 else 0.0
    if alternative == "lognormal":
        return normalized, float(0.5 * chi2.sf(-2 * R, 1)) if R < 0 else 1.0
    return normalized, float(erfc(abs(R) / (sd * math.sqrt(2 * n)))) if sd > 0 else 1.0


def power_law_quality(samples, fit: PowerLawFit | None = None, *, n_reps: int = 100, seed: int = 0,
                      min_tail: int = 50, p_threshold: float = 0.1) -> dict:
    """The verdict of the module docstring's rule, with its numbers: verdict, p_value (None when not
    computed), reason, n_tail, lr (per alternative: normalized R and its p-value)."""
    fit = fit or fit_power_law(samples)
    out = {"n_tail": fit.n_tail, "p_value": None, "lr": {}}
    if fit.n_tail < min_tail:
        return {**out, "verdict": "inconclusive",
                "reason": f"the KS-chosen tail has only {fit.n_tail} points (< {min_tail}): alpha={fit.alpha:.2f} "
                          f"± {fit.sigma:.2f} is not reliable and the KS test has no power"}
    p = ks_pvalue(samples, fit, n_reps, seed)
    out["p_value"] = p
    out["lr"] = {alt: dict(zip(("R", "p"), likelihood_ratio(samples, fit, alt)))
                 for alt in ("exponential", "lognormal")}
    if p <= p_threshold:
        return {**out, "verdict": "not a power law",
                "reason": f"KS bootstrap p = {p:.2f} <= {p_threshold} ({n_reps} synthetic sets): the tail deviates "
                          f"from a power law more than sampling noise explains"}
    better = [a for a, r in out["lr"].items() if r["R"] < 0 and r["p"] < p_threshold]
    if better:
        return {**out, "verdict": "not a power law",
                "reason": f"KS p = {p:.2f} is plausible but a {' and a '.join(better)} fits the tail significantly "
                          "better (Vuong likelihood ratio)"}
    ex, ln = out["lr"]["exponential"], out["lr"]["lognormal"]
    if not (ex["R"] > 0 and ex["p"] < p_threshold):
        return {**out, "verdict": "inconclusive",
                "reason": f"KS p = {p:.2f} is plausible, but over this tail (n_tail={fit.n_tail}) the power law does "
                          f"not fit significantly better than an exponential (R={ex['R']:.2f}, p={ex['p']:.2f}): "
                          "the data cannot tell a heavy tail from a light one"}
    return {**out, "verdict": "power law",
            "reason": f"KS bootstrap p = {p:.2f} > {p_threshold} over n_tail={fit.n_tail}, the power law beats an "
                      f"exponential (R={ex['R']:.2f}, p={ex['p']:.3f}) and no lognormal fits significantly better "
                      f"(nested LR p = {ln['p']:.2f})"}
