"""Finite-width corrections at initialization (Roberts, Yaida & Hanin, "The principles of deep learning theory",
2022): the output of a random net of width n and depth L is Gaussian only at n = ∞; its excess kurtosis grows like
L/n.

Exact for Gaussian weights, zero biases and a piecewise-linear φ (a·u for u > 0, b·u below; ReLU, linear, leaky, |u|),
for any input: conditioned on hidden layer l, the next pre-activations are iid Gaussian with variance
G_l = G_{l−1}·S_l, where S_l = (σ_w²/n) Σ_j φ(ξ_j)², ξ_j iid N(0, 1), does not depend on the layers below; so
E[z⁴]/E[z²]² = 3 Π_l E[S_l²] and

    excess kurtosis = 3[(1 + κ/n)^L − 1] ≈ 3κ L/n,   κ = E[φ⁴]/E[φ²]² − 1   (ξ ~ N(0, 1)),

κ = 2 for linear nets (6L/n), κ = 5 for ReLU (15L/n). ``sample_output_moments`` is its Monte-Carlo oracle: real
random networks (every weight drawn), the second and fourth moments of each net's ``width`` outputs.

    >>> from whynets.kernels.finite_width import excess_kurtosis
    >>> round(excess_kurtosis(depth=4, width=64, activation="relu"), 4)
    1.0532
"""

from __future__ import annotations

import math

import torch

from .activations import Activation, KernelSpecError, get_activation
from .networks import ActivationModule

__all__ = ["excess_kurtosis", "excess_kurtosis_leading", "sample_output_moments", "kurtosis_from_moments"]


def _kappa(activation: str | Activation) -> float:
    act = get_activation(activation)
    if act.kind != "piecewise":
        raise KernelSpecError(f"finite-width kurtosis: exact here for piecewise-linear activations (relu, linear, "
                              f"leaky_relu, abs), not {act.name}")
    return act.fourth_moment_ratio() - 1


def excess_kurtosis(depth: int, width: int, activation: str | Activation = "relu") -> float:
    """3[(1 + κ/n)^L − 1]: the exact output excess kurtosis of a zero-bias Gaussian net, L hidden layers of width n."""
    return 3 * ((1 + _kappa(activation) / width) ** depth - 1)


def excess_kurtosis_leading(depth: int, width: int, activation: str | Activation = "relu") -> float:
    """3κ·L/n: the leading order in L/n (6L/n linear, 15L/n ReLU)."""
    return 3 * _kappa(activation) * depth / width


def sample_output_moments(depth: int, width: int, activation: str | Activation = "relu", nets: int = 1000,
                          generator: torch.Generator | None = None, chunk: int = 256,
                          dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Per net: mean over its ``width`` outputs of z² and z⁴ (float64, (nets,) each), for ``nets`` random nets of
    ``depth`` hidden layers of ``width`` units, weights N(0, σ_w²/fan_in) with σ_w² = 1/E[φ(ξ)²], zero biases, input
    a fixed vector of ``width`` ones. Every weight is drawn from ``generator`` (CPU), ``chunk`` nets at a time."""
    act = get_activation(activation)
    if act.kind != "piecewise":
        raise KernelSpecError(f"sample_output_moments: piecewise-linear activations only, not {act.name}")
    phi = ActivationModule(act)
    a, b = act.slopes
    gain = math.sqrt(1.0 / (((a + b) / 2) ** 2 + ((a - b) / 2) ** 2))  # σ_w: keeps E[z²] = 1 layer to layer
    m2, m4 = [], []
    for start in range(0, nets, chunk):
        k = min(chunk, nets - start)
        h = torch.ones(k, width, 1, dtype=dtype)
        for layer in range(depth + 1):
            w = torch.randn(k, width, width, generator=generator, dtype=dtype) * (gain / math.sqrt(width))
            h = w @ (h if layer == 0 else phi(h))
            if layer == 0:
                h = h / gain  # the input layer sees ones, not activations: unit variance
        z = h.squeeze(-1).double()
        m2.append((z * z).mean(1))
        m4.append((z ** 4).mean(1))
    return torch.cat(m2), torch.cat(m4)


def kurtosis_from_moments(m2: torch.Tensor, m4: torch.Tensor) -> float:
    """mean(m4) / mean(m2)² − 3 (the nets' pooled excess kurtosis)."""
    return float(m4.mean() / m2.mean() ** 2 - 3)
