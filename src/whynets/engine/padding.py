"""Padded populations: MLPs of different widths trained as ONE population (see ``models.padding`` for why a
zero-padded MLP computes, and keeps computing, exactly the narrow net's function).

    >>> import torch, whynets as wn
    >>> pop = wn.engine.padded_population(wn.models.ModelSpec(width=8), [2, 4, 8], (40,), 10, seeds=0)
    >>> pop(torch.zeros(5, 40)).shape    # three members, all 8 wide
    torch.Size([3, 5, 10])
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Sequence

import torch

from whynets.models import ModelSpec, build
from whynets.models.padding import pad_mlp

from .budget import check_population, shapes_only
from .population import Population, member_generator

__all__ = ["padded_population", "width_buckets"]


def padded_population(model: ModelSpec, widths: Sequence[int], input_shape: tuple[int, ...], n_classes: int,
                      seeds: int | Sequence[int], pad_to: int | None = None,
                      device: torch.device | str = "cpu") -> Population:
    """A population whose member k is the width-``widths[k]`` MLP of ``model``, padded to ``pad_to``.

    Member k is initialized exactly as ``build(replace(model, width=widths[k]), ...)`` with the
    generator ``Population.build`` would give seed k (``member_generator``), so a width's
    initial weights and data order (from its seed) do not depend on the other members.
    ``seeds``: one seed for all widths, or one per width. ``pad_to`` defaults to ``max(widths)``.
    """
    if model.kind != "mlp":
        raise ValueError(f"padded_population pads MLPs, got model.kind={model.kind!r}")
    widths = [int(w) for w in widths]
    seed_list = [int(seeds)] * len(widths) if isinstance(seeds, int) else [int(s) for s in seeds]
    if len(seed_list) != len(widths):
        raise ValueError(f"{len(widths)} widths but {len(seed_list)} seeds")
    target = max(widths) if pad_to is None else int(pad_to)
    check_population(lambda: shapes_only(replace(model, width=target), input_shape, n_classes), len(widths),
                     f"model {model.kind} padded to width {target}", device)
    modules = []
    for w, s in zip(widths, seed_list):
        net = build(replace(model, width=w), input_shape, n_classes, member_generator(s))
        modules.append(pad_mlp(net, target).to(device))
    return Population(modules, seed_list)


def width_buckets(widths: Sequence[int], n_buckets: int,
                  cost: Callable[[int], float] = lambda w: w * w) -> list[list[int]]:
    """Split sorted ``widths`` into ≤ ``n_buckets`` contiguous groups minimizing the padded cost.

    A bucket costs (its size) × ``cost(its max width)``; the default w² is the hidden-to-hidden
    matmul of a depth-2 MLP. Exact dynamic programming over the split points. Measured on MNIST-1D
    (14 widths 2..300, depth 2, batch 100, 1 CPU thread): one population padded to 300 costs
    27 ms/step, each width alone 24 ms/step, 2 buckets 10 ms/step, 3 buckets 9 ms/step, 4 buckets
    10 ms/step (each population step also has a fixed overhead).
    """
    ws = sorted(int(w) for w in widths)
    if not ws:
        return []
    n, b = len(ws), max(1, min(int(n_buckets), len(ws)))
    inf = math.inf
    best = [[inf] * (n + 1) for _ in range(b + 1)]
    cut = [[0] * (n + 1) for _ in range(b + 1)]
    best[0][0] = 0.0
    for k in range(1, b + 1):
        for end in range(1, n + 1):
            for start in range(k - 1, end):
                c = best[k - 1][start] + (end - start) * cost(ws[end - 1])
                if c < best[k][end]:
                    best[k][end], cut[k][end] = c, start
    k = min(range(1, b + 1), key=lambda kk: best[kk][n])
    groups, end = [], n
    while k > 0:
        start = cut[k][end]
        groups.append(ws[start:end])
        end, k = start, k - 1
    return groups[::-1]
