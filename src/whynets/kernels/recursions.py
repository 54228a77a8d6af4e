"""The layer recursions of the infinite-width NNGP (Lee et al. 2018) and NTK (Jacot et al. 2018; Arora et al. 2019),
evaluated on one block of input pairs. ``analytic.py`` plans the blocks and assembles the matrices.

Fully connected (fan_in d, S = x·x'/d):   K¹ = σ_w²[0] S + σ_b²[0],   Θ¹ = a₀ S + c₀,
    K^{l+1} = σ_w²[l] V(K^l) + σ_b²[l],   Θ^{l+1} = a_l V(K^l) + c_l + σ_w²[l] V'(K^l) ⊙ Θ^l,
up to the readout l = depth; (a_l, c_l) = (σ_w²[l], σ_b²[l]) in NTK parametrization, (fan_in, 1) in standard.

1-D convolution (C channels, P positions, odd kernel size k, zero 'same' padding): each pair holds a P × P matrix,
S_pp' = x_p·x'_p'/C, and a layer sums along the diagonal window, [D M]_pp' = Σ_{|a| ≤ k//2} M_{p+a, p'+a} (zero
outside), so K¹ = σ_w²/k · D(S) + σ_b², K^{l+1} = σ_w²/k · D(V(K^l)) + σ_b²,
Θ^{l+1} = a_l D(V(K^l)) + c_l + σ_w²/k · D(V'(K^l) ⊙ Θ^l) with a_l = σ_w²/k (NTK) or C_l (standard). The readout
after global average pooling takes the mean over all (p, p'); after flattening, the mean over p = p' (Arora et al.
2019, CNTK-GAP and CNTK-V). The per-position variances K(x, x)_pp need only the diagonal: D keeps it diagonal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .architecture import Architecture

__all__ = ["fc_diagonals", "fc_block", "conv_diagonals", "conv_block", "window_sum", "window_sum_diag"]


# -- fully connected -------------------------------------------------------------------------------------------
def fc_diagonals(x: torch.Tensor, arch: Architecture) -> list[torch.Tensor]:
    """K^l(x, x) for l = 1 … depth (the pre-activation variance entering each activation): depth × (n,)."""
    d = x.shape[1]
    q = arch.sigma_w2[0] * (x * x).sum(1) / d + arch.sigma_b2[0]
    out = [q]
    for layer in range(1, arch.depth):
        q = arch.sigma_w2[layer] * arch.activation.second_moment(q) + arch.sigma_b2[layer]
        out.append(q)
    return out


def fc_block(x1: torch.Tensor, x2: torch.Tensor, q1: list[torch.Tensor], q2: list[torch.Tensor], arch: Architecture,
             want_ntk: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(NNGP, NTK or None) of the block x1 × x2; q1, q2: ``fc_diagonals`` of the same rows."""
    d = x1.shape[1]
    s = x1 @ x2.T / d
    k = arch.sigma_w2[0] * s + arch.sigma_b2[0]
    theta = None
    if want_ntk:
        a, c = arch.weight_gain(0, d)
        theta = a * s + c
    del s
    for layer in range(1, arch.depth + 1):
        v, dv = arch.activation.duals(q1[layer - 1][:, None], q2[layer - 1][None, :], k, derivative=want_ntk)
        k = arch.sigma_w2[layer] * v + arch.sigma_b2[layer]
        if want_ntk:
            a, c = arch.weight_gain(layer, arch.fan_in(layer, d) if arch.parametrization == "standard" else 0)
            theta = a * v + c + arch.sigma_w2[layer] * dv * theta
        del v, dv
    return k, theta


# -- 1-D convolutions --------------------------------------------------------------------------------------------
def window_sum(m: torch.Tensor, k: int) -> torch.Tensor:
    """[D M]_pp' = Σ_{|a| ≤ k//2} M_{p+a, p'+a} over the last two axes, zero outside."""
    r = k // 2
    if r == 0:
        return m
    p1, p2 = m.shape[-2:]
    padded = F.pad(m, (r, r, r, r))
    out = padded[..., 0:p1, 0:p2].clone()
    for a in range(1, 2 * r + 1):
        out += padded[..., a:a + p1, a:a + p2]
    return out


def window_sum_diag(v: torch.Tensor, k: int) -> torch.Tensor:
    """The same on the diagonal only: (n, P) -> (n, P), Σ_{|a| ≤ k//2} v_{p+a}."""
    r = k // 2
    if r == 0:
        return v
    padded = F.pad(v, (r, r))
    return sum(padded[..., a:a + v.shape[-1]] for a in range(2 * r + 1))


def conv_diagonals(x: torch.Tensor, arch: Architecture) -> list[torch.Tensor]:
    """Per-position variances K^l(x, x)_pp for l = 1 … depth: depth × (n, P)."""
    c_in, k = x.shape[1], arch.kernel_size
    s = (x * x).sum(1) / c_in
    q = arch.sigma_w2[0] / k * window_sum_diag(s, k) + arch.sigma_b2[0]
    out = [q]
    for layer in range(1, arch.depth):
        q = arch.sigma_w2[layer] / k * window_sum_diag(arch.activation.second_moment(q), k) + arch.sigma_b2[layer]
        out.append(q)
    return out


def conv_block(x1: torch.Tensor, x2: torch.Tensor, q1: list[torch.Tensor], q2: list[torch.Tensor], arch: Architecture,
               want_ntk: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(NNGP, NTK or None) of the block; x: (n, C, P), q: ``conv_diagonals``."""
    c_in, k, depth = x1.shape[1], arch.kernel_size, arch.depth
    s = window_sum(torch.einsum("icp,jcq->ijpq", x1, x2) / c_in, k)
    kern = arch.sigma_w2[0] / k * s + arch.sigma_b2[0]
    theta = None
    if want_ntk:
        a, c = arch.weight_gain(0, c_in)
        theta = (a / k if arch.parametrization == "ntk" else a) * s + c
    del s
    for layer in range(1, depth + 1):
        v, dv = arch.activation.duals(q1[layer - 1][:, None, :, None], q2[layer - 1][None, :, None, :], kern,
                                      derivative=want_ntk)
        readout = layer == depth
        a, c = (arch.weight_gain(layer, arch.fan_in(layer, c_in) if arch.parametrization == "standard" else 0)
                if want_ntk else (0.0, 0.0))
        if readout:
            reduce = _gap if arch.pooling == "gap" else _flatten
            kern = arch.sigma_w2[layer] * reduce(v) + arch.sigma_b2[layer]
            if want_ntk and arch.parametrization == "standard" and arch.pooling == "flatten":
                a *= v.shape[-1]  # the flattened readout's fan_in is channels × positions
            if want_ntk:
                theta = a * reduce(v) + c + arch.sigma_w2[layer] * reduce(dv * theta)
        else:
            kern = arch.sigma_w2[layer] / k * window_sum(v, k) + arch.sigma_b2[layer]
            if want_ntk:
                gain = a / k if arch.parametrization == "ntk" else a
                theta = gain * window_sum(v, k) + c + arch.sigma_w2[layer] / k * window_sum(dv * theta, k)
        del v, dv
    return kern, theta


def _gap(m: torch.Tensor) -> torch.Tensor:
    return m.mean((-2, -1))


def _flatten(m: torch.Tensor) -> torch.Tensor:
    return m.diagonal(dim1=-2, dim2=-1).mean(-1)
