"""Lempel–Ziv complexity against strings parsed by hand and against a literal port of Kaspar & Schuster's scan;
the Boolean functions of random nets against a per-net loop and against a perceptron's exact probabilities."""

import itertools
import math

import pytest
import torch

from whynets.kernels.complexity import (boolean_inputs, count_functions, lz76_count, lz76_words, lz_complexities,
                                        lz_complexity, mlp_param_count, pack_tables, sample_functions, unpack_tables,
                                        width_for_params)


def kaspar_schuster(s: str) -> int:
    """Kaspar & Schuster 1987's sequential LZ76 scan, transcribed line by line (1-based, as in their Fig. 2 and the
    MATLAB port by S. Faul that Dingle et al. 2018 and Valle-Pérez et al. 2019 use): the oracle."""
    n = len(s)
    if n < 2:
        return n
    s = "_" + s  # 1-based
    c, l, i, k, k_max = 1, 1, 0, 1, 1
    while True:
        if s[i + k] != s[l + k]:
            k_max = max(k, k_max)
            i += 1
            if i == l:
                c += 1
                l += k_max
                if l + 1 > n:
                    return c
                i, k, k_max = 0, 1, 1
            else:
                k = 1
        else:
            k += 1
            if l + k > n:
                return c + 1


@pytest.mark.parametrize("string, words", [
    # Lempel & Ziv 1976, section II: the exhaustive history of 0001101001000101
    ("0001101001000101", ["0", "001", "10", "100", "1000", "101"]),
    # the LZ76 parse of Wikipedia's example; LZ78's distinct phrases would be 1·0·01·11·10·110·00·010 (8 words),
    # which is what the PyPI package lempel_ziv_complexity returns for it
    ("1001111011000010", ["1", "0", "01", "1110", "1100", "0010"]),
    # Amigó, Szczepański, Wajnryb & Sanchez-Vives 2004 (Neural Comput. 16:717), their worked example
    ("01011010001101110010", ["0", "1", "011", "0100", "011011", "1001", "0"]),
    # by hand: a run is one symbol and one copy of it (the copy overlaps itself)
    ("0000", ["0", "000"]), ("01010101", ["0", "1", "010101"]), ("0001", ["0", "001"]),
    ("1", ["1"]), ("10", ["1", "0"]), ("", []),
])
def test_lz76_parses_hand_worked_strings(string, words):
    got = ["".join(str(b) for b in w) for w in lz76_words(string)]
    assert got == words
    assert lz76_count(string) == len(words) == kaspar_schuster(string)


def test_lz76_equals_kaspar_schuster_on_every_short_string_and_random_long_ones():
    for n in range(1, 13):
        for bits in itertools.product("01", repeat=n):
            s = "".join(bits)
            assert lz76_count(s) == kaspar_schuster(s), s
    g = torch.Generator().manual_seed(3)
    for p in (0.5, 0.1):
        rows = (torch.rand(200, 128, generator=g) < p).to(torch.uint8)
        for row in rows:
            s = "".join(map(str, row.tolist()))
            assert lz76_count(row) == kaspar_schuster(s)


def test_symmetrized_estimator_and_its_special_cases():
    assert lz_complexity("0" * 128) == lz_complexity("1" * 128) == 7.0  # log2(128), one word instead of LZ76's two
    # 0^127 1 parses 0·0^126 1 (2 words); reversed, 1 0^127 parses 1·0·0^126 (3 words): 7 · (2 + 3) / 2
    assert lz_complexity("0" * 127 + "1") == pytest.approx(17.5)
    # 0001101001000101 (6 words); reversed 1010001001011000 parses 1·0·10·001·00101·1000 (6 words)
    assert lz76_count("1010001001011000") == 6
    assert lz_complexity("0001101001000101") == pytest.approx(4 * 6)
    g = torch.Generator().manual_seed(0)
    rows = (torch.rand(50, 128, generator=g) < 0.3).to(torch.uint8)
    rows[0] = 1
    batch = lz_complexities(rows)
    assert batch.tolist() == pytest.approx([lz_complexity(r) for r in rows])
    with pytest.raises(ValueError):
        lz_complexity("012")


def test_boolean_inputs_count_in_binary_and_tables_pack_losslessly():
    x = boolean_inputs(3)
    assert x.shape == (8, 3) and x[5].tolist() == [1.0, 0.0, 1.0] and x[0].sum() == 0
    assert boolean_inputs(2, -1, 1)[1].tolist() == [-1.0, 1.0]
    g = torch.Generator().manual_seed(1)
    tables = (torch.rand(40, 128, generator=g) < 0.5).to(torch.uint8)
    packed = pack_tables(tables)
    assert packed.shape == (40, 3) and (packed >= 0).all()
    assert torch.equal(unpack_tables(packed, 128), tables)


def test_sampled_functions_equal_a_per_net_loop_with_the_same_draws():
    x = boolean_inputs(4)
    hidden, k = (5, 3), 64
    packed = sample_functions(x, hidden, k, sigma_w2=2.0, sigma_b2=0.3, activation="tanh",
                              generator=torch.Generator().manual_seed(7), block=k)
    g = torch.Generator().manual_seed(7)
    dims = [4, *hidden, 1]
    layers = [(torch.randn(k, a, b, generator=g) * math.sqrt(2.0 / a), torch.randn(k, 1, b, generator=g) * math.sqrt(0.3))
              for a, b in zip(dims[:-1], dims[1:])]
    for net in range(k):
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w[net] + b[net]
            h = torch.tanh(h) if i < len(layers) - 1 else h
        assert torch.equal(unpack_tables(packed[net:net + 1], 16)[0], (h[:, 0] > 0).to(torch.uint8))


def test_perceptron_function_frequencies_match_the_exact_probabilities():
    # f(x) = 1[w x + b > 0] on x in {0, 1}, w, b ~ N(0, 1): f = (f(0), f(1)) = (1[b > 0], 1[w + b > 0]).
    # corr(b, w + b) = 1/√2, so P(both signs equal) = 1/2 + arcsin(1/√2)/π = 3/4: (0,0) and (1,1) 3/8 each,
    # (0,1) and (1,0) 1/8 each
    n = 40_000
    packed = sample_functions(boolean_inputs(1), (), n, sigma_w2=1.0, sigma_b2=1.0,
                              generator=torch.Generator().manual_seed(11))
    tables, counts = count_functions(packed)
    assert int(counts.sum()) == n and counts.tolist() == sorted(counts.tolist(), reverse=True)
    freq = {tuple(unpack_tables(t[None], 2)[0].tolist()): int(c) / n for t, c in zip(tables, counts)}
    exact = {(0, 0): 3 / 8, (1, 1): 3 / 8, (0, 1): 1 / 8, (1, 0): 1 / 8}
    for f, p in exact.items():
        assert abs(freq[f] - p) < 4 * math.sqrt(p * (1 - p) / n), (f, freq[f], p)


def test_parameter_counts():
    assert mlp_param_count(7, [40, 40]) == 7 * 40 + 40 + 40 * 40 + 40 + 40 + 1 == 2001
    w = width_for_params(7, 1, 2001)
    assert mlp_param_count(7, [w]) == 9 * w + 1 and abs(9 * w + 1 - 2001) <= 9
