"""Readings of a Hessian's spectrum: the exact spectrum of a small model, and the eigengap outlier count.

* ``exact_hessian_eigenvalues`` — every eigenvalue (descending) of the exact Hessian of a ``ModelLoss``, one
  Hessian-vector product per coordinate (blocks of ``block``), symmetrized, float64 ``eigvalsh``. For models of
  up to a few thousand parameters (the Hessian is formed densely).
* ``eigengap_outliers`` — Sagun et al. / Papyan's "outliers above the bulk" counted by the largest relative gap:
  k* = argmax over 1 ≤ k ≤ 2C of λ_k / λ_(k+1) among the top 2C + 1 eigenvalues.

Oracle tests: ``tests/test_measure_hessian.py`` (the exact spectrum against ``torch.autograd.functional.hessian``).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from .hvp import HessianOperator, ModelLoss

__all__ = ["exact_hessian_eigenvalues", "eigengap_outliers"]


def exact_hessian_eigenvalues(model_loss: ModelLoss, block: int = 256) -> torch.Tensor:
    """All eigenvalues (descending) of the exact Hessian, one HVP per coordinate, in the ModelLoss's dtype."""
    op = HessianOperator(model_loss)
    eye = torch.eye(model_loss.size, dtype=model_loss.dtype, device=model_loss.device)
    hess = torch.cat([op.matmat(eye[i:i + block]) for i in range(0, model_loss.size, block)])
    return torch.linalg.eigvalsh((hess + hess.T) / 2).flip(0)


def eigengap_outliers(eigenvalues: Sequence[float], n_classes: int) -> int:
    """k* = argmax over 1 ≤ k ≤ 2C of λ_k/λ_(k+1) (eigenvalues descending, the top ones positive)."""
    top = list(eigenvalues)[: 2 * n_classes + 1]
    ratios = [a / b if b > 0 else math.inf for a, b in zip(top[:-1], top[1:])]
    return 1 + max(range(len(ratios)), key=ratios.__getitem__)
