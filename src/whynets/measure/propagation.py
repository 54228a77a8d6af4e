"""Signal propagation through a module at initialization, measured by pushing inputs through it — the quantities
of mean-field theory (Poole et al. 2016; Schoenholz et al. 2017), read off any ``nn.Module``:

* per layer (every Linear / Conv output, in execution order: the pre-activations h_l): the squared length
  q_l = mean over units and inputs of h_l², and the correlation c_l of two inputs' pre-activations;
* χ_l, the growth of a small perturbation from layer l−1 to layer l: mean(δh_l²)/mean(δh_{l−1}²) for δx random,
  by central finite differences in float64 — the mean squared singular value of the layer-to-layer Jacobian
  (per unit), whose large-width limit is mean-field's χ₁ = σ_w² E[φ'(h)²];
* end to end: the input–output Jacobian's mean squared singular value per input dimension, and the correlation of
  two inputs' outputs beside their input correlation — for modules that are not a plain stack of layers.

``stack_of(module, x)`` recognizes an MLP-like stack (Linear/Conv layers with an elementwise activation between
them, nothing else that computes), checked numerically: the layers replayed in execution order must give the
module's own output; only then does mean-field theory describe it, with each layer's σ_w² = fan_in·mean(W²) and
σ_b² = mean(b²) read off the weights.

    >>> sig = layer_signals(model, x)            # q, c, chi per layer; the end-to-end gain
    >>> stack = stack_of(model, x)               # None, or [Layer(kind, sigma_w2, sigma_b2, activation), ...]
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn as nn

__all__ = ["layer_signals", "stack_of", "Layer", "ELEMENTWISE"]

def _weighted() -> tuple[type, ...]:
    from whynets.models.layers import ScaledLinear  # whynets' own linear layer (NTK parametrization)
    return (nn.Linear, nn.Conv1d, nn.Conv2d, ScaledLinear)


WEIGHTED = _weighted()
# elementwise activations mean-field theory covers, by the name ``whynets.kernels.meanfield`` knows them
ELEMENTWISE = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.GELU: "gelu", nn.Sigmoid: "sigmoid", nn.Softplus: "softplus",
               nn.Identity: "linear", nn.Hardtanh: "hard_tanh"}
TRANSPARENT = (nn.Flatten, nn.Dropout, nn.Unflatten)  # no computation at initialization in eval mode


def _erf() -> None:
    from whynets.models.layers import Erf
    ELEMENTWISE[Erf] = "erf"


_erf()


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # linear | conv1d | conv2d
    fan_in: int
    sigma_w2: float  # fan_in · mean(W²)
    sigma_b2: float  # mean(b²), 0 without a bias
    activation: str | None  # the elementwise activation after it (None: the readout)


def _float64(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module).double().eval()


def _capture(net: nn.Module, x: torch.Tensor) -> tuple[list[str], list[torch.Tensor], torch.Tensor]:
    names = {id(m): n for n, m in net.named_modules()}
    order, outs = [], []
    hooks = [m.register_forward_hook(lambda m, i, o: (order.append(names[id(m)]), outs.append(o)) and None)
             for m in net.modules() if isinstance(m, WEIGHTED)]
    try:
        with torch.no_grad():
            y = net(x)
    finally:
        for h in hooks:
            h.remove()
    return order, outs, y


def layer_signals(module: nn.Module, x: torch.Tensor, *, probes: int = 4, seed: int = 0,
                  eps: float = 1e-5) -> dict:
    """q, c and χ per weighted layer, and the end-to-end gain, at the module's current weights (eval mode, float64).

    ``x``: inputs (rows); pairs (x_2i, x_2i+1) give the correlations. ``probes`` random perturbation directions
    per input (unit length per input dimension, scaled by ``eps``·rms(x)). Per layer: mean and the per-probe
    values of χ (the spread is the interval's material)."""
    net = _float64(module)
    x = x.double()
    names, base, out = _capture(net, x)
    if not names:
        raise ValueError(f"{type(module).__name__} has no Linear/Conv layer to follow a signal through")
    g = torch.Generator().manual_seed(seed)
    scale = eps * float(x.pow(2).mean().sqrt()) or eps
    per_probe: list[list[float]] = []  # probes × layers (layer 0: the input's own perturbation)
    end_gain = []
    for _ in range(probes):
        v = torch.randn(x.shape, generator=g, dtype=torch.float64)
        _, plus, y_plus = _capture(net, x + scale * v)
        _, minus, y_minus = _capture(net, x - scale * v)
        d_in = (scale * v).pow(2).mean()
        deltas = [d_in] + [((p - m) / 2).pow(2).mean() for p, m in zip(plus, minus)]
        per_probe.append([float(deltas[i + 1] / deltas[i]) if deltas[i] > 0 else math.nan for i in range(len(plus))])
        d_out = ((y_plus - y_minus) / 2).pow(2).sum() / (scale * v).pow(2).sum()  # ‖Jδ‖² / ‖δ‖² summed over rows
        end_gain.append(float(d_out))
    q = [float(h.pow(2).mean()) for h in base]
    c = []
    for h in base:
        a, b = h[0::2].flatten(1), h[1::2].flatten(1)
        m = min(len(a), len(b))
        if m == 0:
            c.append(math.nan)
            continue
        num = (a[:m] * b[:m]).sum(1)
        den = (a[:m].pow(2).sum(1) * b[:m].pow(2).sum(1)).sqrt().clamp(min=1e-300)
        c.append(float((num / den).mean()))
    a, b = x[0::2].flatten(1), x[1::2].flatten(1)
    m = min(len(a), len(b))
    c_in = float(((a[:m] * b[:m]).sum(1) / (a[:m].pow(2).sum(1) * b[:m].pow(2).sum(1)).sqrt().clamp(min=1e-300)).mean())
    ya, yb = out[0::2].flatten(1), out[1::2].flatten(1)
    c_out = float(((ya[:m] * yb[:m]).sum(1) / (ya[:m].pow(2).sum(1) * yb[:m].pow(2).sum(1)).sqrt().clamp(min=1e-300)).mean())
    chi = [sum(p[i] for p in per_probe) / probes for i in range(len(names))]
    return {"layers": names, "q": q, "c": c, "chi": chi, "chi_per_probe": per_probe, "q_in": float(x.pow(2).mean()),
            "c_in": c_in, "c_out": c_out, "end_to_end_gain": sum(end_gain) / len(end_gain),
            "end_to_end_per_probe": end_gain}


def stack_of(module: nn.Module, x: torch.Tensor) -> tuple[list[Layer] | None, str]:
    """(the layers of an MLP-like stack, "") or (None, why mean-field theory does not describe this module)."""
    leaves = [(n, m) for n, m in module.named_modules() if not list(m.children())]
    order: list[str] = []
    names = {id(m): n for n, m in module.named_modules()}
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(names[id(m)]) and None) for _, m in leaves]
    try:
        with torch.no_grad():
            was = module.training
            y = module.eval()(x[:4])
            module.train(was)
    finally:
        for h in hooks:
            h.remove()
    by_name = dict(leaves)
    seq = [by_name[n] for n in order]
    other = sorted({type(m).__name__ for m in seq if not isinstance(m, WEIGHTED + TRANSPARENT + tuple(ELEMENTWISE))})
    if other:
        return None, (f"it computes with {', '.join(other)}, which mean-field theory of fully-connected/convolutional "
                      "stacks does not describe (normalization, recurrence, attention, embeddings, pooling)")
    unused = [n for n, m in leaves if n not in order and list(m.parameters())]
    if unused:
        return None, f"some layers do not run on the input ({', '.join(unused[:3])})"
    replay = nn.Sequential(*seq)
    with torch.no_grad():
        try:
            same = torch.allclose(replay.eval()(x[:4]), y, rtol=1e-4, atol=1e-5)
        except RuntimeError:
            same = False
    if not same:
        return None, ("its forward is not the plain chain of its layers (a residual sum, a reshape between layers, "
                      "or operations outside modules), which the mean-field recursion of a stack does not describe")
    layers: list[Layer] = []
    for i, m in enumerate(seq):
        if not isinstance(m, WEIGHTED):
            continue
        act = next((ELEMENTWISE[type(n)] for n in seq[i + 1:] if type(n) in ELEMENTWISE), None)
        nxt = next((n for n in seq[i + 1:] if isinstance(n, WEIGHTED)), None)
        if nxt is None:
            act = None  # the readout
        w = m.weight.detach().double() * getattr(m, "w_mult", 1.0)  # the effective weight (NTK parametrization)
        fan_in = w[0].numel()
        b = m.bias.detach().double() * getattr(m, "b_mult", 1.0) if m.bias is not None else None
        kind = "linear" if type(m).__name__ == "ScaledLinear" else type(m).__name__.lower()
        layers.append(Layer(name=names[id(m)], kind=kind, fan_in=fan_in,
                            sigma_w2=float(fan_in * w.pow(2).mean()),
                            sigma_b2=float(b.pow(2).mean()) if b is not None else 0.0, activation=act))
    acts = {l.activation for l in layers if l.activation}
    if len(acts) > 1:
        return None, f"it mixes activations ({', '.join(sorted(acts))}); the mean-field maps here assume one"
    if len(layers) < 2:
        return None, "it has a single weighted layer: no depth for a signal to propagate through"
    return layers, ""
