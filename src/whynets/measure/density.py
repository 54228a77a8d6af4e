"""Spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ).

For a unit start vector v, m Lanczos steps give a tridiagonal T_m = U diag(θ) Uᵀ whose Ritz values
θ_j (nodes) and squared first components w_j = U_0j² (weights, summing to 1) form the m-point Gauss
quadrature of the spectral measure Σ_i (vᵀu_i)² δ(λ − λ_i); it integrates polynomials of degree up to
2m − 1 exactly. With v a normalized Rademacher vector, E[(vᵀu_i)²] = 1/n, so the average over runs
estimates the density φ(λ) = (1/n) Σ_i δ(λ − λ_i) (Ghorbani, Krishnan & Xiao 2019; Papyan 2019;
Lin, Saad & Yang 2016). The smooth density convolves each node with a Gaussian of width ``sigma``,
which adds σ² to the second moment. The runs go side by side (one operator call per step for all).

Run the oracle tests with ``pytest tests/test_measure_hessian.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .hvp import LossFn, hessian_operator
from .lanczos import lanczos, make_generator, random_vectors, ritz

__all__ = ["SpectralDensity", "slq_density", "hessian_spectral_density"]


@dataclass(frozen=True)
class SpectralDensity:
    """Grid (g,), smoothed density on it (g,), the raw quadrature nodes and weights (runs, m), σ."""

    grid: torch.Tensor
    density: torch.Tensor
    nodes: torch.Tensor
    weights: torch.Tensor
    sigma: float
    num_matvecs: int

    def moment(self, power: int) -> float:
        """The quadrature estimate of tr(Hᵖ)/n: mean over runs of Σ_j w_j θ_jᵖ (no broadening)."""
        return float((self.weights * self.nodes ** power).sum(1).mean())


def gaussian_broadening(nodes: torch.Tensor, weights: torch.Tensor, grid: torch.Tensor, sigma: float) -> torch.Tensor:
    """Σ_j w_j N(grid; θ_j, σ²), averaged over runs: a density that integrates to (almost) one on the grid."""
    z = (grid[None, None, :] - nodes[..., None]) / sigma
    kernel = torch.exp(-0.5 * z ** 2) / (sigma * (2 * torch.pi) ** 0.5)
    return (weights[..., None] * kernel).sum(1).mean(0)


def slq_density(op, num_steps: int = 80, num_runs: int = 5, *, sigma: float | None = None,
                grid: torch.Tensor | None = None, num_grid: int = 1000,
                generator: torch.Generator | None = None, seed: int = 0) -> SpectralDensity:
    """SLQ spectral density with ``num_runs`` Rademacher starts of ``num_steps`` Lanczos steps each.

    ``sigma`` (default: 1/200 of the node range) is the Gaussian broadening; ``grid`` defaults to
    ``num_grid`` points spanning the nodes ± 5σ (so the density's mass lies on the grid).
    Costs num_runs × num_steps operator calls and memory for num_runs × num_steps vectors.
    """
    if num_steps < 1 or num_runs < 1:
        raise ValueError(f"num_steps and num_runs must be >= 1, got {num_steps} and {num_runs}")
    gen = make_generator(generator, seed)
    start = random_vectors(num_runs, op.size, op, gen, "rademacher")
    alpha, beta, _ = lanczos(op, start, num_steps, generator=gen)
    nodes, weights = [], []
    for r in range(num_runs):
        theta, S = ritz(alpha[r], beta[r])
        nodes.append(torch.as_tensor(theta))
        weights.append(torch.as_tensor(S[0] ** 2))
    nodes, weights = torch.stack(nodes), torch.stack(weights)
    spread = float(nodes.max() - nodes.min())
    if sigma is None:
        sigma = spread / 200 if spread > 0 else max(abs(float(nodes.max())), 1.0) * 1e-3
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if grid is None:
        grid = torch.linspace(float(nodes.min()) - 5 * sigma, float(nodes.max()) + 5 * sigma, num_grid,
                              dtype=torch.float64)
    grid = grid.to(torch.float64).cpu()
    density = gaussian_broadening(nodes, weights, grid, sigma)
    return SpectralDensity(grid, density, nodes, weights, float(sigma), num_runs * alpha.shape[1])


def hessian_spectral_density(model: nn.Module, loss_fn: LossFn, batches, num_steps: int = 80, num_runs: int = 5, *,
                             sigma: float | None = None, grid: torch.Tensor | None = None, num_grid: int = 1000,
                             seed: int = 0, generator: torch.Generator | None = None, bn_mode: str = "eval",
                             dtype: torch.dtype | None = None) -> SpectralDensity:
    """SLQ density of the loss Hessian (see ``slq_density``).

    >>> d = hessian_spectral_density(model, nn.functional.cross_entropy, [(x, y)])
    >>> plt.semilogy(d.grid, d.density)
    """
    op = hessian_operator(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype)
    return slq_density(op, num_steps, num_runs, sigma=sigma, grid=grid, num_grid=num_grid,
                       generator=generator, seed=seed)
