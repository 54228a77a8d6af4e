"""The network an analytic kernel describes: depth, activation, σ_w², σ_b² per layer, parametrization, widths.

``depth`` hidden layers (fully connected: ``depth`` Dense + activation, then a Dense readout; 1-D convolutional:
``depth`` Conv1d(kernel_size, stride 1, zero 'same' padding) + activation, then global average pooling (or flatten)
and a Dense readout). Layer l = 0 … depth has weight variance σ_w²[l] / fan_in and bias variance σ_b²[l]; one number
applies to every layer. ``finite_network`` builds that very network at a finite width (``whynets.kernels.networks``),
so every analytic kernel has a Monte-Carlo oracle.

Parametrizations (Jacot et al. 2018; Sohl-Dickstein et al. 2020): the NNGP is the same for both. The NTK differs:

* ``ntk``: W = σ_w/√fan_in · ω, b = σ_b · β with ω, β ~ N(0, 1) trained: a layer adds σ_w² · (its input kernel) + σ_b²
  — finite as width → ∞;
* ``standard``: W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²) trained directly: a layer adds fan_in · (its input kernel) + 1,
  which grows with the width, so this NTK needs the hidden ``widths`` of the network it describes (its value is the
  leading order in 1/width; gradient descent on such a net needs a learning rate ∝ 1/width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .activations import DEFAULT_DEGREE, Activation, KernelSpecError, get_activation

__all__ = ["Architecture", "architecture"]

ARCHITECTURES = ("fc", "conv1d")
POOLINGS = ("gap", "flatten")


@dataclass(frozen=True)
class Architecture:
    kind: str
    depth: int
    activation: Activation
    sigma_w2: tuple[float, ...]  # depth + 1 entries: hidden layers 0 … depth−1, readout depth
    sigma_b2: tuple[float, ...]
    parametrization: str = "ntk"
    widths: tuple[int, ...] | None = None  # hidden widths / channels (standard NTK, finite networks)
    kernel_size: int = 3
    pooling: str = "gap"

    def weight_gain(self, layer: int, fan_in: int) -> tuple[float, float]:
        """(a, c): the NTK term a layer's own parameters add, a · (input kernel) + c."""
        if self.parametrization == "ntk":
            return self.sigma_w2[layer], self.sigma_b2[layer]
        return float(fan_in), 1.0

    def fan_in(self, layer: int, input_features: int) -> int:
        """Input units (channels for conv) of layer ``layer``; hidden widths are needed for the standard NTK."""
        if layer == 0:
            return input_features
        if self.widths is None:
            raise KernelSpecError("the standard-parametrization NTK grows with the width: pass widths=(n_1, …, n_L) "
                                  "(the hidden widths of the network it describes), or use parametrization='ntk'")
        return self.widths[layer - 1]


def _per_layer(value: float | Sequence[float], depth: int, name: str, positive: bool) -> tuple[float, ...]:
    values = [float(value)] * (depth + 1) if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != depth + 1:
        raise KernelSpecError(f"{name}: give one number or depth + 1 = {depth + 1} numbers (hidden layers then the "
                              f"readout), got {len(values)}")
    for v in values:
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            raise KernelSpecError(f"{name}: variances must be finite and {'> 0' if positive else '>= 0'}, got {v}")
    return tuple(values)


def architecture(depth: int = 2, activation: str | Activation = "relu", sigma_w2: float | Sequence[float] = 2.0,
                 sigma_b2: float | Sequence[float] = 0.0, parametrization: str = "ntk",
                 widths: int | Sequence[int] | None = None, kind: str = "fc", kernel_size: int = 3,
                 pooling: str = "gap", degree: int = DEFAULT_DEGREE) -> Architecture:
    """Validate and resolve the arguments every kernel function shares (see the module docstring)."""
    if not isinstance(depth, int) or depth < 1:
        raise KernelSpecError(f"depth must be a whole number >= 1 (hidden layers), got {depth!r}")
    if kind not in ARCHITECTURES:
        raise KernelSpecError(f"architecture {kind!r} is unknown; choose one of {', '.join(ARCHITECTURES)}")
    if parametrization not in ("ntk", "standard"):
        raise KernelSpecError(f"parametrization {parametrization!r} is unknown; choose ntk or standard")
    if kind == "conv1d" and (kernel_size < 1 or kernel_size % 2 == 0):
        raise KernelSpecError(f"kernel_size must be odd and >= 1 ('same' zero padding), got {kernel_size}")
    if pooling not in POOLINGS:
        raise KernelSpecError(f"pooling {pooling!r} is unknown; choose one of {', '.join(POOLINGS)}")
    if widths is not None:
        widths = (int(widths),) * depth if isinstance(widths, int) else tuple(int(w) for w in widths)
        if len(widths) != depth or min(widths) < 1:
            raise KernelSpecError(f"widths: give one width or depth = {depth} widths >= 1, got {widths}")
    return Architecture(kind=kind, depth=depth, activation=get_activation(activation, degree),
                        sigma_w2=_per_layer(sigma_w2, depth, "sigma_w2", positive=True),
                        sigma_b2=_per_layer(sigma_b2, depth, "sigma_b2", positive=False),
                        parametrization=parametrization, widths=widths, kernel_size=int(kernel_size), pooling=pooling)
