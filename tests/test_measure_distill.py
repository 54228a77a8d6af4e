"""Oracle tests for whynets.measure.distill.

Losses are checked in float64 against closed forms (the KL gradient T·(softmax(s/T) − softmax(t/T))/B,
torch's kl_div as a reference, ½‖s − t‖² per example) at 1e-12 relative: a few dozen exp/log
operations. The large-T limit has an O(1/T) remainder. Transfer sets: mixup points are located on
their segments by brute force (distance ≈ 0 at float64 round-off); λ is tested against Beta(α, α) by
Kolmogorov-Smirnov, the noise against N(0, σ²·std²) by its second moment (5 standard errors).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from whynets.measure.distill import distillation_loss, transfer_set


def _logits(*shape, seed=0):
    return 2.0 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("kind", ["kl", "logit_mse"])
def test_zero_iff_student_equals_teacher(kind):
    t = _logits(8, 5)
    T = 3.0 if kind == "kl" else 1.0
    assert float(distillation_loss(t.clone(), t, T, kind)) == pytest.approx(0.0, abs=1e-14)
    assert float(distillation_loss(_logits(8, 5, seed=1), t, T, kind)) > 1e-3
    shifted = t + torch.arange(8, dtype=torch.float64)[:, None]  # per-row shift: same softmax, other logits
    assert (float(distillation_loss(shifted, t, T, kind)) < 1e-12) == (kind == "kl")


@pytest.mark.parametrize("T", [1.0, 2.5, 10.0])
def test_kl_gradient_equals_closed_form(T):
    s, t = _logits(6, 4).requires_grad_(True), _logits(6, 4, seed=1)
    distillation_loss(s, t, T).backward()
    expected = T * (torch.softmax(s.detach() / T, -1) - torch.softmax(t / T, -1)) / 6
    assert torch.allclose(s.grad, expected, rtol=1e-12, atol=1e-15)


def test_t_squared_scaling_against_torch_kl_div_and_high_t_limit():
    s, t = _logits(10, 7), _logits(10, 7, seed=1)
    for T in (1.0, 4.0):
        ref = F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), reduction="batchmean", log_target=True)
        assert float(distillation_loss(s, t, T)) == pytest.approx(T ** 2 * float(ref), rel=1e-12)
    # Hinton et al. §2.1: for T ≫ |logits|, T²·KL → (1/(2C))·‖(s − s̄) − (t − t̄)‖², remainder O(1/T)
    d = (s - s.mean(-1, keepdim=True)) - (t - t.mean(-1, keepdim=True))
    limit = float((d.pow(2).sum(-1) / (2 * 7)).mean())
    errs = [abs(float(distillation_loss(s, t, T)) - limit) / limit for T in (100.0, 1000.0)]
    assert errs[1] < 1e-2 and errs[1] < errs[0] / 5  # ~10× smaller for 10× the temperature


def test_logit_mse_is_half_squared_error_per_example():
    s, t = _logits(9, 3), _logits(9, 3, seed=1)
    assert float(distillation_loss(s, t, kind="logit_mse")) == pytest.approx(
        0.5 * float(F.mse_loss(s, t, reduction="sum")) / 9, rel=1e-12)
    with pytest.raises(ValueError, match="no temperature"):
        distillation_loss(s, t, 2.0, kind="logit_mse")


@pytest.mark.parametrize("kind", ["kl", "logit_mse"])
def test_population_logits_give_per_member_means(kind):
    s, t = _logits(4, 6, 5), _logits(4, 6, 5, seed=1)
    T = 2.0 if kind == "kl" else 1.0
    per = distillation_loss(s, t, T, kind)
    loop = torch.stack([distillation_loss(s[k], t[k], T, kind) for k in range(4)])
    assert per.shape == (4,) and torch.allclose(per, loop, rtol=1e-12, atol=0)
    shared = distillation_loss(s, t[0], T, kind)  # one teacher, K students
    assert torch.allclose(shared, torch.stack([distillation_loss(s[k], t[0], T, kind) for k in range(4)]), rtol=1e-12)
    with pytest.raises(ValueError, match="must match"):
        distillation_loss(s, t[:, :3], T, kind)


def _segment_fit(p, x):
    """For each point, the smallest distance to a segment [x_i, x_j] over all pairs, and that segment's λ."""
    xi, xj = x[:, None, :], x[None, :, :]
    v = xi - xj  # p ≈ λ x_i + (1 − λ) x_j  ⇔  p − x_j ≈ λ (x_i − x_j)
    best_d, best_l = [], []
    for q in p:
        lam = (((q - xj) * v).sum(-1) / v.pow(2).sum(-1).clamp_min(1e-300)).clamp(0, 1)
        dist = (q - (xj + lam[..., None] * v)).norm(dim=-1)
        dist.fill_diagonal_(float("inf"))
        k = int(dist.argmin())
        best_d.append(float(dist.flatten()[k]))
        best_l.append(float(lam.flatten()[k]))
    return torch.tensor(best_d, dtype=torch.float64), torch.tensor(best_l, dtype=torch.float64)


def test_transfer_set_size_determinism_and_layout():
    x = _logits(20, 3, 2)  # any float inputs; (n, 3, 2) checks that feature axes are kept
    a = transfer_set(x, 75, torch.Generator().manual_seed(0), kind="both")
    assert a.shape == (75, 3, 2) and torch.equal(a[:20], x)
    assert torch.equal(a, transfer_set(x, 75, 0, kind="both"))
    assert not torch.equal(a, transfer_set(x, 75, 1, kind="both"))
    d, _ = _segment_fit(a[20:].flatten(1), x.flatten(1))
    # "both": 55 new points, 28 mixup (on segments) then 27 noisy copies (off every segment, almost surely)
    assert (d[:28] < 1e-12).all() and (d[28:] > 1e-6).all()
    with pytest.raises(ValueError, match="n must be >= 20"):
        transfer_set(x, 10, 0)


def test_mixup_points_lie_on_segments_with_beta_lambda():
    x = _logits(15, 4, seed=3)
    alpha = 0.4
    p = transfer_set(x, 15 + 400, torch.Generator().manual_seed(4), kind="mixup", alpha=alpha)[15:]
    d, lam = _segment_fit(p, x)
    assert float(d.max()) < 1e-12  # float64 round-off of λx_i + (1 − λ)x_j
    # the pair is found unordered (λ on x_i or 1 − λ on x_j fit equally well), so test the folded
    # min(λ, 1 − λ); Beta(α, α) is symmetric: P(min ≤ u) = 2·F_Beta(u) on [0, ½]
    folded = torch.minimum(lam, 1 - lam).double().numpy()
    assert stats.kstest(folded, lambda u: 2 * stats.beta(alpha, alpha).cdf(u)).pvalue > 1e-3


def test_noise_copies_have_per_feature_scaled_gaussian_noise():
    gen = torch.Generator().manual_seed(5)
    scale = torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64)
    x = torch.randn(40, 3, generator=gen, dtype=torch.float64) * scale
    sigma = 1e-3  # ≪ the spacing of the training points, so the source of each copy is its nearest neighbour
    p = transfer_set(x, 40 + 2000, torch.Generator().manual_seed(6), kind="noise", noise_std=sigma)[40:]
    std = x.std(0)
    src = torch.cdist(p / std, x / std).argmin(1)
    z = (p - x[src]) / (sigma * std)
    # E z² = 1 per coordinate; sd of the mean of N = 6000 squared normals is √(2/N)
    assert float(z.pow(2).mean()) == pytest.approx(1.0, abs=5 * math.sqrt(2 / z.numel()))
