"""Engine: a member's result does not depend on its population; divergence is isolated; resume is exact."""

import math

import pytest
import torch

from whynets.data import Dataset, DataSpec, load
from whynets.engine import Population, TrainSpec, eval_steps, evaluate, lr_at, member_loss, population_for, train
from whynets.models import ModelSpec, build


@pytest.fixture(scope="module")
def small():
    ds = load(DataSpec(n_train=400, n_test=200))
    return ds


def _max_diff(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_member_alone_equals_member_in_population_of_64(small):
    spec = TrainSpec(steps=60, lr=3e-3, batch_size=50, eval_points=3)
    model = ModelSpec(width=32)
    pop = population_for(model, small, list(range(64)))
    init_41 = {k: v[41].detach().clone() for k, v in pop.params.items()}
    res = train(pop, small, spec)
    alone = population_for(model, small, [41])
    assert _max_diff(init_41, alone.member_params(0)) == 0.0  # same init
    res1 = train(alone, small, spec)
    # same data order and same arithmetic up to batched-vs-single matmul rounding
    assert _max_diff(pop.member_params(41), alone.member_params(0)) < 1e-5
    assert res.final["test_acc"][41] == pytest.approx(res1.final["test_acc"][0], abs=1e-9)
    # and members really differ from each other
    assert _max_diff(pop.member_params(0), pop.member_params(1)) > 1e-2


@pytest.mark.parametrize("kind", ["cnn1d", "gru", "logistic"])
def test_other_architectures_train_in_populations(small, kind):
    spec = TrainSpec(steps=8, lr=1e-2, batch_size=100, eval_points=2)
    model = ModelSpec(kind=kind, width=6 if kind == "gru" else 8)
    pop = population_for(model, small, [3, 5])
    train(pop, small, spec)
    alone = population_for(model, small, [5])
    train(alone, small, spec)
    assert _max_diff(pop.member_params(1), alone.member_params(0)) < 1e-5


def test_cnn2d_population_matches_plain_module():
    ds = load(DataSpec(name="digits", n_train=200, n_test=100))
    net = build(ModelSpec(kind="cnn2d", width=4), ds.input_shape, 10, torch.Generator().manual_seed(1))
    pop = Population([net])
    assert torch.allclose(pop(ds.x[:7])[0], net(ds.x[:7]), atol=1e-6)
    assert torch.allclose(pop.member(0)(ds.x[:7]), net(ds.x[:7]))


def test_diverging_member_is_frozen_and_others_continue(small):
    spec = TrainSpec(steps=30, lr=1e-2, batch_size=100, eval_points=2, optimizer="sgd", momentum=0.0)
    model = ModelSpec(width=16)
    pop = population_for(model, small, [0, 1, 2])
    with torch.no_grad():  # make member 1 blow up: huge weights overflow to inf
        for p in pop.params.values():
            p[1].mul_(1e30)
    frozen_before = {k: v[1].detach().clone() for k, v in pop.params.items()}
    res = train(pop, small, spec)
    assert res.diverged == [False, True, False] and res.diverged_step[1] == 0
    assert _max_diff({k: v[1] for k, v in pop.params.items()}, frozen_before) == 0.0
    ref = population_for(model, small, [0, 2])
    train(ref, small, spec)
    assert _max_diff(pop.member_params(0), ref.member_params(0)) < 1e-5
    assert _max_diff(pop.member_params(2), ref.member_params(1)) < 1e-5
    assert all(math.isfinite(a) for i, a in enumerate(res.final["train_loss"]) if i != 1)


class _Crash(Exception):
    pass


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_exact_resume_after_interruption(small, tmp_path, optimizer):
    spec = TrainSpec(steps=50, lr=5e-3, batch_size=64, eval_points=5, optimizer=optimizer, schedule="cosine",
                     fit_acc=0.5, fit_check_every=5)
    model = ModelSpec(width=16, dropout=0.1)
    straight = population_for(model, small, [0, 1])
    res_a = train(straight, small, spec)

    pop = population_for(model, small, [0, 1])
    done = {"n": 0}

    def crash_after_23(n):
        done["n"] += n
        if done["n"] == 23:
            raise _Crash()

    ckpt = tmp_path / "ck.pt"
    with pytest.raises(_Crash):
        train(pop, small, spec, checkpoint=ckpt, progress=crash_after_23, checkpoint_seconds=0.0)
    fresh = population_for(model, small, [0, 1])  # a new process would start from scratch objects
    res_b = train(fresh, small, spec, checkpoint=ckpt)
    assert _max_diff(straight.member_params(0), fresh.member_params(0)) == 0.0
    assert res_a.history == res_b.history and res_a.fit_step == res_b.fit_step


def test_stop_at_fit_freezes_member(small):
    spec = TrainSpec(steps=300, lr=1e-2, batch_size=100, eval_points=3, fit_acc=0.6, fit_check_every=10, stop_at_fit=True)
    res = train(population_for(ModelSpec(width=64), small, [0, 1]), small, spec)
    assert all(s is not None and s % 10 == 0 for s in res.fit_step)
    assert all(0.6 <= a for a in res.final["train_acc"])


def test_full_batch_gd_matches_closed_form_step():
    # one GD step on linear MSE regression: w1 = w0 - lr * grad, computed by hand
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(1))
    ds = Dataset(x, y, x, y, {"n_classes": 3})
    net = build(ModelSpec(kind="logistic"), (4,), 3, torch.Generator().manual_seed(0))
    w0, b0 = net.linear.weight.detach().clone(), net.linear.bias.detach().clone()
    pop = Population([net])
    train(pop, ds, TrainSpec(steps=1, lr=0.1, batch_size=0, optimizer="sgd", momentum=0.0, loss="mse", eval_points=2))
    target = torch.nn.functional.one_hot(y, 3).float()
    resid = x @ w0.T + b0 - target
    grad_w = 2 * resid.T @ x / 30
    assert torch.allclose(pop.member_params(0)["linear.weight"], w0 - 0.1 * grad_w, atol=1e-6)


def test_one_output_regression_at_batch_one_keeps_each_members_target():
    # (K, 1) targets of a one-output model at batch size 1 are per member, not (B, C) rows shared by all members
    logits = torch.tensor([[[1.0]], [[2.0]]])
    assert member_loss(logits, torch.tensor([[1.0], [2.0]]), "mse", 1, per_member=True).tolist() == [0.0, 0.0]
    assert member_loss(logits, torch.tensor([[1.0], [2.0]]), "mse", 1).tolist() == [0.0, 0.0]  # shape says per member
    assert member_loss(logits, torch.tensor([2.0]), "mse", 1, per_member=False).tolist() == [1.0, 0.0]
    # and in training: SGD at batch 1 on y = 3 moves each member's bias towards 3 alone
    x = torch.zeros(8, 1)
    y = torch.full((8,), 3.0)
    ds = Dataset(x, y, x, y, {"n_classes": 1, "task": "regression"})
    nets = [build(ModelSpec(kind="logistic"), (1,), 1, torch.Generator().manual_seed(s)) for s in (0, 1)]
    b0 = [n.linear.bias.item() for n in nets]
    pop = Population(nets)
    train(pop, ds, TrainSpec(steps=1, lr=0.25, batch_size=1, optimizer="sgd", momentum=0.0, loss="mse", eval_points=2))
    for k in range(2):
        assert pop.member_params(k)["linear.bias"].item() == pytest.approx(b0[k] - 0.25 * 2 * (b0[k] - 3.0), abs=1e-6)


def test_evaluation_builds_no_graph(small):
    pop = population_for(ModelSpec(width=16), small, [0, 1])
    loss, acc = evaluate(pop, small.x_test, small.y_test, "ce", small.n_classes)
    assert not loss.requires_grad and loss.grad_fn is None and acc.shape == (2,)


def test_schedules_and_eval_steps():
    assert lr_at(0, 100, 1.0, "cosine") == 1.0 and lr_at(100, 100, 1.0, "cosine") == pytest.approx(0.0)
    assert lr_at(60, 100, 1.0, "step") == pytest.approx(0.1) and lr_at(80, 100, 1.0, "step") == pytest.approx(0.01)
    assert lr_at(4, 100, 1.0, "constant", warmup=10) == pytest.approx(0.5)
    steps = eval_steps(1000, 10)
    assert steps[0] == 0 and steps[-1] == 1000 and len(steps) <= 11 and steps == sorted(set(steps))
    assert eval_steps(100, 5, every=25) == [0, 25, 50, 75, 100]


def test_population_rejects_mismatched_shapes():
    g = torch.Generator().manual_seed(0)
    a = build(ModelSpec(width=8), (40,), 10, g)
    b = build(ModelSpec(width=9), (40,), 10, g)
    with pytest.raises(ValueError, match="same parameter shapes"):
        Population([a, b])


def test_ntk_parametrization_same_function_distribution():
    # at init, standard and NTK parametrizations with the same σ_w² give outputs of the same variance
    x = torch.randn(256, 40, generator=torch.Generator().manual_seed(0))
    outs = {}
    for par in ("standard", "ntk"):
        vals = [build(ModelSpec(width=256, init="gaussian", parametrization=par, sigma_w2=2.0), (40,), 1,
                      torch.Generator().manual_seed(s))(x) for s in range(20)]
        outs[par] = torch.cat(vals).var().item()
    assert outs["standard"] == pytest.approx(outs["ntk"], rel=0.2)


def assert_matches_plain_modules(pop, x, y, per_member: bool, tol: float) -> torch.Tensor:
    """Each member of ``pop`` (eval mode) as a plain nn.Module gives the population's logits and gradients on
    (x, y) (shared, or one batch per member), within ``tol``; returns the population's logits."""
    k = pop.size
    pop.eval()
    logits = pop(x, per_member=per_member)
    loss = sum(torch.nn.functional.cross_entropy(logits[i], y[i] if per_member else y) for i in range(k))
    grads = torch.autograd.grad(loss, list(pop.params.values()))
    for i in range(k):
        plain = pop.member(i).eval()
        xi, yi = (x[i], y[i]) if per_member else (x, y)
        out = plain(xi)
        assert (out - logits[i]).abs().max().item() < tol
        g_plain = torch.autograd.grad(torch.nn.functional.cross_entropy(out, yi), list(plain.parameters()))
        for (name, _), g_pop, g in zip(plain.named_parameters(), grads, g_plain):
            assert (g_pop[i] - g).abs().max().item() < tol, name
    return logits


@pytest.mark.parametrize("model", [
    ModelSpec(width=24, depth=2),
    ModelSpec(width=16, depth=3, activation="tanh", parametrization="ntk", sigma_b2=0.1),
    ModelSpec(width=16, depth=1, dropout=0.3),  # dropout: vmap in training, the fast path in eval
    ModelSpec(kind="cnn1d", width=6),
], ids=["mlp-relu", "mlp-tanh-ntk", "mlp-dropout", "cnn1d"])
@pytest.mark.parametrize("per_member", [True, False], ids=["own-batches", "shared-batch"])
def test_stacked_fast_path_equals_each_plain_module(small, model, per_member):
    """The population's batched-matmul path (MLP, CNN1d) against each member as an ordinary nn.Module:
    same logits and same gradients, per member, with a shared batch or one batch per member."""
    pop = population_for(model, small, [3, 5, 7])
    assert pop._plan is not None  # the fast path is what is under test
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(small.y), (3, 20), generator=gen)
    x, y = (small.x[idx], small.y[idx]) if per_member else (small.x[idx[0]], small.y[idx[0]])
    logits = assert_matches_plain_modules(pop, x, y, per_member, tol=1e-5)
    with torch.no_grad():  # evaluation (in-place activations) gives the same logits
        assert (pop(x, per_member=per_member) - logits).abs().max().item() == 0.0


def test_stacked_linear_double_backward_and_vmap():
    """The fused layer is an ordinary differentiable function: second derivatives and torch.func agree with
    the plain expression h @ wᵀ + b."""
    from whynets.engine.population import _StackedLinear
    gen = torch.Generator().manual_seed(1)
    h, w, b = (torch.randn(s, generator=gen, dtype=torch.float64) for s in ((2, 4, 3), (2, 5, 3), (2, 5)))
    f_fast = lambda w: (_StackedLinear.apply(h, w, b) ** 2).sum()  # noqa: E731
    f_ref = lambda w: ((h @ w.transpose(1, 2) + b.unsqueeze(1)) ** 2).sum()  # noqa: E731
    torch.testing.assert_close(torch.func.hessian(f_fast)(w), torch.func.hessian(f_ref)(w))
    torch.testing.assert_close(torch.func.vmap(lambda t: _StackedLinear.apply(h, t, b))(w.unsqueeze(0).expand(3, -1, -1, -1)),
                               (h @ w.transpose(1, 2) + b.unsqueeze(1)).expand(3, -1, -1, -1))
