"""Lempel–Ziv complexity of binary strings, and the Boolean functions that random networks compute.

**LZ76 count** N_w(x) (Lempel & Ziv 1976, in the sequential form of Kaspar & Schuster 1987): x is parsed left to
right into words; the first symbol is a word, and each next word is the shortest prefix of the rest that cannot
be copied from earlier in x (the copy may overlap the word itself), so each word is a copy plus one new symbol,
and a copy that runs to the end of x is the last word. N_w counts the words:

    0001101001000101 → 0·001·10·100·1000·101       N_w = 6   (Lempel & Ziv 1976's example)
    1001111011000010 → 1·0·01·1110·1100·0010       N_w = 6   (LZ78 phrases would give 8: 1·0·01·11·10·110·00·010)
    01011010001101110010 → 0·1·011·0100·011011·1001·0   N_w = 7   (Amigó et al. 2004's example)

The PyPI package ``lempel_ziv_complexity`` counts LZ78-style distinct phrases (8 on the second string), not LZ76.

**The symmetrized estimator** of Dingle, Camargo & Louis 2018 (Nat. Commun. 9:761, Methods), used by Valle-Pérez,
Camargo & Louis 2019 for the functions of random nets:

    C_LZ(x) = log2(n)                                          if x = 0ⁿ or x = 1ⁿ
    C_LZ(x) = log2(n) · (N_w(x₁…xₙ) + N_w(xₙ…x₁)) / 2         otherwise

so C_LZ is in units of log2(n) bits per word (the 0ⁿ/1ⁿ case counts one word instead of LZ76's two); for
n = 128 a constant function has C_LZ = 7 and a uniformly random string ≈ 7 · 21 ≈ 149.

**Functions of random nets**: ``boolean_inputs(n)`` lists {0, 1}ⁿ in binary counting order (row i is i's bits,
most significant first); ``sample_functions`` draws ``n_nets`` random MLPs (W ~ N(0, σ_w²/fan_in),
b ~ N(0, σ_b²)) in blocks of batched matmuls, thresholds each net's output on all 2ⁿ inputs at 0, and packs each
truth table into 64-bit words; ``count_functions`` returns the distinct tables and their frequencies.

    >>> from whynets.kernels import lz76_count, lz_complexity
    >>> lz76_count("0001101001000101"), lz_complexity("0" * 128)
    (6, 7.0)
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

__all__ = ["lz76_words", "lz76_count", "lz_complexity", "lz_complexities", "boolean_inputs", "sample_functions",
           "count_functions", "unpack_tables", "pack_tables", "mlp_param_count", "width_for_params"]


def _as_bytes(x: str | bytes | Sequence[int] | torch.Tensor) -> bytes:
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        if set(x) - {"0", "1"}:
            raise ValueError(f"a binary string holds only '0' and '1', got {x[:40]!r}")
        return bytes(int(ch) for ch in x)
    values = x.tolist() if isinstance(x, torch.Tensor) else list(x)
    if any(v not in (0, 1) for v in values):
        raise ValueError("a binary sequence holds only 0 and 1")
    return bytes(values)


def lz76_words(x: str | bytes | Sequence[int] | torch.Tensor) -> list[bytes]:
    """The words of x's LZ76 exhaustive parsing (Lempel & Ziv 1976; the sequential scan of Kaspar & Schuster
    1987). The first symbol is a word; the word starting at position l is x[l:l+L] with L the smallest length such
    that x[l:l+L] is NOT a substring of x[:l+L−1] (cannot be copied from a start before l, overlap allowed), or
    the rest of x when all of it can be copied."""
    s = _as_bytes(x)
    n = len(s)
    if n == 0:
        return []
    words, l = [s[:1]], 1
    while l < n:
        length = 1
        while l + length <= n and s[l:l + length] in s[:l + length - 1]:
            length += 1
        words.append(s[l:l + length])
        l += length
    return words


def lz76_count(x: str | bytes | Sequence[int] | torch.Tensor) -> int:
    """N_w(x): the number of words of x's LZ76 parsing (``lz76_words``); 0 for the empty string."""
    s = _as_bytes(x)
    n = len(s)
    if n == 0:
        return 0
    words, l = 1, 1
    while l < n:
        length = 1
        while l + length <= n and s[l:l + length] in s[:l + length - 1]:
            length += 1
        words += 1
        l += length
    return words


def lz_complexity(x: str | bytes | Sequence[int] | torch.Tensor) -> float:
    """C_LZ(x) of Dingle et al. 2018: log2(n) for 0ⁿ and 1ⁿ, else log2(n)·(N_w(x) + N_w(reversed x))/2."""
    s = _as_bytes(x)
    n = len(s)
    if n < 2:
        raise ValueError(f"C_LZ needs a string of length >= 2 (log2 n > 0), got length {n}")
    if s.count(s[:1]) == n:
        return math.log2(n)
    return math.log2(n) * (lz76_count(s) + lz76_count(s[::-1])) / 2


def lz_complexities(bits: torch.Tensor) -> torch.Tensor:
    """C_LZ of every row of a (B, n) 0/1 tensor (float64, B)."""
    if bits.dim() != 2 or bits.shape[1] < 2:
        raise ValueError(f"lz_complexities takes a (batch, n >= 2) tensor of 0/1, got shape {tuple(bits.shape)}")
    rows = bits.to(torch.uint8).numpy()
    return torch.tensor([lz_complexity(row.tobytes()) for row in rows], dtype=torch.float64)


def boolean_inputs(n: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """All 2ⁿ points of {low, high}ⁿ (float32, 2ⁿ × n) in binary counting order: row i holds i's bits, most
    significant first, so a truth table's bit i is the function's value at row i."""
    if not 1 <= n <= 20:
        raise ValueError(f"boolean_inputs needs 1 <= n <= 20 inputs, got {n}")
    i = torch.arange(2 ** n).unsqueeze(1)
    bits = (i >> torch.arange(n - 1, -1, -1)) & 1
    return (low + (high - low) * bits).float()


def pack_tables(tables: torch.Tensor) -> torch.Tensor:
    """(N, m) 0/1 truth tables → (N, ceil(m/63)) int64 words, 63 bits each (no sign bit), bit i of word w is
    entry 63·w + i."""
    n, m = tables.shape
    words = math.ceil(m / 63)
    padded = torch.zeros(n, words * 63, dtype=torch.long)
    padded[:, :m] = tables.long()
    weights = 2 ** torch.arange(63, dtype=torch.long)
    return (padded.view(n, words, 63) * weights).sum(-1)


def unpack_tables(packed: torch.Tensor, m: int) -> torch.Tensor:
    """The inverse of ``pack_tables``: (N, words) int64 → (N, m) uint8 truth tables."""
    bits = (packed.unsqueeze(-1) >> torch.arange(63, dtype=torch.long)) & 1
    return bits.reshape(len(packed), -1)[:, :m].to(torch.uint8)


def mlp_param_count(n_in: int, hidden: Sequence[int], n_out: int = 1) -> int:
    """Weights and biases of an MLP n_in → hidden… → n_out."""
    dims = [n_in, *hidden, n_out]
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))


def width_for_params(n_in: int, depth: int, params: int, n_out: int = 1) -> int:
    """The width w whose ``depth``-hidden-layer MLP of equal widths has the parameter count closest to ``params``."""
    best = min(range(1, 4 * params), key=lambda w: (abs(mlp_param_count(n_in, [w] * depth, n_out) - params), w))
    return best


_ACT: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": torch.relu, "tanh": torch.tanh,
                                                           "linear": lambda h: h, "erf": torch.erf}


def sample_functions(x: torch.Tensor, hidden: Sequence[int], n_nets: int, sigma_w2: float = 1.0,
                     sigma_b2: float = 0.0, activation: str = "relu", generator: torch.Generator | None = None,
                     block: int = 1024) -> torch.Tensor:
    """Truth tables of ``n_nets`` random MLPs on the rows of ``x`` (m × n_in), packed (``pack_tables``); ``hidden``
    lists the hidden widths (empty: a perceptron). Net k has
    weights W ~ N(0, σ_w²/fan_in) and biases b ~ N(0, σ_b²) on every layer (the readout included) and computes
    f_k(x) = 1[output > 0]. Nets are drawn in blocks of ``block`` as batched matmuls (float32); the draws depend
    on the generator and the block size only."""
    if activation not in _ACT:
        raise ValueError(f"activation must be one of {', '.join(_ACT)}, got {activation!r}")
    if n_nets < 1 or (hidden and min(hidden) < 1):
        raise ValueError(f"need n_nets >= 1 and hidden widths >= 1, got {n_nets}, {tuple(hidden)}")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    phi = _ACT[activation]
    dims = [x.shape[1], *hidden, 1]
    out = []
    for start in range(0, n_nets, block):
        k = min(block, n_nets - start)
        h = x.float().unsqueeze(0).expand(k, -1, -1)  # (k, m, n_in)
        for layer, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            w = torch.randn(k, a, b, generator=g) * math.sqrt(sigma_w2 / a)
            bias = torch.randn(k, 1, b, generator=g) * math.sqrt(sigma_b2)
            h = torch.baddbmm(bias, h, w)
            if layer < len(dims) - 2:
                h = phi(h)
        out.append(pack_tables((h[..., 0] > 0).to(torch.uint8)))
    return torch.cat(out)


def count_functions(packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct packed truth tables and how often each was drawn, most frequent first (ties: table order)."""
    tables, counts = torch.unique(packed, dim=0, return_counts=True)
    order = torch.argsort(counts, descending=True, stable=True)
    return tables[order], counts[order]
