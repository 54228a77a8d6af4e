"""Pruning masks for lottery tickets (Frankle & Carbin 2019; Frankle, Dziugaite, Roy & Carbin 2020).

Pure functions on dicts ``{name: tensor}``: one model's parameters (``dict(model.named_parameters())``)
or a population's stacked parameters with a leading member axis K (``stacked=True``; each member gets
its own mask, computed from its own weights only). Masks are bool tensors shaped like the parameters.

    >>> names = prunable(params)                                   # weights of Linear/Conv layers
    >>> rates = layer_rates(names, 0.2, output_factor=0.5)         # Frankle & Carbin: output layer at half rate
    >>> masks = None
    >>> for per_layer in iterative_schedule(5, rates):            # 20% of the remaining weights per round
    ...     masks = magnitude_masks(trained, 0.0, rates=per_layer, previous=masks)
    ...     apply_masks(rewound, masks)                            # then train `rewound`, re-masking each step
    >>> control = random_masks(masks, torch.Generator().manual_seed(0))

Counting: the sparsity s of a layer is the fraction REMOVED relative to its full size; exactly
round((1 − s)·n) weights stay (nearest integer, halves up), the largest |w| among those not already
pruned in ``previous`` (so masks are nested across rounds), ties broken by the lower flat index (in
global scope: by layer order, then index). open_lth instead prunes ceil(p·remaining) per round by a
threshold; this exact cumulative count makes round r's sparsity 1 − (1 − p)^r up to one weight.
Run the oracle tests with ``pytest tests/test_measure_pruning.py``.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import torch

__all__ = ["prunable", "layer_rates", "iterative_schedule", "sparsity_for_rounds", "rounds_for_sparsity",
           "magnitude_masks", "random_masks", "apply_masks", "mask_stats"]

Params = Mapping[str, torch.Tensor]
Masks = dict[str, torch.Tensor]


def _shape(v) -> tuple[int, ...]:
    return tuple(v.shape) if hasattr(v, "shape") else tuple(v)


def prunable(names_and_shapes: Mapping[str, object] | Iterable[tuple[str, object]], *, stacked: bool = False,
             exclude: Sequence[str] = ()) -> list[str]:
    """Names of prunable tensors, in order: ndim ≥ 2 per member (Linear/Conv weights; biases and norm
    scales are 1-D). Values are tensors or shapes; ``exclude`` drops exact names."""
    items = list(names_and_shapes.items() if isinstance(names_and_shapes, Mapping) else names_and_shapes)
    known = [name for name, _ in items]
    missing = [e for e in exclude if e not in known]
    if missing:
        raise ValueError(f"exclude names {missing} are not among the tensors ({', '.join(known)})")
    return [name for name, v in items if len(_shape(v)) - (1 if stacked else 0) >= 2 and name not in exclude]


def layer_rates(names: Sequence[str], rate: float, *, output_factor: float = 0.5) -> dict[str, float]:
    """``rate`` for every layer, ``rate·output_factor`` for the last one (the output layer; Frankle & Carbin
    2019 prune it at half the rate of the others)."""
    if not names:
        raise ValueError("no prunable layers given")
    _check_fraction("rate", rate)
    return {n: rate * (output_factor if i == len(names) - 1 else 1.0) for i, n in enumerate(names)}


def _check_fraction(what: str, s: float) -> None:
    if not 0.0 <= float(s) <= 1.0:
        raise ValueError(f"{what} must be a fraction in [0, 1], got {s}")


def sparsity_for_rounds(rounds: int, rate_per_round: float) -> float:
    """Sparsity after ``rounds`` rounds that each prune ``rate_per_round`` of the remaining weights: 1 − (1 − p)^r."""
    _check_fraction("rate_per_round", rate_per_round)
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    return 1.0 - (1.0 - rate_per_round) ** rounds


def rounds_for_sparsity(target: float, rate_per_round: float) -> int:
    """Fewest rounds whose sparsity reaches ``target``: ceil(log(1 − target) / log(1 − p))."""
    _check_fraction("target", target)
    if not 0 < rate_per_round < 1:
        raise ValueError(f"rate_per_round must be in (0, 1), got {rate_per_round}")
    if target >= 1:
        raise ValueError("sparsity 1 (nothing left) is never reached by pruning a fraction of what remains")
    return max(0, math.ceil(math.log1p(-target) / math.log1p(-rate_per_round) - 1e-9))


def iterative_schedule(rounds: int, rate_per_round: float | Mapping[str, float]) -> list:
    """Sparsity after each of rounds 1..``rounds`` (a float each, or a ``{name: sparsity}`` dict each when
    ``rate_per_round`` is a per-layer dict such as ``layer_rates(...)``)."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if isinstance(rate_per_round, Mapping):
        return [{n: sparsity_for_rounds(r, p) for n, p in rate_per_round.items()} for r in range(1, rounds + 1)]
    return [sparsity_for_rounds(r, rate_per_round) for r in range(1, rounds + 1)]


def _keep_count(n: int, sparsity: float) -> int:
    return int(math.floor((1.0 - sparsity) * n + 0.5))


def _rows(t: torch.Tensor, stacked: bool) -> torch.Tensor:
    """(K, n) view: member axis first (K = 1 for an unstacked tensor)."""
    return t.reshape(t.shape[0], -1) if stacked else t.reshape(1, -1)


def _top_mask(scores: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Bool (K, n): in each row the ``keep[k]`` largest scores, ties to the lower index (stable sort)."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    chosen = torch.arange(scores.shape[1], device=scores.device)[None, :] < keep[:, None]
    return torch.zeros_like(scores, dtype=torch.bool).scatter_(1, order, chosen)


def magnitude_masks(params: Params, sparsity: float, *, scope: str = "layerwise", previous: Masks | None = None,
                    rates: Mapping[str, float] | None = None, names: Sequence[str] | None = None,
                    stacked: bool = False) -> Masks:
    """Keep the largest |w| so that exactly round((1 − s)·n) weights of each layer (``layerwise``) or of
    all pooled layers (``global``) remain, s the sparsity. ``rates`` gives some layers their own
    sparsity (pruned layer-wise, outside the global pool; 0 keeps a layer whole); ``names`` defaults to
    ``prunable(params)``; ``previous`` masks are respected (a pruned weight stays pruned)."""
    if scope not in ("layerwise", "global"):
        raise ValueError(f"scope must be 'layerwise' or 'global', got {scope!r}")
    _check_fraction("sparsity", sparsity)
    names = list(prunable(params, stacked=stacked) if names is None else names)
    rates = dict(rates or {})
    for n in [*names, *rates]:
        if n not in params:
            raise ValueError(f"{n!r} is not among the parameters ({', '.join(params)})")
    for n, s in rates.items():
        _check_fraction(f"rates[{n!r}]", s)
        if n not in names:
            names.append(n)
    if not names:
        raise ValueError("no prunable tensors (ndim >= 2 per member); pass names=[...] to choose them")
    scores, alive = {}, {}
    for n in names:
        w = params[n].detach()
        if stacked and w.ndim < 1:
            raise ValueError(f"{n!r}: stacked parameters need a leading member axis, got a scalar")
        bad = ~torch.isfinite(_rows(w, stacked)).all(1)
        if bad.any():
            which = f"member(s) {bad.nonzero().flatten().tolist()} of " if stacked else ""
            raise ValueError(f"{which}{n!r} have NaN/Inf weights; prune finite (non-diverged) members only")
        prev = torch.ones_like(w, dtype=torch.bool) if previous is None else previous.get(n)
        if prev is None or tuple(prev.shape) != tuple(w.shape):
            raise ValueError(f"previous mask for {n!r} is missing or has shape "
                             f"{None if prev is None else tuple(prev.shape)}, expected {tuple(w.shape)}")
        alive[n] = _rows(prev.to(w.device, torch.bool), stacked)
        scores[n] = torch.where(alive[n], _rows(w, stacked).abs().double(), torch.full((), -1.0, dtype=torch.float64,
                                                                                      device=w.device))
    members = {s.shape[0] for s in scores.values()}
    if len(members) != 1:
        raise ValueError(f"stacked parameters disagree on the member count K: {sorted(members)}")
    k = members.pop()
    pool = [n for n in names if n not in rates] if scope == "global" else []
    groups = [[n] for n in names if n not in pool] + ([pool] if pool else [])
    out: Masks = {}
    for group in groups:
        s = rates.get(group[0], sparsity)
        cat_scores = torch.cat([scores[n] for n in group], dim=1)
        keep = _keep_count(cat_scores.shape[1], s)
        have = torch.cat([alive[n] for n in group], dim=1).sum(1)
        if (have < keep).any():
            raise ValueError(f"{', '.join(group)}: sparsity {s} keeps {keep} weights but only {int(have.min())} "
                             "are left unpruned in `previous`; sparsity must not decrease across rounds")
        flat = _top_mask(cat_scores, torch.full((k,), keep, device=cat_scores.device))
        for n, part in zip(group, flat.split([scores[n].shape[1] for n in group], dim=1)):
            out[n] = part.reshape(params[n].shape)
    return {n: out[n] for n in names}


def random_masks(like_masks: Masks, generator: torch.Generator | int, *, stacked: bool = False) -> Masks:
    """Uniformly random masks with exactly as many kept weights per layer (per member) as ``like_masks``:
    the random-pruning control. Drawn on the CPU from ``generator`` (or a seed), layers in dict order."""
    gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
    out: Masks = {}
    for n, m in like_masks.items():
        rows = _rows(m.bool(), stacked)
        scores = torch.rand(rows.shape, generator=gen, dtype=torch.float64, device=gen.device)
        out[n] = _top_mask(scores, rows.sum(1).to(scores.device)).reshape(m.shape).to(m.device)
    return out


def apply_masks(params: Params, masks: Masks) -> Params:
    """Zero the pruned weights in place (under ``no_grad``); returns ``params``."""
    with torch.no_grad():
        for n, m in masks.items():
            if n not in params:
                raise ValueError(f"mask {n!r} has no parameter of that name ({', '.join(params)})")
            if tuple(m.shape) != tuple(params[n].shape):
                raise ValueError(f"mask {n!r} has shape {tuple(m.shape)} but the parameter has "
                                 f"{tuple(params[n].shape)}")
            params[n].mul_(m.to(params[n].device, torch.bool))
    return params


def mask_stats(masks: Masks, *, stacked: bool = False) -> dict:
    """Kept counts and fractions per layer and overall (per member lists when ``stacked``)."""
    if not masks:
        raise ValueError("no masks given")
    kept = {n: _rows(m.bool(), stacked).sum(1) for n, m in masks.items()}
    size = {n: _rows(m, stacked).shape[1] for n, m in masks.items()}
    total_kept, total = sum(kept.values()), sum(size.values())

    def out(t: torch.Tensor):
        return t.tolist() if stacked else t.item()

    return {"kept": {n: out(v) for n, v in kept.items()}, "size": size,
            "kept_fraction": {n: out(v.double() / size[n]) for n, v in kept.items()},
            "overall": out(total_kept.double() / total), "sparsity": out(1.0 - total_kept.double() / total)}
