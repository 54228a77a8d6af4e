"""Extreme eigenpairs of a symmetric operator (a Hessian, a GGN, a matrix) by Lanczos and power iteration.

``lanczos`` runs r independent Lanczos recurrences side by side (one ``matmat`` of r vectors per step)
with FULL re-orthogonalization (classical Gram-Schmidt, done twice: "twice is enough"), so the basis
stays orthonormal to working precision and no spurious copies of converged eigenvalues appear.
``lanczos_eigenpairs`` stops when every wanted Ritz pair (θ, y) has residual ‖Hy − θy‖ = β_m·|s_m|
≤ tol·‖H‖ (‖H‖ estimated by the largest |Ritz value|); the eigenvalue error is then at most the
residual, and about residual²/gap. ``power_iteration`` (with deflation) is there for comparison.

Any object with ``size``, ``dtype``, ``device`` and ``matmat(V: (k, n)) -> (k, n)`` is an operator
(``HessianOperator``, ``GGNOperator``, ``DenseOperator``). Randomness comes from an explicit
``torch.Generator`` (CPU; the draws are moved to the operator's device, so CPU and CUDA runs agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from torch import nn

from .hvp import LossFn, hessian_operator

__all__ = ["Eigenpairs", "lanczos", "lanczos_eigenpairs", "power_iteration", "hessian_eigenpairs", "gradient_start"]


def make_generator(generator: torch.Generator | None, seed: int) -> torch.Generator:
    """The caller's generator, or a fresh CPU generator seeded with ``seed`` (never the global RNG)."""
    if generator is not None:
        return generator
    return torch.Generator().manual_seed(seed)


def random_vectors(k: int, n: int, op, generator: torch.Generator, kind: str = "gaussian") -> torch.Tensor:
    """k random vectors of length n on the operator's device: ``gaussian`` or ``rademacher`` (±1)."""
    if kind == "gaussian":
        v = torch.randn(k, n, generator=generator, dtype=torch.float64)
    elif kind == "rademacher":  # int8 draws: the same ±1 in every dtype, 1 byte per entry
        v = torch.randint(0, 2, (k, n), generator=generator, dtype=torch.int8) * 2 - 1
        return v.to(op.device, op.dtype)
    else:
        raise ValueError(f"kind must be 'gaussian' or 'rademacher', got {kind!r}")
    return v.to(op.device, op.dtype)


@dataclass(frozen=True)
class Eigenpairs:
    """Eigenvalues (k,), unit eigenvectors (k, n), residual norms ‖Hy − θy‖ (k,), operator calls used."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    residuals: torch.Tensor
    num_matvecs: int
    converged: bool


def _orthogonalize(w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Remove from each w[r] (r, n) its components along basis[r] (r, j, n), twice."""
    for _ in range(2):
        w = w - torch.bmm(torch.bmm(basis, w.unsqueeze(2)).transpose(1, 2), basis).squeeze(1)
    return w


def lanczos(op, start: torch.Tensor, num_steps: int, *, generator: torch.Generator | None = None,
            callback=None) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Lanczos with full re-orthogonalization from start vectors (r, n), r recurrences side by side.

    Returns ``(alpha (r, m), beta (r, m), basis (r, m, n))``, m ≤ min(num_steps, n): the tridiagonal
    matrix T_m has diagonal ``alpha`` and off-diagonal ``beta[:, :m-1]``; ``beta[:, m-1]`` is the
    coupling to the next (uncomputed) basis vector, so the residual of a Ritz pair (θ, s) of T_m is
    ``beta[:, m-1]·|s[m-1]|``. alpha and beta are float64 NumPy arrays, the basis is in the operator's
    dtype and device. On breakdown (an invariant subspace: β ≈ 0) a run records β = 0 and goes on
    with a fresh random vector orthogonal to its basis, so T splits and the new block gets exactly
    zero quadrature weight. ``callback(alpha, beta)`` runs after each step; True stops the iteration.
    """
    generator = make_generator(generator, 0)
    V = start.to(op.device, op.dtype)
    r, n = V.shape
    m_max = min(num_steps, n)
    basis = torch.empty(r, min(m_max, 32), n, device=op.device, dtype=op.dtype)  # grown by doubling
    alpha, beta = np.zeros((r, m_max)), np.zeros((r, m_max))
    basis[:, 0] = V / V.norm(dim=1, keepdim=True)
    tiny, scale = 100 * torch.finfo(op.dtype).eps, np.zeros(r)
    for j in range(m_max):
        W = op.matmat(basis[:, j])
        a = (W * basis[:, j]).sum(1)
        W = _orthogonalize(W, basis[:, :j + 1])
        norms = W.norm(dim=1)
        scalars = torch.stack([a, norms]).double().cpu().numpy()  # one transfer per step
        alpha[:, j] = scalars[0]
        scale = np.maximum(scale, np.abs(scalars[0]))
        broken = scalars[1] <= tiny * np.maximum(scale, 1e-300)
        beta[:, j] = np.where(broken, 0.0, scalars[1])
        if j == m_max - 1 or (callback is not None and callback(alpha[:, :j + 1], beta[:, :j + 1])):
            return alpha[:, :j + 1], beta[:, :j + 1], basis[:, :j + 1]
        if broken.any():
            mask = torch.as_tensor(broken, device=op.device)
            fresh = _orthogonalize(random_vectors(int(broken.sum()), n, op, generator), basis[mask, :j + 1])
            W[mask] = fresh
            norms = W.norm(dim=1)
        if j + 1 == basis.shape[1]:
            grown = torch.empty(r, min(m_max, 2 * basis.shape[1]), n, device=op.device, dtype=op.dtype)
            grown[:, :j + 1] = basis
            basis = grown
        basis[:, j + 1] = W / norms[:, None]
    return alpha, beta, basis


def ritz(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending) and eigenvectors of one tridiagonal matrix (alpha (m,), beta (m,))."""
    if len(alpha) == 1:
        return alpha.copy(), np.ones((1, 1))
    return eigh_tridiagonal(alpha, beta[:-1])


def _pick(theta: np.ndarray, k: int, which: str) -> np.ndarray:
    """Indices of the wanted Ritz values (theta ascending), from the extreme inward."""
    k = min(k, len(theta))
    return np.arange(len(theta) - 1, len(theta) - 1 - k, -1) if which == "largest" else np.arange(k)


def lanczos_eigenpairs(op, k: int = 1, *, which: str = "largest", tol: float = 1e-6, criterion: str = "residual",
                       max_steps: int | None = None, generator: torch.Generator | None = None, seed: int = 0,
                       start: torch.Tensor | None = None) -> Eigenpairs:
    """The k largest (``which="largest"``) or smallest (most negative, ``"smallest"``) eigenpairs.

    Stops when every wanted Ritz pair meets ``criterion``, or after ``max_steps`` operator calls
    (default min(n, max(100, 20k))); ``converged`` says which. ``"residual"``: ‖Hy − θy‖ ≤ tol·‖H‖
    (‖H‖ ≈ largest |Ritz value|), a rigorous bound on the eigenvalue error. ``"eigenvalue"``: the
    estimated eigenvalue error min(r, r²/gap) ≤ tol·|θ|, the gap measured to the nearest other Ritz
    value (Parlett, The Symmetric Eigenvalue Problem, §11.7); cheaper, but the gap estimate is
    optimistic while a close eigenvalue has not emerged yet. Ordered from the extreme inward.
    """
    if which not in ("largest", "smallest"):
        raise ValueError(f"which must be 'largest' or 'smallest', got {which!r}")
    if criterion not in ("residual", "eigenvalue"):
        raise ValueError(f"criterion must be 'residual' or 'eigenvalue', got {criterion!r}")
    if not 1 <= k <= op.size:
        raise ValueError(f"k must be between 1 and the operator size {op.size}, got {k}")
    max_steps = min(op.size, max_steps or max(100, 20 * k))
    generator = make_generator(generator, seed)
    v0 = random_vectors(1, op.size, op, generator) if start is None else start.reshape(1, -1)

    def residuals(alpha, beta):
        theta, S = ritz(alpha, beta)
        idx = _pick(theta, k, which)
        return theta, S, idx, np.abs(beta[-1] * S[-1, idx])

    def satisfied(theta, idx, res) -> bool:
        if criterion == "residual":
            return bool((res <= tol * np.abs(theta).max()).all())
        if len(theta) <= k:  # no other Ritz value to measure a gap to yet
            return False
        gaps = np.array([np.delete(np.abs(theta - theta[i]), i).min() for i in idx])
        return bool((np.minimum(res, res ** 2 / np.maximum(gaps, 1e-300)) <= tol * np.abs(theta[idx])).all())

    def done(alpha, beta):
        if alpha.shape[1] < k:
            return False
        theta, _, idx, res = residuals(alpha[0], beta[0])
        return satisfied(theta, idx, res)

    calls = op.num_matvecs if hasattr(op, "num_matvecs") else None
    alpha, beta, basis = lanczos(op, v0, max_steps, generator=generator, callback=done)
    theta, S, idx, res = residuals(alpha[0], beta[0])
    vectors = torch.as_tensor(S[:, idx].T.copy()).to(op.device, op.dtype) @ basis[0]
    used = op.num_matvecs - calls if calls is not None else alpha.shape[1]
    converged = satisfied(theta, idx, res) and len(idx) == k
    return Eigenpairs(torch.as_tensor(theta[idx].copy()).to(op.dtype), vectors,
                      torch.as_tensor(res).to(op.dtype), used, converged)


def power_iteration(op, k: int = 1, *, tol: float = 1e-6, max_iters: int = 1000,
                    generator: torch.Generator | None = None, seed: int = 0) -> Eigenpairs:
    """The k eigenpairs of largest MAGNITUDE by power iteration, deflating the ones already found.

    Each eigenpair iterates until the Rayleigh quotient changes by less than ``tol`` relative, or
    ``max_iters`` operator calls. For comparison with Lanczos, which needs far fewer calls.
    """
    generator = make_generator(generator, seed)
    found: list[torch.Tensor] = []
    values, residuals, used, converged = [], [], 0, True
    for _ in range(k):
        v = random_vectors(1, op.size, op, generator)[0]
        value, ok = None, False
        for _ in range(max_iters):
            for u in found:
                v = v - (u @ v) * u
            v = v / v.norm()
            w = op.matmat(v)
            used += 1
            new = float(w @ v)
            ok = value is not None and abs(new - value) <= tol * max(abs(value), 1e-300)
            value, v_prev, v = new, v, w
            if ok:
                break
        converged &= ok
        found.append(v_prev)
        residuals.append(float((w - value * v_prev).norm()))
        values.append(value)
    return Eigenpairs(torch.tensor(values, dtype=op.dtype), torch.stack(found),
                      torch.tensor(residuals, dtype=op.dtype), used, converged)


def gradient_start(op, generator: torch.Generator, mix: float = 0.3) -> torch.Tensor:
    """A Lanczos start vector for the TOP of a Hessian: the loss gradient (free: the operator's first-order graph
    holds it), which lies mostly in the span of the few largest eigenvectors (Gur-Ari, Roberts & Dyer 2018), plus
    ``mix`` of a random unit vector so that no eigenvector is missed (a start orthogonal to one would never find it).
    A zero or non-finite gradient gives a random start. (1, n)."""
    rand = random_vectors(1, op.size, op, generator)
    rand = rand / rand.norm()
    if not hasattr(op, "gradient"):
        return rand
    g = op.gradient().reshape(1, -1)
    norm = g.norm()
    if not torch.isfinite(norm) or norm == 0:
        return rand
    return g / norm + mix * rand


def hessian_eigenpairs(model: nn.Module, loss_fn: LossFn, batches, k: int = 1, *, which: str = "largest",
                       tol: float = 1e-6, criterion: str = "residual", max_steps: int | None = None, seed: int = 0,
                       generator: torch.Generator | None = None, bn_mode: str = "eval",
                       dtype: torch.dtype | None = None, start: str = "random") -> Eigenpairs:
    """Top-k (``which="largest"``) or bottom-k (``"smallest"``) Hessian eigenpairs by Lanczos.

    ``start``: ``"random"``, or ``"gradient"`` (for the largest: Krylov from the loss gradient mixed with a random
    vector, ``gradient_start``), which reaches the top eigenvalues in fewer Hessian-vector products but leaves the
    other directions weak, so a residual stop can settle on a set that misses a close k-th eigenvalue: use it with
    a stop that knows the accuracy it needs (``bench hessian`` checks it against a reference).

    >>> top = hessian_eigenpairs(model, nn.functional.cross_entropy, [(x, y)], k=5)
    >>> top.eigenvalues, top.converged
    """
    if start not in ("gradient", "random"):
        raise ValueError(f"start must be 'gradient' or 'random', got {start!r}")
    op = hessian_operator(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    generator = make_generator(generator, seed)
    v0 = gradient_start(op, generator) if start == "gradient" and which == "largest" else None
    return lanczos_eigenpairs(op, k, which=which, tol=tol, criterion=criterion, max_steps=max_steps,
                              generator=generator, start=v0)
