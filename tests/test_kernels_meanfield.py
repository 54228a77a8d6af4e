"""Mean-field signal propagation against closed forms (ReLU, erf, linear), the literature's tanh critical point,
Monte-Carlo wide random networks (q*, c*, χ₁ through the Jacobian) and orthogonal linear nets (exact isometry)."""

import math

import pytest
import torch

from whynets.kernels.meanfield import (activation_fn, c_star, chi_1, chi_c, chi_q, correlation_map,
                                       critical_line, critical_sigma_w2, depth_scales, jacobian_singular_values,
                                       length_map, mean_field, q_star, relu_correlation_map)


def test_tanh_critical_point_is_the_literature_value():
    # Schoenholz et al. 2017 (Deep Information Propagation), tanh at σ_b² = 0.05: the order-to-chaos transition
    # sits at σ_w² ≈ 1.76
    s = critical_sigma_w2("tanh", 0.05)
    assert s == pytest.approx(1.76, abs=0.01)
    assert chi_1("tanh", s, 0.05) == pytest.approx(1.0, abs=1e-9)
    # the critical line rises with σ_b² and starts at σ_w² = 1 for σ_b² = 0 (q* = 0, φ'(0) = 1)
    line = critical_line("tanh", [0.0, 0.05, 0.2])
    assert line[0] == pytest.approx(1.0, abs=1e-6) and line[0] < line[1] < line[2]
    # a user's callable gives the named activation's numbers (derivatives by autograd)
    assert critical_sigma_w2(lambda x: torch.tanh(x), 0.05) == pytest.approx(s, abs=1e-9)


def test_relu_closed_forms():
    # length map σ_w² q / 2 + σ_b²: q* = σ_b² / (1 − σ_w²/2); χ₁ = σ_w² E[1(z > 0)] = σ_w² / 2 for any q
    for sw2, sb2 in ((1.0, 0.1), (1.5, 0.3), (1.9, 0.02)):
        assert q_star("relu", sw2, sb2) == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-9)
        assert chi_1("relu", sw2, sb2) == pytest.approx(sw2 / 2, abs=1e-12)
        assert chi_q("relu", sw2, sb2) == pytest.approx(sw2 / 2, rel=1e-6)
        assert c_star("relu", sw2, sb2) == 1.0  # ordered: χ₁ < 1
    assert critical_sigma_w2("relu", 0.0) == pytest.approx(2.0, abs=1e-9)
    assert critical_sigma_w2("relu", 0.3) == pytest.approx(2.0, abs=1e-9)
    assert q_star("relu", 2.5, 0.1) == math.inf and q_star("relu", 1.0, 0.0) == 0.0
    assert q_star("relu", 2.0, 0.0, q0=3.0) == 3.0  # the length map is the identity: every length is kept
    # correlation map against the arc-cosine kernel: ReLU's kink along c z₁ + √(1−c²) z₂ = 0 cuts across the product
    # grid, so the quadrature converges only like 1/nodes (measured: 2.1e-3 at 80 nodes, c ≈ 0; the closed form is
    # what to use for ReLU)
    c = torch.linspace(-0.9, 0.99, 12, dtype=torch.float64)
    q = q_star("relu", 1.5, 0.3)
    exact = relu_correlation_map(c, 1.5, 0.3, q)
    assert torch.allclose(correlation_map(c, "relu", 1.5, 0.3, q=q, nodes=80), exact, atol=3e-3)
    assert float(relu_correlation_map(1.0, 1.5, 0.3, q)) == pytest.approx(1.0, abs=1e-12)


def test_erf_closed_forms_hold_to_quadrature_precision():
    # E[erf(u₁) erf(u₂)] = (2/π) arcsin(2 q c / (1 + 2 q)) (Williams 1997): exact for the smooth activation
    sw2, sb2 = 2.0, 0.1
    q = torch.tensor([0.01, 0.3, 1.0, 5.0], dtype=torch.float64)
    exact_len = sw2 * 2 / math.pi * torch.asin(2 * q / (1 + 2 * q)) + sb2
    assert torch.allclose(length_map(q, "erf", sw2, sb2), exact_len, atol=1e-12)
    qs = q_star("erf", sw2, sb2)
    assert float(length_map(qs, "erf", sw2, sb2)) == pytest.approx(qs, abs=1e-12)
    c = torch.linspace(-1, 1, 9, dtype=torch.float64)
    exact = (sw2 * 2 / math.pi * torch.asin(2 * qs * c / (1 + 2 * qs)) + sb2) / qs
    assert torch.allclose(correlation_map(c, "erf", sw2, sb2), exact, atol=1e-9)


def test_linear_network():
    assert q_star("linear", 0.5, 0.2) == pytest.approx(0.2 / (1 - 0.5), rel=1e-9)
    assert chi_1("linear", 0.5, 0.2) == pytest.approx(0.5, abs=1e-12)
    assert critical_sigma_w2("linear", 0.2) == pytest.approx(1.0, abs=1e-9)


def test_depth_scales_diverge_at_criticality_only():
    s = critical_sigma_w2("tanh", 0.05)
    for sw2 in (1.0, 1.3):  # ordered: c* = 1, χ_c = χ₁, ξ_c = −1/ln χ₁
        m = mean_field("tanh", sw2, 0.05)
        assert m.c_star == 1.0 and m.chi_c == pytest.approx(m.chi_1, abs=1e-9)
        assert m.xi_c == pytest.approx(-1 / math.log(m.chi_1), rel=1e-6)
    chaotic = mean_field("tanh", 3.0, 0.05)
    assert chaotic.c_star < 0.5 and chaotic.chi_1 > 1 > chaotic.chi_c and 1 < chaotic.xi_c < 30
    assert depth_scales("tanh", s * (1 + 1e-6), 0.05)[1] > 1e4  # ξ_c → ∞ at the transition
    assert mean_field("tanh", 1.3, 0.05).xi_c < mean_field("tanh", 1.6, 0.05).xi_c < depth_scales("tanh", 1.75, 0.05)[1]
    # χ_q by Stein's lemma equals the length map's slope at q*
    qs, h = q_star("tanh", 2.0, 0.05), 1e-5
    slope = (float(length_map(qs + h, "tanh", 2.0, 0.05)) - float(length_map(qs - h, "tanh", 2.0, 0.05))) / (2 * h)
    assert chi_q("tanh", 2.0, 0.05) == pytest.approx(slope, rel=1e-6)


def _wide_net_average(sw2, sb2, width, depth, pairs, seed, c0):
    """q and c of a random tanh net, averaged over input pairs (q0 = 2, correlation c0) and over the last third of
    its layers (the fixed point reached; finite-width fluctuations decorrelate from layer to layer)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2 * pairs, width, generator=g, dtype=torch.float64)
    h = torch.cat([z[:pairs], c0 * z[:pairs] + math.sqrt(1 - c0 ** 2) * z[pairs:]]) * math.sqrt(2.0)
    qs, cs = [], []
    for layer in range(depth):
        w = torch.randn(width, width, generator=g, dtype=torch.float64) * math.sqrt(sw2 / width)
        b = torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(sb2)
        h = (torch.tanh(h) if layer else h) @ w.T + b
        if layer >= 2 * depth // 3:
            qs.append(float((h ** 2).mean()))
            cs.append(float(((h[:pairs] * h[pairs:]).sum(1) / (h[:pairs].norm(dim=1) * h[pairs:].norm(dim=1))).mean()))
    return sum(qs) / len(qs), sum(cs) / len(cs)


@pytest.mark.parametrize("sw2, c0", [(1.3, 0.9), (2.5, 0.6)])
def test_q_star_and_c_star_against_wide_random_networks(sw2, c0):
    # ordered (1.3): c → 1 as 1 − c ∝ χ₁^l = 0.88^l, so the pairs start close (c0 = 0.9): 1 − c ≈ 0.02 at layers 14-21
    sb2, width, depth, pairs, nets = 0.05, 800, 21, 16, 4
    qs, cs = q_star("tanh", sw2, sb2), c_star("tanh", sw2, sb2)
    runs = [_wide_net_average(sw2, sb2, width, depth, pairs, seed, c0) for seed in range(nets)]
    # a net's q is a mean over `width` units: relative scatter ~ √(2/width) = 5% per net (measured 5% over 8 nets,
    # unbiased); 4 nets: 2.5%, so 8% is 3 standard errors. c: ~0.01 per net, plus the ordered approach's 0.02
    assert sum(q for q, _ in runs) / nets == pytest.approx(qs, rel=0.08)
    assert sum(c for _, c in runs) / nets == pytest.approx(cs, abs=0.03)
    if sw2 == 1.3:
        assert cs == 1.0
    else:
        assert 0.3 < cs < 0.8


def test_chi_1_is_the_mean_squared_singular_value_of_a_wide_net_jacobian():
    for act, sw2, sb2 in (("tanh", 2.3, 0.05), ("tanh", 1.2, 0.05), ("relu", 1.5, 0.1)):
        depth = 4
        s = jacobian_singular_values(act, sw2, sb2, depth, width=400, samples=3, generator=torch.Generator().manual_seed(1))
        assert float((s ** 2).mean()) == pytest.approx(chi_1(act, sw2, sb2) ** depth, rel=0.08), act


def test_orthogonal_linear_nets_are_exact_isometries_and_gaussian_ones_are_not():
    s = jacobian_singular_values("linear", 1.0, 0.0, depth=16, width=64, weights="orthogonal",
                                 generator=torch.Generator().manual_seed(0))
    assert torch.allclose(s, torch.ones_like(s), atol=1e-10)
    s = jacobian_singular_values("linear", 1.0, 0.0, depth=16, width=64, weights="gaussian",
                                 generator=torch.Generator().manual_seed(0))
    assert float(s.log().std()) > 1.0  # products of Gaussian matrices spread their singular values
    with pytest.raises(ValueError):
        jacobian_singular_values("tanh", 1.0, 0.0, depth=2, width=8, weights="uniform")


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown activation"):
        activation_fn("swishy")
    with pytest.raises(ValueError, match="σ_w²"):
        q_star("tanh", -1.0, 0.05)
    with pytest.raises(ValueError, match="bracket"):
        critical_sigma_w2("tanh", 0.05, bracket=(3.0, 5.0))
    assert chi_c("tanh", 3.0, 0.05) < 1
