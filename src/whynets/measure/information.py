"""Mutual-information estimators for the information plane (I(X;T), I(T;Y) of a layer T).

The information-bottleneck account of deep learning (Shwartz-Ziv & Tishby 2017, "Opening the black box
of deep neural networks via information") tracks, for every layer T, the pair (I(X;T), I(T;Y)) during
training; Saxe et al. 2018 ("On the information bottleneck theory of deep learning") showed that the
"compression phase" depends on the activation and on the estimator. Three estimators, all in bits:

* ``binned_mi(t, x_ids, y, bins, range)`` — the discretization estimator of Shwartz-Ziv & Tishby. Each
  unit of T is cut into ``bins`` equal-width bins, the bin pattern of a row is a discrete symbol, and the
  entropies of the symbols give I(X;T) = H(T) − H(T|X) (= H(T) for a deterministic layer over distinct
  inputs) and I(T;Y) = H(T) − H(T|Y). X is uniform over its distinct examples (``x_ids``; rows with the
  same id share that example's mass equally). ``range="layer"`` (default) bins over the layer's own
  min..max at that epoch; a fixed ``(lo, hi)`` — the IDNNs code uses (−1, 1) — clips values outside it into
  the end bins, which for ReLU layers (activations > 1) manufactures "compression".
* ``kde_mi(t, y, noise_var)`` — Saxe et al. / Kolchinsky & Tracey 2017 pairwise-distance estimator for
  T + N(0, noise_var·I), X uniform over the n rows: I(X;T) ≤ −(1/n) Σ_i log (1/n) Σ_j exp(−‖t_i − t_j‖²/2σ²)
  (the KL upper bound on the mixture entropy minus H(noise)); ``bound="lower"`` uses the Bhattacharyya
  distance ‖·‖²/8σ² instead, a lower bound. I(T;Y) = Ĥ(T) − Σ_y p(y) Ĥ(T|Y=y) from the same entropy bound
  (an estimate, not a bound). These are the formulas of the ``kde.py`` in github.com/artemyk/ibsgd.
* ``knn_mi(a, b, k)`` — Kraskov, Stögbauer & Grassberger 2004, estimator 1 (KSG):
  I = ψ(k) + ψ(n) − ⟨ψ(n_a + 1) + ψ(n_b + 1)⟩, with max-norm distances, ε_i the distance from z_i = (a_i, b_i)
  to its k-th neighbour and n_a(i) the number of j ≠ i with ‖a_i − a_j‖_∞ < ε_i (same for b). It assumes
  continuous data (no ties); for discrete or duplicated rows add tiny noise first.

Usage: ``ixt, ity = binned_mi(layer_activations, None, labels, bins=30)``. Oracle tests:
``pytest tests/test_measure_information.py``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

__all__ = ["binned_mi", "kde_mi", "knn_mi", "discrete_entropy"]

_LOG2 = math.log(2.0)
_CHUNK_ELEMENTS = 1 << 18  # rows × columns of one block of a pairwise matrix (2 MiB in float64: cache-sized, 2.5x faster than 32 MiB)


def _rows(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, d) with n ≥ 1 (or (n,) for one unit), got {tuple(x.shape)}")
    x = x.to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or Inf; measure a finite layer (a diverged model has no MI)")
    return x


def _symbols(v: torch.Tensor) -> torch.Tensor:
    """Integer symbol per row (per element for a 1-D tensor), equal rows → equal symbols."""
    v = torch.as_tensor(v)
    if v.ndim == 1:
        return torch.unique(v, return_inverse=True)[1]
    return torch.unique(v.flatten(1), dim=0, return_inverse=True)[1]


def discrete_entropy(symbols: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    """Entropy in bits of a discrete variable given one symbol per row (rows of a 2-D tensor are symbols)
    and optional row probabilities ``weights`` (summing to 1; uniform when None)."""
    inv = _symbols(symbols)
    w = (torch.full((inv.numel(),), 1.0 / inv.numel(), dtype=torch.float64, device=inv.device)
         if weights is None else torch.as_tensor(weights, dtype=torch.float64, device=inv.device))
    p = torch.zeros(int(inv.max()) + 1, dtype=torch.float64, device=inv.device).index_add_(0, inv, w)
    p = p[p > 0]
    return float(-(p * p.log()).sum()) / _LOG2


def _labels(y: torch.Tensor, n: int) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but the layer has {n}; give one label (or one-hot row) per row")
    return _symbols(y)


def binned_mi(t: torch.Tensor, x_ids: torch.Tensor | None, y: torch.Tensor, bins: int = 30,
              range: Literal["layer"] | tuple[float, float] = "layer") -> tuple[float, float]:  # noqa: A002
    """(I(X;T), I(T;Y)) in bits by binning every unit of t (n, units) into ``bins`` equal bins.

    ``x_ids`` (n,) names the example behind each row (None: every row is its own example); X is uniform
    over the distinct ids. ``y`` is a label (n,) or one-hot row (n, c) per row. ``range="layer"`` bins
    over [t.min(), t.max()] of this layer (a constant layer is one bin: both MIs are 0); ``(lo, hi)`` bins
    over a fixed interval and clips values outside it into the first / last bin.
    """
    t64 = _rows(t, "t")
    n = t64.shape[0]
    if not (isinstance(bins, int) and bins >= 1):
        raise ValueError(f"bins must be a positive whole number of bins per unit, got {bins!r}")
    if isinstance(range, str):
        if range != "layer":
            raise ValueError(f"range must be 'layer' or a pair (lo, hi), got {range!r}")
        lo, hi = float(t64.min()), float(t64.max())
    else:
        lo, hi = (float(v) for v in range)
        if not hi > lo:
            raise ValueError(f"range (lo, hi) needs hi > lo, got {range!r}")
    width = (hi - lo) / bins
    if width > 0:
        idx = torch.floor((t64 - lo) / width).clamp_(0, bins - 1).to(torch.int64)
    else:  # constant layer: a single bin
        idx = torch.zeros_like(t64, dtype=torch.int64)
    t_sym = torch.unique(idx, dim=0, return_inverse=True)[1]
    y_sym = _labels(y, n).to(t64.device)
    if x_ids is None:
        x_sym = torch.arange(n, device=t64.device)
    else:
        x_ids = torch.as_tensor(x_ids)
        if x_ids.shape[0] != n:
            raise ValueError(f"x_ids has {x_ids.shape[0]} entries but the layer has {n} rows; give one id per row")
        x_sym = _symbols(x_ids).to(t64.device)
    # p(row) = p(x) / (rows of x) with p(x) = 1 / #distinct x
    counts = torch.bincount(x_sym).to(torch.float64)
    w = 1.0 / (counts.numel() * counts[x_sym])
    h_t = discrete_entropy(t_sym, w)
    h_x = discrete_entropy(x_sym, w)
    h_y = discrete_entropy(y_sym, w)
    h_tx = discrete_entropy(torch.stack([t_sym, x_sym], 1), w)
    h_ty = discrete_entropy(torch.stack([t_sym, y_sym], 1), w)
    return max(h_t + h_x - h_tx, 0.0), max(h_t + h_y - h_ty, 0.0)  # max: round-off only


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)).clamp_min_(0.0)


def _mixture_terms(t: torch.Tensor, labels: torch.Tensor, scale: float) -> tuple[float, float]:
    """In nats, one row-chunked pass over the pairwise matrix:
    m = −(1/n) Σ_i log (1/n) Σ_j exp(−‖t_i − t_j‖²/scale) and Σ_c p_c m_c, with m_c the same within class c."""
    n = t.shape[0]
    class_sizes = torch.bincount(labels).to(torch.float64)
    step = max(1, _CHUNK_ELEMENTS // n)
    lse_all = lse_same = 0.0
    for start in torch.arange(0, n, step).tolist():
        block = -_sq_dists(t[start:start + step], t) / scale
        lse_all += float(torch.logsumexp(block, dim=1).sum())
        same = labels[start:start + step, None] == labels[None, :]
        lse_same += float(torch.logsumexp(block.masked_fill_(~same, float("-inf")), dim=1).sum())
    p = class_sizes[class_sizes > 0] / n
    return math.log(n) - lse_all / n, float((p * (p * n).log()).sum()) - lse_same / n


def kde_mi(t: torch.Tensor, y: torch.Tensor, noise_var: float,
           bound: Literal["upper", "lower"] = "upper") -> tuple[float, float]:
    """(I(X;T), I(T;Y)) in bits for T + N(0, noise_var·I), X uniform over the rows of t (n, d).

    ``bound="upper"``: the KL pairwise-distance upper bound on I(X;T) (Kolchinsky & Tracey 2017, as used
    by Saxe et al. 2018); ``"lower"``: the Bhattacharyya lower bound. I(T;Y) = Ĥ(T) − Σ_y p(y) Ĥ(T|Y=y) with
    the same entropy estimate and p(y) the label frequencies.
    """
    t64 = _rows(t, "t")
    if not noise_var > 0:
        raise ValueError(f"noise_var must be > 0 (the variance of the added Gaussian noise), got {noise_var}")
    if bound not in ("upper", "lower"):
        raise ValueError(f"bound must be 'upper' (KL) or 'lower' (Bhattacharyya), got {bound!r}")
    scale = (2.0 if bound == "upper" else 8.0) * noise_var  # KL = ‖Δ‖²/2σ², Bhattacharyya = ‖Δ‖²/8σ²
    # Ĥ(T) − H(noise) for each subset; the (d/2)·log(2πeσ²) of both entropies cancels, and so does the
    # Bhattacharyya offset (d/2)·log(1/4) inside Ĥ(T) − Ĥ(T|Y).
    i_xt, cond = _mixture_terms(t64, _labels(y, t64.shape[0]).to(t64.device), scale)
    return i_xt / _LOG2, max(i_xt - cond, 0.0) / _LOG2


def knn_mi(a: torch.Tensor, b: torch.Tensor, k: int = 3) -> float:
    """KSG estimator 1 of I(A;B) in bits from n paired samples a (n, d_a), b (n, d_b) of continuous variables."""
    a64, b64 = _rows(a, "a"), _rows(b, "b")
    n = a64.shape[0]
    if b64.shape[0] != n:
        raise ValueError(f"a and b must be paired samples: a has {n} rows, b has {b64.shape[0]}")
    if not (isinstance(k, int) and 1 <= k < n):
        raise ValueError(f"k must be a whole number with 1 ≤ k < n = {n} (neighbours), got {k!r}")
    step = max(1, _CHUNK_ELEMENTS // n)
    digamma_sum = 0.0
    for start in torch.arange(0, n, step).tolist():
        rows = torch.arange(start, min(start + step, n), device=a64.device)
        da = torch.cdist(a64[rows], a64, p=float("inf"))
        db = torch.cdist(b64[rows], b64, p=float("inf"))
        dz = torch.maximum(da, db)
        dz[torch.arange(rows.numel()), rows] = float("inf")  # a point is not its own neighbour
        eps = torch.kthvalue(dz, k, dim=1).values[:, None]
        n_a = (da < eps).sum(1).to(torch.float64) - 1.0  # minus the point itself (distance 0 < eps)
        n_b = (db < eps).sum(1).to(torch.float64) - 1.0
        digamma_sum += float((torch.special.digamma(n_a + 1.0) + torch.special.digamma(n_b + 1.0)).sum())
    psi = torch.special.digamma(torch.tensor([float(k), float(n)], dtype=torch.float64))
    nats = float(psi.sum())
    return (nats - digamma_sum / n) / _LOG2
