"""Oracle tests for whynets.measure.pruning.

Counts are exact integers (round((1 − s)·n), halves up). Which weights survive is checked against the
definition (every kept |w| ≥ every pruned |w|; ties to the lower index). Global pruning of two Gaussian
layers is checked against the threshold the normal CDF predicts, with a tolerance of ~6 binomial
standard deviations; random masks' uniformity against the hypergeometric keep probability.
"""

import math

import pytest
import torch
from scipy import optimize, stats
from torch import nn
from torch.func import stack_module_state

from whynets.measure.pruning import (
    apply_masks,
    iterative_schedule,
    layer_rates,
    magnitude_masks,
    mask_stats,
    prunable,
    random_masks,
    rounds_for_sparsity,
    sparsity_for_rounds,
)


def _net(seed):
    torch.manual_seed(seed)  # module init only; the functions under test take explicit generators
    return nn.Sequential(nn.Conv1d(1, 3, 5), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16, 10), nn.LayerNorm(10),
                         nn.Linear(10, 4))


def _params(seed):
    return {n: p.detach().clone() for n, p in _net(seed).named_parameters()}


def _check_magnitude_order(w, m):
    """Every kept |w| ≥ every pruned |w| (the definition of magnitude pruning)."""
    kept, pruned = w.abs()[m], w.abs()[~m]
    assert len(kept) == 0 or len(pruned) == 0 or kept.min() >= pruned.max()


def test_prunable_selects_conv_and_linear_weights_only():
    params = _params(0)
    assert prunable(params) == ["0.weight", "3.weight", "5.weight"]  # LayerNorm's weight and all biases are 1-D
    assert prunable({n: p.shape for n, p in params.items()}, exclude=["5.weight"]) == ["0.weight", "3.weight"]
    stacked, _ = stack_module_state([_net(0), _net(1)])
    assert prunable(stacked, stacked=True) == ["0.weight", "3.weight", "5.weight"]  # (K, o) biases are not weights
    assert layer_rates(prunable(params), 0.2) == {"0.weight": 0.2, "3.weight": 0.2, "5.weight": 0.1}


@pytest.mark.parametrize("sparsity", [0.0, 0.2, 0.5, 0.73, 0.99])
def test_layerwise_keeps_exact_fraction_of_each_layer_by_magnitude(sparsity):
    params = _params(1)
    masks = magnitude_masks(params, sparsity)
    for n, m in masks.items():
        assert int(m.sum()) == math.floor((1 - sparsity) * m.numel() + 0.5)
        _check_magnitude_order(params[n], m)


def test_ties_are_broken_by_lower_index():
    w = torch.ones(4, 5)  # all tied: keep round(0.7 · 20) = 14, the first 14 in flat order
    m = magnitude_masks({"w": w}, 0.3)["w"]
    assert m.flatten().tolist() == [True] * 14 + [False] * 6
    w = torch.tensor([[2.0, 1.0, 2.0, -2.0], [0.5, 2.0, 1.0, 3.0]])  # keep 4: 3.0, then the first three 2.0s
    assert magnitude_masks({"w": w}, 0.5)["w"].tolist() == [[True, False, True, True], [False, False, False, True]]
    # global: ties across layers go to the earlier layer
    g = magnitude_masks({"a": torch.ones(2, 3), "b": torch.ones(3, 2)}, 0.5, scope="global")
    assert int(g["a"].sum()) == 6 and int(g["b"].sum()) == 0


def test_global_keeps_exact_overall_fraction_and_prunes_small_layers_more():
    gen = torch.Generator().manual_seed(2)
    n, s_small = 10_000, 0.1
    params = {"big": torch.randn(100, n // 100, generator=gen),
              "small": s_small * torch.randn(100, n // 100, generator=gen)}
    masks = magnitude_masks(params, 0.5, scope="global")
    assert int(masks["big"].sum() + masks["small"].sum()) == n  # round(0.5 · 2n)
    _check_magnitude_order(torch.cat([params["big"].flatten(), params["small"].flatten()]),
                           torch.cat([masks["big"].flatten(), masks["small"].flatten()]))
    # population threshold t: P(|N(0,1)| > t) + P(|N(0, 0.1²)| > t) = 2 · 0.5
    t = optimize.brentq(lambda t: 2 * stats.norm.sf(t) + 2 * stats.norm.sf(t / s_small) - 1.0, 1e-6, 10)
    expect_small = 2 * stats.norm.sf(t / s_small)
    tol = 6 * math.sqrt(0.25 / n) + 0.01  # binomial sd of a kept fraction, plus the sampled threshold's wobble
    assert float(masks["small"].float().mean()) == pytest.approx(expect_small, abs=tol)
    assert float(masks["small"].float().mean()) < 0.2 < 0.8 < float(masks["big"].float().mean())  # predicted 0.12, 0.88


def test_iterative_rounds_are_nested_and_follow_the_schedule():
    assert iterative_schedule(3, 0.2) == pytest.approx([0.2, 0.36, 0.488], rel=1e-12)
    assert sparsity_for_rounds(3, 0.2) == pytest.approx(0.488, rel=1e-12)
    assert rounds_for_sparsity(0.488, 0.2) == 3 and rounds_for_sparsity(0.5, 0.2) == 4
    gen = torch.Generator().manual_seed(3)
    params = _params(3)
    names = prunable(params)
    schedule = iterative_schedule(5, layer_rates(names, 0.2))
    assert schedule[1]["5.weight"] == pytest.approx(1 - 0.9 ** 2, rel=1e-12)
    masks = None
    for per_layer in schedule:
        # retraining moves the weights; pruned positions get the LARGEST values, and must stay pruned
        trained = {n: p + 0.1 * torch.randn(p.shape, generator=gen) for n, p in params.items()}
        if masks is not None:
            for n, m in masks.items():
                trained[n] = torch.where(m, trained[n], torch.full_like(trained[n], 100.0))
        new = magnitude_masks(trained, 0.0, rates=per_layer, previous=masks)
        for n in names:
            assert int(new[n].sum()) == math.floor((1 - per_layer[n]) * new[n].numel() + 0.5)
            if masks is not None:
                assert not (new[n] & ~masks[n]).any()  # nested: nothing revived
                w = trained[n].clone()
                w[~masks[n]] = 0.0  # among the survivors of the last round, magnitude order holds
                _check_magnitude_order(w[masks[n]], new[n][masks[n]])
        masks = new
    with pytest.raises(ValueError, match="must not decrease"):
        magnitude_masks(params, 0.1, previous=masks)


def test_stacked_masks_are_per_member():
    modules = [_net(s) for s in (4, 5, 6)]
    stacked, _ = stack_module_state(modules)
    for scope in ("layerwise", "global"):
        masks = magnitude_masks(stacked, 0.6, scope=scope, stacked=True)
        for k, mod in enumerate(modules):
            alone = magnitude_masks({n: p.detach() for n, p in mod.named_parameters()}, 0.6, scope=scope)
            for n in alone:
                assert torch.equal(masks[n][k], alone[n])
    stats_ = mask_stats(masks, stacked=True)
    total = sum(stats_["size"].values())
    assert stats_["overall"] == pytest.approx([math.floor(0.4 * total + 0.5) / total] * 3, rel=1e-12)


def test_random_masks_match_counts_and_are_uniform():
    stacked, _ = stack_module_state([_net(7), _net(8)])
    like = magnitude_masks(stacked, 0.6, scope="global", stacked=True)  # per-member, per-layer counts differ
    rnd = random_masks(like, torch.Generator().manual_seed(0), stacked=True)
    for n in like:
        assert torch.equal(like[n].flatten(1).sum(1), rnd[n].flatten(1).sum(1))
    assert all(torch.equal(a, b) for a, b in zip(random_masks(like, 0, stacked=True).values(), rnd.values()))
    # each position is kept with probability keep/n = 5/20; 400 draws: sd √(.25·.75/400) ≈ 0.022, allow 5 sd
    one = {"w": torch.tensor([True] * 5 + [False] * 15)}
    gen = torch.Generator().manual_seed(1)
    freq = torch.stack([random_masks(one, gen)["w"] for _ in range(400)]).float().mean(0)
    assert (freq - 0.25).abs().max() < 5 * math.sqrt(0.25 * 0.75 / 400)


def test_apply_masks_zeroes_in_place_and_stats():
    model = _net(9)
    params = dict(model.named_parameters())
    masks = magnitude_masks(params, 0.5)
    x = torch.randn(2, 1, 20, generator=torch.Generator().manual_seed(0))
    apply_masks(params, masks)
    assert params["3.weight"].requires_grad and (model[3].weight == 0).sum() >= masks["3.weight"].numel() // 2
    assert torch.equal(model[3].weight != 0, masks["3.weight"] & (model[3].weight != 0))
    model(x).sum().backward()  # still a trainable leaf after the in-place no_grad update
    st = mask_stats(masks)
    assert st["kept"] == {"0.weight": 8, "3.weight": 240, "5.weight": 20}  # round(0.5·15), 480/2, 40/2 (8 = 7.5 up)
    assert st["sparsity"] == pytest.approx(1 - 268 / 535, rel=1e-12)
    with pytest.raises(ValueError, match="shape"):
        apply_masks(params, {"3.weight": torch.ones(3, 3, dtype=torch.bool)})
