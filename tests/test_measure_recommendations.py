"""The rules behind the recommendations: the onset bracket against the band [2/3, 3/2] decided on the interval's side
(inside: pass, outside — touching an end point counts as outside —: fail, straddling: inconclusive), and the deepest
perturbative shape against the kurtosis formula."""

from whynets.kernels.finite_width import excess_kurtosis
from whynets.measure.recommendations import deepest_perturbative, onset_bracket, onset_verdict


def test_the_onset_bracket_is_decided_on_its_side_of_the_band():
    assert onset_verdict((1.0, 1.25)) == "pass" and onset_verdict((2 / 3, 0.8)) == "pass"
    assert onset_verdict((1.5, 2.0)) == "fail"  # entirely above the closed band
    assert onset_verdict((0.5, 2 / 3)) == "fail"  # touches it only at 2/3
    assert onset_verdict((None, 0.5)) == "fail" and onset_verdict((3.0, None)) == "fail"
    assert onset_verdict((0.5, 0.8)) == "inconclusive" and onset_verdict((1.25, 2.0)) == "inconclusive"
    curves = {0.5: [3, 2, 1.5, 1.2], 1.0: [3, 2, 1.9, 1.8], 1.25: [3, 2.5, 2.6, 1.0], 2.0: [3, 9, 1, 1]}
    assert onset_bracket(curves, decide_steps=3) == (1.0, 1.25)
    assert onset_bracket(curves, decide_steps=1) == (1.25, 2.0)  # only the first step: the onset shows later


def test_the_deepest_perturbative_shape_keeps_the_kurtosis_at_most_one():
    def params(depth: int, width: int) -> int:  # a 40-input, 10-output MLP
        return 40 * width + (depth - 1) * width * width + 10 * width + depth * width + 10

    depth, width = deepest_perturbative(params, "relu", 15_210)
    assert params(depth, width) >= 15_210 > params(depth, width - 1)
    assert excess_kurtosis(depth, width, "relu") <= 1.0
    deeper = depth + 1
    w = next(w for w in range(1, 4000) if params(deeper, w) >= 15_210)
    assert excess_kurtosis(deeper, w, "relu") > 1.0  # one layer deeper at the same budget leaves the range
