"""The engine on modules whynets did not build: what vmap cannot batch trains member by member (detected once, with
the reason), and BatchNorm statistics are recomputed for the current weights before every measurement."""

from __future__ import annotations

import torch
import torch.nn as nn

import zoo
from whynets.data import Dataset
from whynets.engine import Population, TrainSpec, evaluate, population_for, per_example_outcomes, train
from whynets.models import ModelSpec


def _dataset(kind: str, n_train: int = 120, n_test: int = 60) -> Dataset:
    d = zoo.make_data(kind, n_train, n_test)
    y = torch.tensor(d["y"])
    n_classes = (1 if y.dim() == 1 else y.shape[1]) if y.is_floating_point() else int(y.max()) + 1
    return Dataset(torch.tensor(d["x"]), y, torch.tensor(d["x_test"]), torch.tensor(d["y_test"]),
                   {"name": kind, "n_classes": n_classes})


def _factory(name: str) -> ModelSpec:
    return ModelSpec(kind="factory", factory=f"{zoo.__file__}:{name}")


def test_a_gru_population_falls_back_to_member_by_member_and_equals_members_trained_alone():
    ds = _dataset("sequence")
    spec = TrainSpec(steps=12, batch_size=30, eval_points=2, lr=3e-3)
    pop = population_for(_factory("gru"), ds, [0, 1])
    together = train(pop, ds, spec)
    assert pop.mode == "loop" and "gru" in pop.vmap_error.lower()
    alone = train(population_for(_factory("gru"), ds, [1]), ds, spec)
    assert abs(together.final["test_loss"][1] - alone.final["test_loss"][0]) < 1e-5
    assert together.final["train_loss"][0] < together.history[0]["train_loss"][0]  # it learns


class DataDependent(nn.Module):
    """Python control flow on a tensor's value: vmap cannot trace it."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 3)

    def forward(self, x):
        h = self.a(x)
        return h if float(h.detach().sum()) > 0 else self.b(x)


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(5, 3)  # the data have 4 features

    def forward(self, x):
        return self.a(x)


def test_data_dependent_control_flow_falls_back_and_a_broken_model_raises_its_own_error():
    x = torch.randn(6, 4)
    pop = Population([DataDependent() for _ in range(2)])
    out = pop(x)
    assert out.shape == (2, 6, 3) and pop.mode == "loop" and pop.vmap_error
    members = [pop.member(k).eval() for k in range(2)]
    assert torch.allclose(out, torch.stack([m(x) for m in members]), atol=1e-6)
    broken = Population([Broken() for _ in range(2)])
    try:
        broken(x)
    except RuntimeError as err:
        assert "shapes cannot be multiplied" in str(err)  # the model's own error, not vmap's
    else:
        raise AssertionError("a model that cannot run must raise")


def test_recalibrated_batchnorm_statistics_equal_the_data_statistics_of_the_current_weights():
    ds = _dataset("digits")
    pop = population_for(_factory("cnn_bn"), ds, [0])
    module = pop.member(0)
    captured = {}
    bn = module.features[1]
    bn.register_forward_hook(lambda m, inp, out: captured.setdefault("pre", inp[0].detach()))
    module.train()
    with torch.no_grad():
        module(ds.x)
    pre = captured["pre"]
    assert pop.recalibrate_norm(ds.x, chunk=len(ds.x))
    assert torch.allclose(pop.buffers["features.1.running_mean"][0], pre.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(pop.buffers["features.1.running_var"][0], pre.var((0, 2, 3), unbiased=True), rtol=1e-4)
    assert int(pop.buffers["features.1.num_batches_tracked"][0]) == 1


def test_pruning_whole_batchnorm_channels_measures_the_pruned_net_with_its_own_statistics():
    """Masks that kill whole channels: the running variance of a dead channel would collapse during training;
    the engine measures every member with statistics recomputed for its weights, so the score it reports equals the
    score of the final weights with freshly computed statistics (and is not wrecked by the dead channels)."""
    ds = _dataset("digits", 300, 150)
    pop = population_for(_factory("cnn_bn"), ds, [0, 1])
    masks = {}
    for name, p in pop.params.items():
        if name in ("features.0.weight", "features.3.weight"):
            m = torch.ones_like(p, dtype=torch.bool)
            m[:, : p.shape[1] // 2] = False  # (K, out, in, kh, kw): half of each conv's output channels die
            masks[name] = m
    result = train(pop, ds, TrainSpec(steps=80, batch_size=50, eval_points=3, lr=1e-2), masks=masks)
    assert (pop.params["features.0.weight"][:, :4] == 0).all()
    fresh = Population([pop.member(k) for k in range(2)])
    fresh.recalibrate_norm(ds.x)
    _, acc = evaluate(fresh, ds.x_test, ds.y_test, "ce", ds.n_classes)
    assert torch.allclose(torch.tensor(result.final["test_acc"]), acc, atol=1e-6)
    assert min(result.final["test_acc"]) > 0.3  # a 10-class task: well above chance (0.1) with half the channels
    # a dead channel's output is its constant bias: variance exactly 0, its normalized output exactly 0 (no mismatch
    # left to amplify)
    assert float(pop.buffers["features.1.running_var"][:, :4].abs().max()) < 1e-10
    wrong = per_example_outcomes(fresh, ds.x_test, ds.y_test)
    assert torch.allclose(torch.tensor([1 - len(w) / len(ds.y_test) for w in wrong], dtype=torch.float64), acc.double(), atol=1e-6)
