"""Monte-Carlo oracles for the analytic kernels (a helper of tests/test_kernels_*.py, not a test file).

``mc_kernels`` draws ``seeds`` finite networks of width ``width`` (``whynets.kernels.finite_network``: every weight
drawn) and returns, per seed, two exact readings of that network:

* its NNGP reading: E over the readout's own weights of f(x)f(x') = σ_w² ⟨φ(h(x)), φ(h(x'))⟩ / fan_in + σ_b² (the
  readout input's Gram matrix; for global average pooling, of the pooled features);
* its empirical NTK, layer by layer: Θ = Σ_layers mult_w² (X Xᵀ ⊙ Δ Δᵀ) + mult_b² Δ Δᵀ with X a layer's inputs and
  Δ = ∂f/∂(its outputs) from one backward pass (convolutions: the same over patches and position pairs).

The mean over seeds estimates the infinite-width kernel with standard error std/√seeds and a bias O(1/width).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from whynets.kernels import finite_network
from whynets.kernels.networks import ScaledConv1d
from whynets.models.layers import ScaledLinear


def layerwise_ntk(net: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(NNGP reading, empirical NTK) of a scalar-output ``finite_network`` on x: two (n, n) float64 matrices."""
    layers = [m for m in net.modules() if isinstance(m, (ScaledLinear, ScaledConv1d))]
    inputs, outputs = {}, {}

    def hook(module, args, out):
        inputs[module] = args[0].detach()
        out.retain_grad()
        outputs[module] = out

    handles = [m.register_forward_hook(hook) for m in layers]
    net.requires_grad_(False)  # only ∂f/∂(layer outputs) is needed: no weight gradients
    try:
        f = net(x.detach().requires_grad_(True))
        f.sum().backward()
    finally:
        for h in handles:
            h.remove()
    theta = torch.zeros(x.shape[0], x.shape[0], dtype=torch.float64)
    for m in layers:
        xin, delta = inputs[m].double(), outputs[m].grad.double()
        w2, b2 = m.w_mult ** 2, m.b_mult ** 2
        if isinstance(m, ScaledLinear):
            dd = delta @ delta.T
            theta += w2 * (xin @ xin.T) * dd + b2 * dd
        else:
            k = m.weight.shape[-1]
            patches = F.unfold(xin[..., None], (k, 1), padding=(m.padding, 0))  # (n, C·k, P)
            dd = torch.einsum("icp,jcq->ijpq", delta, delta)
            xx = torch.einsum("icp,jcq->ijpq", patches, patches)
            theta += w2 * (dd * xx).sum((-2, -1)) + b2 * dd.sum((-2, -1))
    last = layers[-1]
    feats = inputs[last].double()
    nngp = last.sigma_w2 * feats @ feats.T / feats.shape[1] + last.sigma_b2
    return nngp, theta


def mc_kernels(arch, x: torch.Tensor, width: int, seeds: int, seed0: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed readings, (seeds, n, n) each: NNGP and NTK."""
    ks, ts = [], []
    for s in range(seeds):
        net = finite_network(arch, tuple(x.shape[1:]), width, out=1, generator=torch.Generator().manual_seed(seed0 + s))
        k, t = layerwise_ntk(net, x.float())
        ks.append(k)
        ts.append(t)
    return torch.stack(ks), torch.stack(ts)


def within_mc_error(estimates: torch.Tensor, exact: torch.Tensor, width: int, z: float = 5.0,
                    bias: float = 4.0) -> tuple[bool, float]:
    """Does every entry of the seed mean lie within z standard errors plus an O(1/width) bias allowance
    (bias·|exact|/width) of ``exact``? Returns (ok, worst |error| / tolerance)."""
    mean = estimates.mean(0)
    se = estimates.std(0) / estimates.shape[0] ** 0.5
    tol = z * se + bias * exact.abs() / width
    ratio = float(((mean - exact).abs() / tol).max())
    return ratio <= 1.0, ratio
