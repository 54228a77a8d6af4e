"""Effective dimensionality of a Hessian (Maddox, Benton & Wilson 2020, eq. 2).

    N_eff(H, z) = Σ_i λ_i / (λ_i + z)

the number of parameter directions the data determine well: an eigenvalue much larger than z counts
one, one much smaller counts ≈ λ/z. Compute it from the top eigenvalues (``hessian_eigenpairs``);
the many small ones add little when z is above them. Negative eigenvalues (a Hessian away from a
minimum) are counted as zero, as in the paper's use of a PSD posterior precision: for λ near −z the
term would diverge and carry no meaning.
"""

from __future__ import annotations

import torch

__all__ = ["effective_dimensionality"]


def effective_dimensionality(eigenvalues, z: float = 1.0) -> float:
    """Σ max(λ, 0) / (max(λ, 0) + z) over the given eigenvalues; ``z`` > 0 (the prior precision scale).

    >>> effective_dimensionality(torch.tensor([100.0, 1.0, 0.0]), z=1.0)
    1.4900990099009901
    """
    if z <= 0:
        raise ValueError(f"z must be > 0, got {z}")
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1).clamp_min(0)
    if not torch.isfinite(lam).all():
        raise ValueError("eigenvalues contain NaN or Inf")
    return float((lam / (lam + z)).sum())
