"""Trace of a symmetric operator (a Hessian, a GGN) by Hutchinson and Hutch++, with a confidence interval.

Hutchinson (1989): tr(H) = E[zᵀHz] for Rademacher z (±1 entries); the estimate is the mean of p
samples, its variance 2(‖H‖_F² − Σ H_ii²)/p. The confidence interval is Student-t on the samples.

Hutch++ (Meyer, Musco, Musco & Woodruff 2021) spends a third of the m operator calls on a sketch
Q = orth(H S), a third on tr(QᵀHQ) (exact on the top subspace), and the rest on Hutchinson for the
deflated remainder (I − QQᵀ)H(I − QQᵀ). When a few large eigenvalues dominate ‖H‖_F, as they do in
neural-network Hessians, the remainder's variance is far smaller. Its interval is conditional on Q
(the sketch part has no sampling error once Q is drawn) and Student-t on the remainder's samples.

Run the oracle tests with ``pytest tests/test_measure_hessian.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy.special import stdtrit
from torch import nn

from .hvp import LossFn, hessian_operator
from .lanczos import make_generator, random_vectors

__all__ = ["TraceEstimate", "hutchinson_trace", "hutchpp_trace", "hessian_trace"]


@dataclass(frozen=True)
class TraceEstimate:
    """A trace estimate with its standard error and a two-sided ``confidence`` interval."""

    estimate: float
    stderr: float
    ci_low: float
    ci_high: float
    confidence: float
    num_matvecs: int
    method: str


def summarize(samples: torch.Tensor, offset: float, confidence: float, num_matvecs: int, method: str) -> TraceEstimate:
    """``offset + mean(samples)`` with a Student-t interval on the samples (zero width for one sample: NaN)."""
    samples = samples.double().cpu()
    p = len(samples)
    mean = offset + float(samples.mean())
    if p < 2:
        return TraceEstimate(mean, math.nan, math.nan, math.nan, confidence, num_matvecs, method)
    stderr = float(samples.std(unbiased=True)) / math.sqrt(p)
    half = float(stdtrit(p - 1, 0.5 + confidence / 2)) * stderr  # Student-t quantile
    return TraceEstimate(mean, stderr, mean - half, mean + half, confidence, num_matvecs, method)


def _probe_forms(op, num: int, gen: torch.Generator, block_size: int, Q: torch.Tensor | None = None) -> torch.Tensor:
    """gᵀHg for ``num`` Rademacher probes g (projected to g − QQᵀg when Q is given), drawn and applied
    ``block_size`` at a time so memory stays O(block_size · n)."""
    out = []
    for start in range(0, num, block_size):
        G = random_vectors(min(block_size, num - start), op.size, op, gen, "rademacher")
        if Q is not None:
            G = G - (G @ Q.T) @ Q
        out.append((op.matmat(G) * G).sum(1))
    return torch.cat(out)


def hutchinson_trace(op, num_probes: int = 100, *, confidence: float = 0.95, block_size: int = 10,
                     generator: torch.Generator | None = None, seed: int = 0) -> TraceEstimate:
    """tr(H) ≈ mean of zᵀHz over ``num_probes`` Rademacher probes (``num_probes`` operator calls)."""
    if num_probes < 1:
        raise ValueError(f"num_probes must be >= 1, got {num_probes}")
    samples = _probe_forms(op, num_probes, make_generator(generator, seed), block_size)
    return summarize(samples, 0.0, confidence, num_probes, "hutchinson")


def hutchpp_trace(op, num_matvecs: int = 99, *, sketch_size: int | None = None, target_stderr: float | None = None,
                  min_probes: int = 8, confidence: float = 0.95, block_size: int = 10,
                  generator: torch.Generator | None = None, seed: int = 0) -> TraceEstimate:
    """Hutch++ with at most ``num_matvecs`` operator calls.

    The sketch has ``sketch_size`` vectors (default num_matvecs // 3; it costs 2·sketch_size calls),
    the rest go to remainder probes. With ``target_stderr`` the probes come in blocks and stop once at
    least ``min_probes`` are in and the standard error is ≤ ``target_stderr`` (an adaptive stop: the
    interval is then slightly optimistic). ``num_matvecs`` reports the calls actually used.
    """
    k = num_matvecs // 3 if sketch_size is None else sketch_size
    k = min(k, op.size)
    if k < 1 or num_matvecs - 2 * k < 2:
        raise ValueError(f"Hutch++ needs a sketch (>= 1 vector) and >= 2 remainder probes: num_matvecs="
                         f"{num_matvecs}, sketch_size={k} leaves {num_matvecs - 2 * k}")
    gen = make_generator(generator, seed)
    HS = torch.cat([op.matmat(random_vectors(min(block_size, k - i), op.size, op, gen, "rademacher"))
                    for i in range(0, k, block_size)])
    Q = torch.linalg.qr(HS.T.double()).Q.T.to(op.dtype)  # (k, n), orthonormal rows
    del HS
    top = sum(float((op.matmat(B) * B).sum().double()) for B in Q.split(block_size))  # tr(QᵀHQ)
    budget = num_matvecs - 2 * k
    if target_stderr is None:
        rest = _probe_forms(op, budget, gen, block_size, Q)
    else:
        rest = _probe_forms(op, min(max(min_probes, 2), budget), gen, block_size, Q)
        while len(rest) < budget and float(rest.double().std()) / math.sqrt(len(rest)) > target_stderr:
            more = _probe_forms(op, min(block_size, budget - len(rest)), gen, block_size, Q)
            rest = torch.cat([rest, more])
    return summarize(rest, top, confidence, 2 * k + len(rest), "hutch++")


def hessian_trace(model: nn.Module, loss_fn: LossFn, batches, num_matvecs: int = 100, *, method: str = "hutch++",
                  confidence: float = 0.95, seed: int = 0, generator: torch.Generator | None = None,
                  bn_mode: str = "eval", dtype: torch.dtype | None = None, block_size: int = 10) -> TraceEstimate:
    """Trace of the loss Hessian by ``method`` ("hutch++" or "hutchinson") with ``num_matvecs`` HVPs.

    >>> t = hessian_trace(model, nn.functional.cross_entropy, [(x, y)], 100)
    >>> t.estimate, (t.ci_low, t.ci_high)
    """
    op = hessian_operator(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    if method == "hutchinson":
        return hutchinson_trace(op, num_matvecs, confidence=confidence, block_size=block_size,
                                generator=generator, seed=seed)
    if method == "hutch++":
        return hutchpp_trace(op, num_matvecs, confidence=confidence, block_size=block_size,
                             generator=generator, seed=seed)
    raise ValueError(f"method must be 'hutch++' or 'hutchinson', got {method!r}")
