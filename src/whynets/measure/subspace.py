"""Subspace compression bounds (Lotfi, Finzi, Kapoor, Potapczynski, Goldblum & Wilson 2022, "PAC-Bayes compression
bounds so tight that they can explain generalization", §4; the subspace of Li, Farkhoor, Liu & Yosinski 2018,
"Measuring the intrinsic dimension of objective landscapes").

Quantizing a trained net's own weights costs bits per weight, far more than a few thousand training examples can
pay for (``coding.compress_model``). Lotfi et al. instead train the ARCHITECTURE in a random d-dimensional subspace
around a point fixed before the data were seen, then quantize the d coordinates:

    w = w₀ + P·z,   z ∈ R^d,   P a fixed random D × d matrix (seeded),   w₀ the initialization (data-independent).

The decoder knows the architecture, w₀ (the ``--init`` file, or the factory's seeded initialization), P's seed and the
grids searched; the code (prefix-free, every part of fixed length given the earlier ones, so Kraft holds) is
  * the searched choices: log₂(|dims| · |levels|) bits (``choice_bits``), charged by the caller as extra bits;
  * the codebook: the centroids actually used, 32 bits each, preceded by their number (⌈log₂(levels + 1)⌉ bits);
  * the symbol counts, A − 1 of ⌈log₂(d + 1)⌉ bits (the last is d − Σ);
  * the d symbols, arithmetic-coded under those counts (``coding.arithmetic_encode``).
``decode_subspace`` rebuilds the certified weights from exactly these parts plus the data-independent ones; the
tests check that its predictions are the ones the bound counted errors of.

P is sparse (each of the D rows has ``nnz`` entries ±1 at seeded random columns, the "very sparse random projection"
of Li, Hastie & Church 2006), each row scaled by the RMS of its parameter tensor at w₀ so every layer moves on its
own scale; columns have unit norm in expectation. w₀ + P·z costs D·nnz multiply-adds, so the subspace trains at the
speed of the net itself. Buffers (BatchNorm running statistics) are taken from w₀'s module and never updated, and
the net runs in eval mode, so nothing that depends on the data escapes the code.

Training: Adam on z from z = 0 with a cosine schedule; after two thirds of the steps z is clustered (1-D k-means,
``coding.quantize``) and the last third is quantization-aware (straight-through: the forward pass uses the nearest
centroid, gradients reach z and the centroids), as Lotfi et al. do. The bound is on the QUANTIZED subspace net: the
same architecture as the user's, other weights. Its own train and test error are reported beside it.

Run the oracle tests with ``pytest tests/test_measure_subspace.py``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .coding import arithmetic_code_length, choice_bits, compression_bound, count_bits, quantize

__all__ = ["SparseProjection", "SubspaceResult", "subspace_compress", "decode_subspace", "search_steps"]


def search_steps(n_dims: int, n_levels: int, steps: int) -> int:
    """The training steps of ``subspace_compress``'s search: each dimension trains ``steps`` (its float phase shared by
    every codebook size, then the first size's quantization-aware third); each further size repeats that third."""
    return n_dims * (steps + (n_levels - 1) * (steps - max(1, 2 * steps // 3)))


class SparseProjection:
    """The seeded D × d sparse random matrix P of w = w₀ + P·z, for the trainable parameters of ``module``."""

    def __init__(self, module: nn.Module, dim: int, seed: int = 0, nnz: int = 4):
        if int(dim) != dim or dim < 1 or nnz < 1:
            raise ValueError(f"dim and nnz must be positive integers, got dim={dim}, nnz={nnz}")
        params = [(k, p) for k, p in module.named_parameters() if p.requires_grad]
        if not params:
            raise ValueError("the module has no trainable parameters")
        self.names = [k for k, _ in params]
        self.shapes = [p.shape for _, p in params]
        self.dim, self.seed, self.nnz = int(dim), int(seed), int(nnz)
        with torch.no_grad():
            self.w0 = torch.cat([p.detach().flatten().float().cpu() for _, p in params])
            rms = [float(p.detach().float().pow(2).mean().sqrt()) for _, p in params]
        positive = [r for r in rms if r > 0]
        fallback = float(np.median(positive)) if positive else 1.0
        row_scale = torch.cat([torch.full((p.numel(),), r if r > 0 else fallback) for (_, p), r in zip(params, rms)])
        D = len(self.w0)
        g = torch.Generator().manual_seed(self.seed)
        self.columns = torch.randint(self.dim, (D, self.nnz), generator=g)
        signs = (torch.randint(2, (D, self.nnz), generator=g) * 2 - 1).float()
        # E‖P e_j‖² = Σ_rows nnz/d · scale_r² · c² = 1  ⇒  c = sqrt(d / (nnz · Σ scale_r²))
        c = math.sqrt(self.dim / (self.nnz * float(row_scale.pow(2).sum())))
        self.coef = signs * (c * row_scale)[:, None]

    @property
    def n_params(self) -> int:
        return len(self.w0)

    def weights(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parameters w₀ + P·z by name (differentiable in z)."""
        w = self.w0 + (z[self.columns] * self.coef).sum(-1)
        out, start = {}, 0
        for k, shape in zip(self.names, self.shapes):
            size = shape.numel()
            out[k] = w[start:start + size].view(shape)
            start += size
        return out


@dataclass(frozen=True)
class SubspaceResult:
    """One (dim, levels) point: the quantized subspace net, its code length and its Occam bound."""

    dim: int
    levels: int  # centroids used
    bits: int  # codebook + counts + symbols (the choice bits are the caller's extra_bits)
    bits_codebook: int
    bits_counts: int
    bits_symbols: int
    train_errors: int  # of the quantized net, on the n examples the bound is over
    n: int
    bound: float
    float_train_errors: int  # of the unquantized z, for the cost of quantization
    test_error: float | None
    extra_bits: float
    seconds: float
    codebook: torch.Tensor = field(repr=False, default=None)
    symbols: torch.Tensor = field(repr=False, default=None)
    counts: list = field(repr=False, default_factory=list)


def _errors(module: nn.Module, weights: dict, x: torch.Tensor, y: torch.Tensor, batch: int = 2048) -> int:
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            wrong += int((functional_call(module, weights, (x[i:i + batch],)).argmax(-1) != y[i:i + batch]).sum())
    return wrong


def _nearest(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    mids = (codebook[1:] + codebook[:-1]) / 2
    return torch.searchsorted(mids.contiguous(), z.contiguous())


def _code(z: torch.Tensor, codebook: torch.Tensor, levels: int) -> tuple[torch.Tensor, torch.Tensor, list, int, int, int]:
    """Symbols over the centroids actually used (sorted), and the three parts' lengths in bits."""
    order = torch.argsort(codebook)
    codebook = codebook[order]
    sym = _nearest(z, codebook)
    used = torch.unique(sym)
    remap = torch.full((len(codebook),), -1, dtype=torch.long)
    remap[used] = torch.arange(len(used))
    sym, book = remap[sym], codebook[used].float()
    counts = torch.bincount(sym, minlength=len(book)).tolist()
    d = len(z)
    bits_codebook = math.ceil(math.log2(levels + 1)) + 32 * len(book)
    bits_counts = count_bits(len(book), d)
    bits_symbols = arithmetic_code_length(sym, np.asarray(counts, dtype=np.int64))
    return sym, book, counts, bits_codebook, bits_counts, bits_symbols


def decode_subspace(module: nn.Module, dim: int, codebook: torch.Tensor, symbols: torch.Tensor, seed: int = 0,
                    nnz: int = 4) -> dict[str, torch.Tensor]:
    """The certified net's parameters from the code (codebook, symbols) and what the decoder knows in advance:
    the architecture and w₀ (``module``, as at initialization), the subspace's dimension and seed."""
    proj = SparseProjection(module, dim, seed, nnz)
    return {k: v.detach().clone() for k, v in proj.weights(codebook.float()[symbols]).items()}


def subspace_compress(init_module: nn.Module, x: torch.Tensor, y: torch.Tensor, dims: Sequence[int] = (250, 500, 1000),
                      levels: Sequence[int] = (4, 8), steps: int = 3000, lr: float = 0.03, batch_size: int = 100,
                      seed: int = 0, delta: float = 0.05, x_test: torch.Tensor | None = None,
                      y_test: torch.Tensor | None = None, loss: Callable = F.cross_entropy,
                      progress: Callable[[int, int], None] | None = None) -> tuple[SubspaceResult, list[SubspaceResult]]:
    """Train ``init_module``'s architecture in each subspace of ``dims`` around its current (initial, data-independent)
    weights, quantize to each of ``levels`` with quantization-aware training, and bound each quantized net; every
    bound charges log₂(|dims|·|levels|) bits for the search. Returns (tightest, all rows)."""
    if not dims or not levels or steps < 3 or any(int(L) != L or L < 2 for L in levels):
        raise ValueError(f"need dims, levels >= 2 each and steps >= 3; got dims={dims}, levels={levels}, steps={steps}")
    module = copy.deepcopy(init_module).cpu().eval()
    for p in module.parameters():
        p.requires_grad_(True)
    x, y = x.cpu(), y.cpu()
    n = len(y)
    extra = choice_bits(len(dims), len(levels))
    float_steps = max(1, 2 * steps // 3)
    schedule = lambda i: lr * 0.5 * (1 + math.cos(math.pi * i / steps))  # noqa: E731
    rows: list[SubspaceResult] = []
    done, total = 0, search_steps(len(dims), len(levels), steps)

    def batch(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(n, (min(batch_size, n),), generator=gen)
        return x[idx], y[idx]

    def step(opt: torch.optim.Optimizer, i: int, gen: torch.Generator, proj: SparseProjection,
             coords: Callable[[], torch.Tensor]) -> None:
        nonlocal done
        for group in opt.param_groups:
            group["lr"] = schedule(i)
        xb, yb = batch(gen)
        value = loss(functional_call(module, proj.weights(coords()), (xb,)), yb)
        opt.zero_grad()
        value.backward()
        opt.step()
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)

    for dim in dims:
        started = time.perf_counter()
        proj = SparseProjection(module, dim, seed)
        gen = torch.Generator().manual_seed(seed + 1)
        z = torch.zeros(dim, requires_grad=True)
        opt = torch.optim.Adam([z], lr=lr)
        for i in range(float_steps):
            step(opt, i, gen, proj, lambda: z)
        z_float = z.detach().clone()
        float_errors = _errors(module, proj.weights(z_float), x, y)
        shared = time.perf_counter() - started
        for L in levels:
            started = time.perf_counter()
            z = z_float.clone().requires_grad_(True)
            _, book = quantize(z_float, int(L), seed)
            book = book.clone().requires_grad_(True)
            opt = torch.optim.Adam([z, book], lr=lr)
            qgen = torch.Generator().manual_seed(seed + 2)
            def nearest_centroid() -> torch.Tensor:
                with torch.no_grad():
                    order = torch.argsort(book)
                    a = order[_nearest(z, book[order])]
                return book[a] + (z - z.detach())  # straight-through to z; the centroids get their own gradient

            for i in range(float_steps, steps):
                step(opt, i, qgen, proj, nearest_centroid)
            sym, code_book, counts, b_book, b_counts, b_sym = _code(z.detach(), book.detach(), int(L))
            weights = proj.weights(code_book[sym])
            errors = _errors(module, weights, x, y)
            bits = b_book + b_counts + b_sym
            test_error = (_errors(module, weights, x_test.cpu(), y_test.cpu()) / len(y_test)
                          if x_test is not None and y_test is not None else None)
            rows.append(SubspaceResult(dim, len(code_book), bits, b_book, b_counts, b_sym, errors, n,
                                       compression_bound(errors, n, bits, delta, extra_bits=extra), float_errors,
                                       test_error, extra, shared + time.perf_counter() - started, code_book, sym,
                                       counts))
    return min(rows, key=lambda r: r.bound), rows
