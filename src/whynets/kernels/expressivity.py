"""What depth buys a random or constructed network: exact linear pieces of 1-D ReLU nets, Telgarsky's sawtooth,
and the length of a trajectory pushed through a random net (Raghu et al. 2017).

* ``linear_pieces(layers, interval)``: the exact number of maximal intervals on which a ReLU net ℝ → ℝ is affine.
  The net's kinks are found layer by layer (every unit's pre-activation is affine between the kinks found so far,
  so its zeros are solved exactly), the output's slope is computed on every resulting interval, and neighbours
  with equal slopes (to ``rtol`` of the largest slope) are merged. Float64; exact for dyadic nets such as the
  sawtooth (its kinks k/2^L are representable).
* ``sawtooth_layers(depth)``: Telgarsky 2016's construction, the tent map t(x) = 2 relu(x) − 4 relu(x − ½) composed
  ``depth`` times (width 2): 2^depth pieces on [0, 1], while one hidden layer of k ReLUs has at most k + 1.
* ``random_relu_layers``: a random ReLU net ℝ → ℝ (W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²)) in the same format.
* ``trajectory_lengths``: the length of the image of a circle in input space after each layer of a random net
  (Raghu et al. 2017, "On the expressive power of deep neural networks", §3); per layer it grows by about √χ₁
  (mean field: a small displacement's squared length is multiplied by χ₁ per layer), so exponentially with depth
  in the chaotic phase.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from .meanfield import Activation, activation_fn

__all__ = ["linear_pieces", "sawtooth_layers", "random_relu_layers", "trajectory_lengths", "relu_net"]

Layers = Sequence[tuple[torch.Tensor, torch.Tensor]]


def relu_net(layers: Layers, x: torch.Tensor) -> torch.Tensor:
    """Evaluate the ReLU net ``layers`` (ReLU after every layer but the last) on a 1-D tensor of inputs."""
    h = x.double().reshape(-1, 1)
    for i, (w, b) in enumerate(layers):
        h = h @ w.double().T + b.double()
        if i < len(layers) - 1:
            h = h.relu()
    return h[:, 0] if h.shape[1] == 1 else h


def linear_pieces(layers: Layers, interval: tuple[float, float] = (0.0, 1.0), rtol: float = 1e-9) -> int:
    """The number of linear pieces of a ReLU net ℝ → ℝ on ``interval`` (exact kinks, slopes merged to ``rtol``).

    ``layers``: [(W₁, b₁), …, (W_L, b_L)] with W₁ of shape (width, 1) and W_L of shape (1, width); ReLU after
    every layer but the last."""
    lo, hi = float(interval[0]), float(interval[1])
    if not hi > lo:
        raise ValueError(f"interval must have hi > lo, got {interval}")
    if layers[0][0].shape[1] != 1 or layers[-1][0].shape[0] != 1:
        raise ValueError("linear_pieces counts pieces of nets ℝ → ℝ: W₁ must have one column and W_L one row")
    # regions: breakpoints edges[0] < … < edges[R]; on region r the current layer's units are slope[r]·x + icpt[r]
    edges = torch.tensor([lo, hi], dtype=torch.float64)
    slope = torch.ones(1, 1, dtype=torch.float64)
    icpt = torch.zeros(1, 1, dtype=torch.float64)
    for i, (w, b) in enumerate(layers):
        w, b = w.double(), b.double()
        pre_s, pre_c = slope @ w.T, icpt @ w.T + b  # (R, out)
        if i == len(layers) - 1:
            slope, icpt = pre_s, pre_c
            break
        left, right = edges[:-1].unsqueeze(1), edges[1:].unsqueeze(1)
        with torch.no_grad():
            root = torch.where(pre_s != 0, -pre_c / torch.where(pre_s != 0, pre_s, torch.ones_like(pre_s)),
                               torch.full_like(pre_s, math.nan))
        inside = (root > left) & (root < right)
        cuts = torch.unique(torch.cat([edges, root[inside]]))
        # the affine map of every unit on each new region, read from the region that contains its midpoint
        mids = (cuts[:-1] + cuts[1:]) / 2
        owner = torch.searchsorted(edges, mids, right=True).clamp(1, len(edges) - 1) - 1
        s, c = pre_s[owner], pre_c[owner]
        on = (s * mids.unsqueeze(1) + c) > 0
        slope, icpt, edges = s * on, c * on, cuts
    out = slope[:, 0]
    scale = float(out.abs().max()) if len(out) else 0.0
    changes = (out[1:] - out[:-1]).abs() > rtol * max(scale, 1e-300)
    return int(changes.sum()) + 1


def sawtooth_layers(depth: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Telgarsky 2016's sawtooth: the tent map t(x) = 2 relu(x) − 4 relu(x − ½) (= 2x on [0, ½], 2 − 2x on [½, 1])
    composed ``depth`` times, as a ReLU net of width 2 and ``depth`` hidden layers; 2^depth pieces on [0, 1]."""
    if depth < 1:
        raise ValueError(f"the sawtooth needs depth >= 1, got {depth}")
    f64 = dict(dtype=torch.float64)
    first = (torch.tensor([[1.0], [1.0]], **f64), torch.tensor([0.0, -0.5], **f64))
    tent = torch.tensor([[2.0, -4.0]], **f64)
    hidden = (torch.cat([tent, tent]), torch.tensor([0.0, -0.5], **f64))  # the next layer reads t of the last
    return [first] + [hidden] * (depth - 1) + [(tent, torch.zeros(1, **f64))]


def random_relu_layers(widths: Sequence[int], sigma_w2: float = 2.0, sigma_b2: float = 0.1,
                       generator: torch.Generator | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A random ReLU net ℝ → hidden ``widths`` → ℝ: W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²), float64."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    dims = [1, *widths, 1]
    return [(torch.randn(b, a, generator=g, dtype=torch.float64) * math.sqrt(sigma_w2 / a),
             torch.randn(b, generator=g, dtype=torch.float64) * math.sqrt(sigma_b2))
            for a, b in zip(dims[:-1], dims[1:])]


def trajectory_lengths(act: Activation, sigma_w2: float, sigma_b2: float, depth: int, width: int = 256,
                       input_dim: int = 16, points: int = 4000, radius: float | None = None,
                       generator: torch.Generator | None = None) -> list[float]:
    """Lengths of the image of the circle x(t) = r (u cos t + v sin t), t ∈ [0, 2π) (u, v orthonormal in
    ℝ^input_dim, r = √input_dim so each input unit has squared length 1, unless ``radius``) after each of ``depth``
    random layers h_l = W_l φ(h_{l−1}) + b_l (h_0 = x, W_l ~ N(0, σ_w²/fan_in), b_l ~ N(0, σ_b²)); entry 0 is the
    input's length. ``points`` samples of the closed curve; the length is the polygon's, a lower bound that holds
    while the image is resolved."""
    if depth < 1 or width < 1 or points < 8:
        raise ValueError(f"need depth >= 1, width >= 1, points >= 8; got {depth}, {width}, {points}")
    phi, _ = activation_fn(act)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(input_dim, 2, generator=g, dtype=torch.float64))
    t = torch.arange(points, dtype=torch.float64) * (2 * math.pi / points)
    r = math.sqrt(input_dim) if radius is None else radius
    h = r * (torch.cos(t).unsqueeze(1) * basis[:, 0] + torch.sin(t).unsqueeze(1) * basis[:, 1])

    def length(z: torch.Tensor) -> float:
        return float((torch.roll(z, -1, 0) - z).norm(dim=1).sum())

    out = [length(h)]
    fan_in = input_dim
    for layer in range(depth):
        w = torch.randn(width, fan_in, generator=g, dtype=torch.float64) * math.sqrt(sigma_w2 / fan_in)
        b = torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(sigma_b2)
        h = (h if layer == 0 else phi(h)) @ w.T + b
        out.append(length(h))
        fan_in = width
    return out
