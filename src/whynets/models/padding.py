"""Padding: MLPs of different widths trained as ONE population.

A width-w ReLU MLP embedded in a width-W MLP (W ≥ w) — its weights in the top-left blocks, every
extra unit's incoming weights, bias and outgoing weights zero — computes the same function. Training
keeps the embedding: an extra unit's pre-activation is 0, so its output is act(0) = 0 and the
gradient of its outgoing weights (δ · act(0)) is exactly zero; the gradient reaching its incoming
weights and bias passes through its outgoing weights, which are zero, so it is exactly zero too.
SGD (with momentum) and Adam map a zero gradient history to a zero update, so without weight decay
the padding stays exactly zero and the padded model follows the same trajectory as the narrow one
alone (to float rounding: a wider matmul may sum in a different order). This needs act(0) = 0
(ReLU, tanh, GELU, erf, linear; not sigmoid or softplus) and the standard parametrization (the NTK
parametrization scales by 1/√fan_in, which padding changes).

Cost: every member of a population costs as much as its widest member, so a sweep over widths is
best split into a few buckets (``engine.width_buckets``), each padded to its own maximum; padded populations
are built by ``engine.padded_population``.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn as nn

from .layers import ScaledLinear

__all__ = ["pad_mlp", "unpad_mlp", "padding_residual", "hidden_widths"]

_LINEAR = (nn.Linear, ScaledLinear)


def _sequential(module: nn.Module) -> nn.Sequential:
    seq = module if isinstance(module, nn.Sequential) else getattr(module, "net", None)
    if not isinstance(seq, nn.Sequential):
        raise TypeError(f"padding works on whynets MLPs or nn.Sequential stacks, got {type(module).__name__}")
    for i, m in enumerate(seq):
        if isinstance(m, ScaledLinear) and m.parametrization != "standard":
            raise ValueError(f"layer {i}: the {m.parametrization} parametrization scales by 1/sqrt(fan_in), "
                             "which padding changes; pad only standard-parametrized MLPs")
        if isinstance(m, _LINEAR) or isinstance(m, nn.Dropout):
            continue
        if any(True for _ in m.parameters()):
            raise TypeError(f"layer {i} ({type(m).__name__}) has parameters; only Linear layers can be padded")
        with torch.no_grad():
            at_zero = m(torch.zeros(1))
        if at_zero.abs().item() != 0.0:
            raise ValueError(f"layer {i}: activation {type(m).__name__} has act(0) = {at_zero.item():g} != 0, so "
                             "padded units would not stay silent; use relu, tanh, gelu, erf or linear")
    if not any(isinstance(m, _LINEAR) for m in seq):
        raise ValueError("no Linear layers to pad")
    return seq


def _linear_indices(seq: nn.Sequential) -> list[int]:
    return [i for i, m in enumerate(seq) if isinstance(m, _LINEAR)]


def hidden_widths(module: nn.Module) -> list[int]:
    """Output sizes of every Linear layer but the last (the hidden widths)."""
    seq = _sequential(module)
    return [seq[i].weight.shape[0] for i in _linear_indices(seq)[:-1]]


def _resized(layer: nn.Module, fan_in: int, fan_out: int) -> nn.Module:
    bias = layer.bias is not None
    dev, dtype = layer.weight.device, layer.weight.dtype
    if isinstance(layer, ScaledLinear):
        new = ScaledLinear(fan_in, fan_out, layer.sigma_w2, layer.sigma_b2, "standard", bias).to(dev, dtype)
    else:
        new = nn.Linear(fan_in, fan_out, bias=bias, device=dev, dtype=dtype)
    return new


def pad_mlp(module: nn.Module, width: int) -> nn.Module:
    """A copy of ``module`` with every hidden layer widened to ``width`` by zero units (same function)."""
    seq = _sequential(module)
    idx = _linear_indices(seq)
    widest = max(hidden_widths(module), default=0)
    if width < widest:
        raise ValueError(f"cannot pad an MLP with a hidden layer of {widest} units to width {width}")
    out = copy.deepcopy(module)
    new_seq = _sequential(out)
    for j, i in enumerate(idx):
        old = seq[i]
        o, n_in = old.weight.shape
        fan_in = n_in if j == 0 else width
        fan_out = o if j == len(idx) - 1 else width
        new = _resized(old, fan_in, fan_out)
        with torch.no_grad():
            new.weight.zero_()
            new.weight[:o, :n_in] = old.weight
            if old.bias is not None:
                new.bias.zero_()
                new.bias[:o] = old.bias
        new_seq[i] = new
    return out


def unpad_mlp(module: nn.Module, width: int | Sequence[int]) -> nn.Module:
    """The narrow MLP inside a padded one: hidden layer l keeps its first ``width`` (or ``width[l]``) units."""
    seq = _sequential(module)
    idx = _linear_indices(seq)
    widths = [width] * (len(idx) - 1) if isinstance(width, int) else list(width)
    if len(widths) != len(idx) - 1:
        raise ValueError(f"the MLP has {len(idx) - 1} hidden layers but {len(widths)} widths were given")
    out = copy.deepcopy(module)
    new_seq = _sequential(out)
    for j, i in enumerate(idx):
        old = seq[i]
        o, n_in = old.weight.shape
        keep_in = n_in if j == 0 else widths[j - 1]
        keep_out = o if j == len(idx) - 1 else widths[j]
        if keep_in > n_in or keep_out > o:
            raise ValueError(f"layer {j} is {n_in}->{o}; cannot keep {keep_in}->{keep_out}")
        new = _resized(old, keep_in, keep_out)
        with torch.no_grad():
            new.weight.copy_(old.weight[:keep_out, :keep_in])
            if old.bias is not None:
                new.bias.copy_(old.bias[:keep_out])
        new_seq[i] = new
    return out


def padding_residual(module: nn.Module, width: int | Sequence[int]) -> float:
    """max |entry| of ``module``'s parameters outside the width-``width`` MLP it embeds (0.0 = intact)."""
    seq = _sequential(module)
    idx = _linear_indices(seq)
    widths = [width] * (len(idx) - 1) if isinstance(width, int) else list(width)
    worst = 0.0
    for j, i in enumerate(idx):
        layer = seq[i]
        keep_in = layer.weight.shape[1] if j == 0 else widths[j - 1]
        keep_out = layer.weight.shape[0] if j == len(idx) - 1 else widths[j]
        mask = torch.ones_like(layer.weight, dtype=torch.bool)
        mask[:keep_out, :keep_in] = False
        if mask.any():
            worst = max(worst, float(layer.weight.detach()[mask].abs().max()))
        if layer.bias is not None and keep_out < layer.bias.shape[0]:
            worst = max(worst, float(layer.bias.detach()[keep_out:].abs().max()))
    return worst
