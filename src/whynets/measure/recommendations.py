"""The rules behind theory's recommendations — pure functions shared by ``diagnose``'s fifth question and the
``recommendations`` experiment:

* ``critical_scales(stack)``: for an MLP-like stack (``measure.propagation.stack_of``), the critical σ_w² of its
  activation at its σ_b² (mean field: χ₁ = 1; Poole et al. 2016, Schoenholz et al. 2017) and the factor each hidden
  layer's initial weights are multiplied by to reach it (the readout is left alone);
* ``onset_bracket(curves)`` / ``onset_verdict``: the first step size at which full-batch gradient descent's loss
  stops falling at every one of the first ``decide_steps`` steps, bracketed by the grid, and whether that bracket
  lies inside the predicted band [2/3, 3/2]·2/λ_max (pass), outside it (fail) or straddles it (inconclusive);
* ``deepest_perturbative(params_of, activation, budget)``: the deepest depth × width at a parameter budget whose
  predicted output excess kurtosis 3[(1 + κ/n)^L − 1] (Roberts, Yaida & Hanin; ``kernels.finite_width``) is <= 1 —
  our declared rule for the shape theory prefers;
* ``propagation_phase(signals)``: ``measure.propagation.layer_signals`` read as ``diagnose`` reads it — χ̄, the
  geometric mean of the per-layer χ over the hidden layers (the first layer and the readout left out), with an
  interval over perturbation probes; the depth scale ξ = 1/|ln χ̄| against the depth L (weighted layers); the phase:
  critical when ξ >= L or the interval holds 1, else ordered (χ̄ < 1) or chaotic (χ̄ > 1);
* ``apply_scales(module, scales)``: the recommendation applied — each named parameter multiplied by its factor;
* ``STEP_FACTORS`` / ``DECIDE_STEPS``: the step sizes of the sweep around 2/λ_max (multiples of it) and the steps the
  onset is decided on.

    >>> onset_verdict(onset_bracket({0.5: [3, 2, 1], 1.0: [3, 2, 1], 1.25: [3, 4, 1]}, decide_steps=2))
    'pass'
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

__all__ = ["critical_scales", "onset_bracket", "onset_verdict", "deepest_perturbative", "monotone", "apply_scales",
           "propagation_phase",
           "BAND", "STEP_FACTORS", "DECIDE_STEPS"]

BAND = (2 / 3, 3 / 2)
STEP_FACTORS = (0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0)  # step sizes swept, as multiples of 2/λ_max
DECIDE_STEPS = 5  # steps the onset is decided on: before progressive sharpening moves λ_max


def critical_scales(stack: Sequence) -> dict:
    """{"activation", "critical_sigma_w2", "sigma_b2", "scales": {"<layer>.weight": factor}, "sigma_w2_hidden"}."""
    from whynets.kernels.meanfield import critical_sigma_w2

    hidden = [layer for layer in stack if layer.activation]
    act = hidden[0].activation
    sigma_b2 = sum(layer.sigma_b2 for layer in hidden) / len(hidden)
    crit = 1.0 if act == "linear" else float(critical_sigma_w2(act, sigma_b2))
    scales = {f"{layer.name}.weight": math.sqrt(crit / layer.sigma_w2) for layer in hidden if layer.sigma_w2 > 0}
    return {"activation": act, "critical_sigma_w2": crit, "sigma_b2": sigma_b2, "scales": scales,
            "sigma_w2_hidden": sum(layer.sigma_w2 for layer in hidden) / len(hidden)}


def propagation_phase(signals: Mapping) -> dict:
    """{"chi_mean", "chi_interval", "chi_per_probe", "depth", "depth_scale", "phase"} of ``layer_signals`` output."""
    from whynets.stats import t_interval

    n = len(signals["layers"])
    hidden = list(range(1, n - 1)) or list(range(n))

    def geometric(chis: Sequence[float]) -> float:
        return math.exp(sum(math.log(max(chis[i], 1e-300)) for i in hidden) / len(hidden))

    per_probe = [geometric(p) for p in signals["chi_per_probe"]]
    iv = t_interval(per_probe)
    chi = geometric(signals["chi"])
    xi = math.inf if chi == 1 else 1 / abs(math.log(chi))
    phase = "critical" if xi >= n or iv.lo <= 1 <= iv.hi else "ordered" if chi < 1 else "chaotic"
    return {"chi_mean": chi, "chi_interval": [iv.lo, iv.hi], "chi_per_probe": per_probe, "depth": n,
            "depth_scale": xi, "phase": phase}


def apply_scales(module, scales: Mapping[str, float]):
    """``module`` with each named parameter multiplied by its factor (in place, no gradient); returns it."""
    import torch

    params = dict(module.named_parameters())
    unknown = sorted(set(scales) - set(params))
    if unknown:
        raise KeyError(f"apply_scales: {type(module).__name__} has no parameter {', '.join(unknown)}")
    with torch.no_grad():
        for name, factor in scales.items():
            params[name].mul_(float(factor))
    return module


def monotone(losses: Sequence[float]) -> bool:
    """Does the loss fall (or stay) at every step? (A relative tolerance of 1e-9 for float ties.)"""
    return all(math.isfinite(b) and b <= a * (1 + 1e-9) for a, b in zip(losses, losses[1:])) and \
        all(math.isfinite(v) for v in losses)


def onset_bracket(curves: Mapping[float, Sequence[float]], decide_steps: int = 5) -> tuple[float | None, float | None]:
    """(largest grid factor below the onset, the onset): the first factor (ascending) whose loss over steps
    0..``decide_steps`` is not monotone; (last factor, None) when none is."""
    previous = None
    for f in sorted(curves):
        if not monotone(list(curves[f])[:decide_steps + 1]):
            return previous, f
        previous = f
    return previous, None


def onset_verdict(bracket: tuple[float | None, float | None], band: tuple[float, float] = BAND) -> str:
    """The true onset lies in (prev, onset]: pass when that bracket lies inside the closed band, fail when it lies
    outside it (touching it at one end point counts as outside: a set of measure zero), inconclusive otherwise."""
    prev, onset = bracket
    prev, tol = prev or 0.0, 1e-9
    if onset is None:  # monotone at every factor tried: the onset lies above the largest
        return "fail" if prev >= band[1] - tol else "inconclusive"
    if prev >= band[0] - tol and onset <= band[1] + tol:
        return "pass"
    if onset <= band[0] + tol or prev >= band[1] - tol:
        return "fail"
    return "inconclusive"


def deepest_perturbative(params_of: Callable[[int, int], int], activation: str, budget: int, max_depth: int = 12,
                         max_width: int = 1 << 16) -> tuple[int, int] | None:
    """The deepest (depth, width) with ``params_of(depth, width)`` >= ``budget`` at the smallest such width, and a
    predicted output excess kurtosis <= 1; None if no depth qualifies."""
    from whynets.kernels.finite_width import excess_kurtosis

    best = None
    for depth in range(1, max_depth + 1):
        hi = 1
        while params_of(depth, hi) < budget and hi < max_width:
            hi *= 2
        lo = 1
        while lo < hi:  # the smallest width reaching the budget
            mid = (lo + hi) // 2
            if params_of(depth, mid) < budget:
                lo = mid + 1
            else:
                hi = mid
        if excess_kurtosis(depth, lo, activation) <= 1.0:
            best = (depth, lo)
    return best
