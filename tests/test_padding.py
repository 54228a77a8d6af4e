"""Padding: a narrow MLP inside a wider one is the same model, at init and after training."""

import itertools

import pytest
import torch

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, mix_seed, population_for, train
from whynets.measure.norms import path_norm
from whynets.models import ModelSpec, build
from whynets.engine import padded_population, width_buckets
from whynets.models.padding import hidden_widths, pad_mlp, padding_residual, unpad_mlp


@pytest.fixture(scope="module")
def small():
    return load(DataSpec(n_train=300, n_test=200, label_noise=0.15))


def _net(width, depth=2, act="relu", seed=0, **kw):
    return build(ModelSpec(width=width, depth=depth, activation=act, **kw), (40,), 10, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("depth,act", [(1, "relu"), (2, "relu"), (3, "tanh"), (2, "gelu")])
def test_padded_mlp_computes_the_same_function(depth, act):
    net = _net(7, depth, act)
    wide = pad_mlp(net, 33)
    assert hidden_widths(wide) == [33] * depth
    x = torch.randn(16, 40, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(wide(x), net(x), atol=1e-6)
    assert padding_residual(wide, 7) == 0.0
    back = unpad_mlp(wide, 7)
    assert all(torch.equal(a, b) for a, b in zip(back.parameters(), net.parameters()))
    # a norm of the function's paths does not see the zero units
    assert path_norm(wide) == pytest.approx(path_norm(net), rel=1e-12)


def test_member_init_is_the_unpadded_build_and_ignores_neighbours():
    model = ModelSpec(width=1)  # width is taken from the list
    pop = padded_population(model, [3, 12, 5], (40,), 10, seeds=4)
    alone = padded_population(model, [5], (40,), 10, seeds=4)
    for k, w in enumerate([3, 12, 5]):
        ref = build(ModelSpec(width=w), (40,), 10, torch.Generator().manual_seed(mix_seed(4, "init")))
        got = unpad_mlp(pop.member(k), w)
        assert all(torch.equal(a, b) for a, b in zip(got.parameters(), ref.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(unpad_mlp(pop.member(2), 5).parameters(),
                                                  unpad_mlp(alone.member(0), 5).parameters()))


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-2), ("sgd", 5e-2)])
def test_padded_member_trains_like_the_unpadded_net_and_padding_stays_zero(small, optimizer, lr):
    widths = [3, 9, 24]
    spec = TrainSpec(optimizer=optimizer, lr=lr, momentum=0.9, steps=50, batch_size=50, eval_points=3)
    pop = padded_population(ModelSpec(), widths, small.input_shape, small.n_classes, seeds=2)
    res = train(pop, small, spec)
    for k, w in enumerate(widths):
        # exactly zero, not merely small: zero gradient in, zero update out
        assert padding_residual(pop.member(k), w) == 0.0
        alone = population_for(ModelSpec(width=w), small, [2])  # the same seed: same init, same data order
        res1 = train(alone, small, spec)
        trained = unpad_mlp(pop.member(k), w)
        diff = max((a - b).abs().max().item() for a, b in zip(trained.parameters(), alone.member(0).parameters()))
        assert diff < 1e-5  # only matmul rounding differs
        assert res.final["train_loss"][k] == pytest.approx(res1.final["train_loss"][0], rel=1e-5)


def test_padding_refuses_what_it_cannot_embed():
    with pytest.raises(ValueError, match="act\\(0\\)"):
        pad_mlp(_net(4, act="sigmoid"), 8)
    with pytest.raises(ValueError, match="parametrization"):
        pad_mlp(_net(4, init="gaussian", parametrization="ntk"), 8)
    with pytest.raises(ValueError, match="cannot pad"):
        pad_mlp(_net(9), 8)
    with pytest.raises(ValueError, match="kind"):
        padded_population(ModelSpec(kind="cnn1d"), [2, 4], (40,), 10, seeds=0)


def test_width_buckets_is_the_cheapest_contiguous_split():
    widths = [2, 4, 5, 8, 11, 17, 24, 35, 50, 71, 102, 146, 209, 300]
    for n_buckets in (1, 2, 3, 4):
        groups = width_buckets(widths, n_buckets)
        assert [w for g in groups for w in g] == widths and len(groups) <= n_buckets
        cost = sum(len(g) * max(g) ** 2 for g in groups)
        brute = min(sum(len(widths[a:b]) * widths[b - 1] ** 2 for a, b in zip((0,) + cuts, cuts + (len(widths),)))
                    for k in range(n_buckets) for cuts in itertools.combinations(range(1, len(widths)), k))
        assert cost == brute
    assert width_buckets(widths, 1) == [widths]
