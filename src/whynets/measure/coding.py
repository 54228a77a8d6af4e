"""Compression bounds: describe the trained net in few bits, then Occam's razor bounds its error.

A hypothesis h given by a prefix-free code of K(h) bits has prior mass 2^−K(h) (Kraft), so w.p. ≥ 1 − δ
simultaneously for all such h (Langford 2005, Thm 4.6, Occam's razor; its kl relaxation is the bound of
Lotfi, Finzi, Kapoor, Potapczynski, Goldblum & Wilson 2022, "PAC-Bayes compression bounds so tight that
they can explain generalization", §3, there with a prefix-free code so no 2·log K(h) term is needed):

    kl(ê(h) ‖ e(h)) ≤ (K(h)·ln 2 + ln(1/δ)) / n            (``compression_bound``, method="kl")
    e(h) ≤ largest p with P[Bin(n, p) ≤ k] ≥ δ·2^−K(h)        (method="binomial", tighter)

The code (``compress_model``), for a fixed architecture with N trainable scalars (known to the decoder):
  * the searched hyper-parameters, as ``extra_bits`` chosen before seeing data: log₂(number of options) for
    each, e.g. 3 bits for ``levels`` from an 8-value grid, one bit per layer for "is this layer pruned",
    log₂ of the grid size for a pruning fraction (``choice_bits`` adds them up);
  * the codebook: ``levels`` float32 centroids, 32 bits each (1-D k-means, ``quantize``);
  * the symbol counts (the coder's model): A − 1 counts of ⌈log₂(N + 1)⌉ bits each (the last is N − Σ),
    A = levels, or levels + 1 with masks (symbol 0 = a pruned entry, decoded as exactly 0.0);
  * the symbols, arithmetic-coded (``arithmetic_encode``: Witten, Neal & Cleary 1987, integer coder with
    static counts); given the counts and N the decoder knows when to stop and the termination leaves a
    dyadic interval inside the message's interval, so the code is prefix-free.
Every part has a fixed length given the earlier parts, so the whole is prefix-free and Kraft holds.

Run the oracle tests with ``pytest tests/test_measure_coding.py``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .bounds import binomial_tail_inverse, kl_inverse_upper

__all__ = ["quantize", "arithmetic_encode", "arithmetic_decode", "arithmetic_code_length", "ideal_code_length",
           "choice_bits", "count_bits", "compression_bound", "CompressedModel", "compress_model", "decode_compressed"]

_PRECISION = 48  # coder state bits; counts may total up to 2^46
_FULL, _HALF, _QUARTER = 1 << _PRECISION, 1 << (_PRECISION - 1), 1 << (_PRECISION - 2)
_PROB_SCALE = 1 << 30  # probabilities become integer frequencies round(p·2^30) (≥ 1 where p > 0)


def quantize(weights: torch.Tensor, levels: int, seed: int = 0, iters: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D k-means (Lloyd, k-means++ initialization from a seeded generator): returns (symbols, codebook) with
    ``codebook`` sorted ascending (float32) and ``codebook[symbols]`` the quantized weights (same shape)."""
    w = weights.detach().double().flatten().cpu().numpy()
    if int(levels) != levels or levels < 1 or not len(w):
        raise ValueError(f"levels must be a positive integer and weights non-empty; "
                         f"got levels={levels}, {len(w)} weights")
    distinct = np.unique(w)
    if len(distinct) <= levels:  # exact: every distinct value is a centroid
        centers = distinct
    else:
        rng = np.random.default_rng(seed)
        sample = w if len(w) <= 20000 else rng.choice(w, 20000, replace=False)
        centers = [sample[rng.integers(len(sample))]]
        d2 = (sample - centers[0]) ** 2
        for _ in range(levels - 1):  # k-means++: the next center drawn with probability ∝ squared distance
            centers.append(sample[rng.choice(len(sample), p=d2 / d2.sum())] if d2.sum() > 0 else sample[0])
            d2 = np.minimum(d2, (sample - centers[-1]) ** 2)
        order = np.argsort(w, kind="stable")
        ws = w[order]
        csum = np.concatenate([[0.0], np.cumsum(ws)])
        centers = np.unique(np.asarray(centers))
        for _ in range(iters):  # Lloyd on sorted data: cells are intervals between midpoints
            cuts = np.searchsorted(ws, (centers[1:] + centers[:-1]) / 2, side="right")
            lo, hi = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(ws)]])
            filled = hi > lo
            new = np.where(filled, (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1), centers)
            new = np.unique(new[filled])
            if len(new) == len(centers) and np.allclose(new, centers, rtol=0, atol=0):
                break
            centers = new
    codebook = np.unique(np.asarray(centers, dtype=np.float32))
    mids = (codebook[1:].astype(np.float64) + codebook[:-1]) / 2
    symbols = np.searchsorted(mids, w, side="left")
    return (torch.as_tensor(symbols, dtype=torch.long).reshape(weights.shape),
            torch.as_tensor(codebook, dtype=torch.float32))


def _frequencies(model) -> list[int]:
    """Integer symbol frequencies from counts (integers) or probabilities (floats, summing to 1)."""
    arr = np.asarray(model.detach().cpu() if isinstance(model, torch.Tensor) else model)
    if arr.ndim != 1 or not len(arr) or (arr < 0).any():
        raise ValueError("the coder's model must be a non-empty 1-D list of non-negative counts or probabilities")
    if np.issubdtype(arr.dtype, np.integer):
        freqs = [int(c) for c in arr]
    else:
        if abs(arr.sum() - 1.0) > 1e-6:
            raise ValueError(f"probabilities must sum to 1, got {arr.sum()}")
        freqs = [max(1, round(float(p) * _PROB_SCALE)) if p > 0 else 0 for p in arr]
    if not 0 < sum(freqs) <= _QUARTER:
        raise ValueError(f"total frequency must be in (0, 2^{_PRECISION - 2}], got {sum(freqs)}")
    return freqs


def _cumulative(freqs: list[int]) -> list[int]:
    return [0] + list(np.cumsum(freqs, dtype=object))


def _symbols(symbols, freqs: list[int]) -> list[int]:
    s = [int(v) for v in (symbols.flatten().tolist() if isinstance(symbols, torch.Tensor) else np.ravel(symbols))]
    bad = [v for v in s if not 0 <= v < len(freqs) or freqs[v] == 0]
    if bad:
        raise ValueError(f"symbol {bad[0]} is outside the alphabet of {len(freqs)} or has zero frequency")
    return s


def arithmetic_encode(symbols, model) -> tuple[bytes, int]:
    """Encode with a static model (counts or probabilities); returns (packed bits, number of bits)."""
    freqs = _frequencies(model)
    cum, total = _cumulative(freqs), sum(freqs)
    low, high, pending, out = 0, _FULL - 1, 0, bytearray()

    def emit(bit: int) -> None:
        nonlocal pending
        out.append(bit)
        out.extend([1 - bit] * pending)
        pending = 0

    for s in _symbols(symbols, freqs):
        span = high - low + 1
        high = low + span * cum[s + 1] // total - 1
        low = low + span * cum[s] // total
        while True:
            if high < _HALF:
                emit(0)
            elif low >= _HALF:
                emit(1)
                low, high = low - _HALF, high - _HALF
            elif low >= _QUARTER and high < _HALF + _QUARTER:
                pending += 1
                low, high = low - _QUARTER, high - _QUARTER
            else:
                break
            low, high = 2 * low, 2 * high + 1
    pending += 1  # two more bits select a quarter inside [low, high]: the code is prefix-free
    emit(0 if low < _QUARTER else 1)
    return np.packbits(np.frombuffer(bytes(out), dtype=np.uint8)).tobytes(), len(out)


def arithmetic_decode(data: bytes, n_bits: int, model, count: int) -> np.ndarray:
    """Decode ``count`` symbols from ``arithmetic_encode``'s output with the same model."""
    freqs = _frequencies(model)
    cum, total = _cumulative(freqs), sum(freqs)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:n_bits].tolist()
    pos = _PRECISION
    value = int("".join(map(str, (bits + [0] * _PRECISION)[:_PRECISION])), 2)
    low, high, out = 0, _FULL - 1, np.empty(count, dtype=np.int64)
    for i in range(count):
        span = high - low + 1
        s = bisect.bisect_right(cum, ((value - low + 1) * total - 1) // span) - 1
        out[i] = s
        high = low + span * cum[s + 1] // total - 1
        low = low + span * cum[s] // total
        while True:
            if high < _HALF:
                pass
            elif low >= _HALF:
                value, low, high = value - _HALF, low - _HALF, high - _HALF
            elif low >= _QUARTER and high < _HALF + _QUARTER:
                value, low, high = value - _QUARTER, low - _QUARTER, high - _QUARTER
            else:
                break
            low, high = 2 * low, 2 * high + 1
            value = 2 * value + (bits[pos] if pos < n_bits else 0)
            pos += 1
    return out


def arithmetic_code_length(symbols, model) -> int:
    """Exact length in bits of the arithmetic code of ``symbols`` under ``model`` (counts or probabilities)."""
    return arithmetic_encode(symbols, model)[1]


def ideal_code_length(symbols, model) -> float:
    """−Σ log₂ p(s_i) under the model's (integer-rounded) probabilities: the length an ideal coder reaches."""
    freqs = _frequencies(model)
    s = np.asarray(_symbols(symbols, freqs))
    f = np.asarray(freqs, dtype=np.float64)
    return float(-(np.log2(f[s] / f.sum())).sum())


def choice_bits(*n_options: int) -> float:
    """Σ log₂(n_i): the bits of a uniform code for hyper-parameters chosen among n_1, n_2, … options."""
    if any(int(k) != k or k < 1 for k in n_options):
        raise ValueError(f"each number of options must be a positive integer, got {n_options}")
    return float(sum(math.log2(k) for k in n_options))


def count_bits(alphabet: int, n: int) -> int:
    """The coder's model sent ahead of the symbols: alphabet − 1 counts of ⌈log₂(n + 1)⌉ bits (the last is n − Σ)."""
    return (alphabet - 1) * math.ceil(math.log2(n + 1))


def compression_bound(errors: int, n: int, code_bits: float, delta: float = 0.05, extra_bits: float = 0.0,
                      method: str = "kl") -> float:
    """Bound on the true error of a net described by ``code_bits`` + ``extra_bits`` prefix-free bits that
    misclassifies ``errors`` of its n training examples (see the module docstring; never clipped)."""
    bits = float(code_bits) + float(extra_bits)
    if not bits >= 0 or not 0 < delta < 1:
        raise ValueError(f"need bits >= 0 and delta in (0, 1); got {bits} bits, delta={delta}")
    if int(errors) != errors or not 0 <= errors <= n:
        raise ValueError(f"errors must be a count in [0, n={n}], got {errors}")
    if method == "kl":
        return kl_inverse_upper(errors / n, (bits * math.log(2) + math.log(1 / delta)) / n)
    if method == "binomial":
        return binomial_tail_inverse(int(errors), int(n), math.log(delta) - bits * math.log(2))
    raise ValueError(f"method must be 'kl' or 'binomial', got {method!r}")


@dataclass(frozen=True)
class CompressedModel:
    """A quantized copy of the model's state and the length of its code, part by part (bits)."""

    state_dict: dict
    bits: int  # codebook + counts + symbols
    bits_codebook: int
    bits_counts: int
    bits_symbols: int
    ideal_bits_symbols: float  # −Σ log₂ (count/N): the coder is within a few bits of this
    levels: int  # centroids actually used
    n_weights: int
    counts: list = field(default_factory=list)  # per symbol (symbol 0 = pruned, when masks are given)
    codebook: torch.Tensor | None = None  # float32 centroids (symbol s ↦ codebook[s − 1] with masks, else [s])
    symbols: torch.Tensor | None = None  # the coded sequence, named_parameters order, flattened
    bits_raw: int = 0  # every other tensor the predictor uses that the base does not already hold (included in bits)
    raw: dict = field(default_factory=dict)  # those tensors, as coded: float32 (32 bits an entry) or int64 (64)
    coded: tuple = ()  # the quantized tensors' names, in coding order


def compress_model(model: nn.Module, levels: int, masks: dict[str, torch.Tensor] | None = None,
                   seed: int = 0, base: nn.Module | None = None) -> CompressedModel:
    """Quantize every parameter (trainable or frozen) to one shared ``levels``-centroid codebook (pruned entries,
    where ``masks[name]`` is False, become exact zeros coded by their own symbol) and measure the code length.

    Everything else the predictor uses is charged too: each buffer (BatchNorm running statistics) is coded raw —
    32 bits an entry (float32) or 64 (integers) — unless it equals that tensor of ``base``, a module built without
    data (the factory at a fixed seed), which the decoder rebuilds for free; a frozen parameter equal to base's is
    free as well. So the code plus ``base`` reproduces the whole state (``decode_compressed``), and no tensor the
    predictor reads escapes the bound."""
    own = dict(model.named_parameters())
    reference = {} if base is None else {k: v.detach().cpu() for k, v in base.state_dict().items()}

    def given(k: str, v: torch.Tensor) -> bool:  # rebuilt by the decoder from the data-independent base
        r = reference.get(k)
        return r is not None and r.shape == v.shape and r.dtype == v.dtype and torch.equal(r, v.detach().cpu())

    names = [k for k, p in own.items() if p.requires_grad or not given(k, p)]
    params = {k: own[k] for k in names}
    flat = torch.cat([params[k].detach().flatten().double().cpu() for k in names])
    if masks is not None:
        unknown = set(masks) - set(names)
        if unknown or any(masks[k].shape != params[k].shape for k in masks):
            raise ValueError(f"masks must map parameter names {names} to bool tensors of their shapes; bad: {unknown}")
    keep = torch.cat([(masks[k] if masks is not None and k in masks else torch.ones_like(params[k], dtype=torch.bool))
                      .detach().flatten().bool().cpu() for k in names])
    if not bool(keep.any()):
        raise ValueError("every weight is pruned; keep at least one")
    kept_symbols, codebook = quantize(flat[keep], levels, seed)
    symbols = torch.zeros(len(flat), dtype=torch.long)
    offset = 1 if masks is not None else 0
    symbols[keep] = kept_symbols + offset
    values = torch.cat([torch.zeros(offset), codebook])[symbols]
    alphabet = len(codebook) + offset
    counts = torch.bincount(symbols, minlength=alphabet)
    n_weights = len(flat)
    bits_counts = count_bits(alphabet, n_weights)
    bits_symbols = arithmetic_code_length(symbols, counts.numpy())
    state, start = {k: v.detach().clone() for k, v in model.state_dict().items()}, 0
    for k in names:
        size = params[k].numel()
        state[k] = values[start:start + size].reshape(params[k].shape).to(params[k])
        start += size
    raw, bits_raw = {}, 0
    for k, v in model.state_dict().items():
        if k in own or given(k, v):
            continue
        coded = v.detach().cpu().to(torch.float32 if v.is_floating_point() else torch.int64)
        raw[k] = coded
        bits_raw += (32 if v.is_floating_point() else 64) * v.numel()
        state[k] = coded.to(v)
    bits = 32 * len(codebook) + bits_counts + bits_symbols + bits_raw
    return CompressedModel(state, bits, 32 * len(codebook), bits_counts, bits_symbols,
                           ideal_code_length(symbols, counts.numpy()), len(codebook), n_weights, counts.tolist(),
                           codebook, symbols, bits_raw=bits_raw, raw=raw, coded=tuple(names))


def decode_compressed(code: CompressedModel, base: nn.Module, masked: bool = False) -> dict[str, torch.Tensor]:
    """The whole state the code describes: the quantized tensors (codebook[symbol], in ``code.coded`` order),
    the raw-coded ones, and every other tensor from ``base`` (built without data). ``masked``: symbol 0 meant a
    pruned zero."""
    state = {k: v.detach().clone() for k, v in base.state_dict().items()}
    values = torch.cat([torch.zeros(1 if masked else 0), code.codebook])[code.symbols]
    start = 0
    for k in code.coded:
        size = state[k].numel()
        state[k] = values[start:start + size].reshape(state[k].shape).to(state[k].dtype)
        start += size
    for k, v in code.raw.items():
        state[k] = v.to(state[k].dtype)
    return state
