"""Norm-based capacity measures of a fully connected network (Neyshabur et al. 2015, 2017;
Bartlett et al. 2017): path norms, products of spectral and Frobenius norms, parameter count.

Input: an ``nn.Module`` whose parameterized leaf modules are all ``nn.Linear`` (activations,
``Flatten``, ``Dropout`` and containers have no parameters and are skipped), applied in
registration order as in ``nn.Sequential``; or a list of weight matrices W_l (out × in), or of
``(W_l, b_l)`` pairs, first layer first.

* ℓ_p path norm: (Σ_paths Π_edges |w|^p)^{1/p}, the sum over every input→output path. With biases a
  bias is an edge from a constant-1 unit, so paths may also start at any layer's bias. Computed by
  one forward pass of the network with weights |W|^p and biases |b|^p on an all-ones input,
  summing the outputs (exact, no enumeration). For ReLU nets it is invariant to the rescalings
  that leave the function unchanged (unit i's input weights × c, output weights × 1/c).
* ``spectral_norms`` / ``spectral_norm_product``: Π_l ‖W_l‖₂ bounds the network's Lipschitz
  constant for 1-Lipschitz activations (ReLU, tanh).
* ``frobenius_norms`` / ``frobenius_norm_product``, ``parameter_count``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

__all__ = [
    "linear_layers",
    "path_norm",
    "spectral_norms",
    "spectral_norm_product",
    "frobenius_norms",
    "frobenius_norm_product",
    "parameter_count",
]

Layers = list[tuple[torch.Tensor, torch.Tensor | None]]


def linear_layers(model: nn.Module | Sequence) -> Layers:
    """The network as ``[(W_1, b_1 or None), …]`` (detached, float64), checked to chain in shape."""
    layers: Layers = []
    if isinstance(model, nn.Module):
        for name, mod in model.named_modules():
            own = list(mod.parameters(recurse=False))
            if isinstance(mod, nn.Linear):
                layers.append((mod.weight, mod.bias))
            elif own:
                raise ValueError(
                    f"module {name or type(model).__name__!r} ({type(mod).__name__}) has parameters but is "
                    "not nn.Linear; norms.py handles MLPs of Linear layers and parameter-free activations")
    else:
        for i, item in enumerate(model):
            w, b = item if isinstance(item, (tuple, list)) else (item, None)
            w = torch.as_tensor(w)
            if w.ndim != 2:
                raise ValueError(f"layer {i}: weight must be a matrix (out, in), got shape {tuple(w.shape)}")
            layers.append((w, None if b is None else torch.as_tensor(b)))
    if not layers:
        raise ValueError("no Linear layers / weight matrices found")
    out: Layers = []
    for i, (w, b) in enumerate(layers):
        w64 = w.detach().to(torch.float64)
        b64 = None if b is None else b.detach().to(torch.float64)
        if b64 is not None and b64.shape != (w64.shape[0],):
            raise ValueError(f"layer {i}: bias shape {tuple(b64.shape)} does not match weight {tuple(w64.shape)}")
        if out and out[-1][0].shape[0] != w64.shape[1]:
            raise ValueError(f"layer {i} expects {w64.shape[1]} inputs but layer {i - 1} has "
                             f"{out[-1][0].shape[0]} outputs; layers must chain")
        out.append((w64, b64))
    return out


def path_norm(model: nn.Module | Sequence, p: float = 2.0, *, include_bias: bool = True) -> float:
    """ℓ_p path norm (Σ_paths Π |w|^p)^{1/p}, bias paths included unless ``include_bias=False``."""
    if not p > 0:
        raise ValueError(f"p must be > 0, got {p}")
    layers = linear_layers(model)
    v = torch.ones(layers[0][0].shape[1], dtype=torch.float64, device=layers[0][0].device)
    for w, b in layers:
        v = w.abs().pow(p) @ v
        if include_bias and b is not None:
            v = v + b.abs().pow(p)
    return float(v.sum()) ** (1.0 / p)


def spectral_norms(model: nn.Module | Sequence) -> list[float]:
    """Largest singular value ‖W_l‖₂ of each weight matrix."""
    return [float(torch.linalg.matrix_norm(w, ord=2)) for w, _ in linear_layers(model)]


def spectral_norm_product(model: nn.Module | Sequence) -> float:
    """Π_l ‖W_l‖₂, an upper bound on the Lipschitz constant for 1-Lipschitz activations."""
    return math.prod(spectral_norms(model))


def frobenius_norms(model: nn.Module | Sequence) -> list[float]:
    """‖W_l‖_F of each weight matrix (biases excluded)."""
    return [float(torch.linalg.matrix_norm(w)) for w, _ in linear_layers(model)]


def frobenius_norm_product(model: nn.Module | Sequence) -> float:
    """Π_l ‖W_l‖_F."""
    return math.prod(frobenius_norms(model))


def parameter_count(model: nn.Module | Sequence, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters: all of a module's (or only those with requires_grad), or the
    weights and biases of a layer list."""
    if isinstance(model, nn.Module):
        return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    return sum(w.numel() + (0 if b is None else b.numel()) for w, b in linear_layers(model))
