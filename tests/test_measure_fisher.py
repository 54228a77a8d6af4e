"""Oracle tests for GGN products and Fisher traces.

Oracles: the GGN built from the exact Jacobian (``torch.func.jacrev``) and the exact Hessian of the
loss in the outputs; the Fisher built from its definition (per-example score outer products summed
over every class, weighted by the model's probabilities). For softmax cross-entropy the two are the
same matrix (Martens 2014, §9.2), which the tests check entry by entry at float64 round-off (1e-12).
Sampled estimates are checked at 4 standard errors.
"""

import math

import pytest
import torch
from torch import nn

from whynets.measure.fisher import fisher_trace, ggn_operator, ggn_vector_product, per_example_gradients
from whynets.measure.hvp import ModelLoss
from whynets.measure.trace import hutchinson_trace

CE = nn.functional.cross_entropy
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def tiny_problem(seed=0, hidden=True):
    """A 6-12-4 tanh MLP (136 parameters), or a 6-4 linear model, on 40 examples in two batches."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # nn.Linear's init reads the global RNG; the instruments never do
    model = (nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 4)) if hidden else nn.Linear(6, 4)).double()
    x = torch.randn(40, 6, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, 4, (40,), generator=g)
    return model, [(x[:15], y[:15]), (x[15:], y[15:])]


def exact_ggn(model, loss_fn, batches):
    """Σ_b w_b J_bᵀ H_b J_b from full Jacobians and output Hessians."""
    ml = ModelLoss(model, loss_fn, batches)
    G = 0
    for b, (_, y, w) in enumerate(ml.batches):
        J = torch.func.jacrev(lambda t: ml.outputs(t, b))(ml.theta).reshape(-1, ml.size)  # (B·C, n)
        out = ml.outputs(ml.theta, b)
        Hz = torch.func.hessian(lambda z: loss_fn(z.reshape(out.shape), y))(out.reshape(-1))
        G = G + w * J.T @ Hz @ J
    return G


def exact_fisher(model, batches):
    """(1/N) Σ_i Σ_c p_ic ∇log p(c|x_i) ∇log p(c|x_i)ᵀ, from per-example gradients at every label c."""
    x = torch.cat([b[0] for b in batches])
    with torch.no_grad():
        probs = model(x).softmax(1)
    F = 0
    for c in range(probs.shape[1]):
        g = per_example_gradients(model, CE, [(x, torch.full((len(x),), c))])  # ∇(−log p(c|x_i))
        F = F + (probs[:, c, None] * g).T @ g
    return F / len(x)


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_ggn_vector_product_matches_jacobian_oracle(loss):
    model, batches = tiny_problem()
    if loss == "mse":
        batches = [(x, nn.functional.one_hot(y, 4).double()) for x, y in batches]
        loss_fn = nn.functional.mse_loss
    else:
        loss_fn = CE
    G = exact_ggn(model, loss_fn, batches)
    V = torch.randn(5, G.shape[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(ggn_vector_product(model, loss_fn, batches, V), V @ G, atol=1e-12, rtol=0)
    assert torch.linalg.eigvalsh(G).min() > -1e-12  # a convex loss in the outputs gives a PSD GGN


def test_ggn_equals_hessian_for_linear_model():
    # no hidden layer: the outputs are linear in θ, so the Hessian's second term vanishes and H = G
    model, batches = tiny_problem(hidden=False)
    ml = ModelLoss(model, CE, batches)
    H = torch.func.hessian(lambda t: sum(ml.batch_loss(t, b) for b in range(2)))(ml.theta)
    op = ggn_operator(model, CE, batches)
    assert torch.allclose(op.matmat(torch.eye(ml.size, dtype=torch.float64)), H, atol=1e-12, rtol=0)


def test_true_fisher_equals_ggn_for_softmax_cross_entropy():
    model, batches = tiny_problem()
    n = sum(p.numel() for p in model.parameters())
    G = ggn_operator(model, CE, batches).matmat(torch.eye(n, dtype=torch.float64))
    F = exact_fisher(model, batches)
    assert torch.allclose(F, G, atol=1e-12, rtol=0), (F - G).abs().max()
    exact = fisher_trace(model, batches, kind="exact")
    assert math.isclose(exact.estimate, float(G.trace()), rel_tol=1e-12)
    assert exact.num_matvecs == 40 * 4


def test_sampled_true_fisher_trace_within_its_error():
    model, batches = tiny_problem()
    exact = fisher_trace(model, batches, kind="exact").estimate
    sampled = fisher_trace(model, batches, kind="true", num_samples=30, seed=2)
    # the Student-t interval over examples also counts the spread between examples: conservative
    assert abs(sampled.estimate - exact) <= 4 * sampled.stderr
    assert sampled.ci_low <= exact <= sampled.ci_high
    again = fisher_trace(model, batches, kind="true", num_samples=30, generator=torch.Generator().manual_seed(2))
    assert again.estimate == sampled.estimate  # randomness only from the explicit seed/generator


def test_empirical_fisher_trace_against_per_example_loop():
    model, batches = tiny_problem()
    total, count = 0.0, 0
    for x, y in batches:
        for xi, yi in zip(x, y):
            model.zero_grad()
            CE(model(xi[None]), yi[None]).backward()
            total += sum(float(p.grad.pow(2).sum()) for p in model.parameters())
            count += 1
    model.zero_grad()
    est = fisher_trace(model, batches, kind="empirical")
    assert math.isclose(est.estimate, total / count, rel_tol=1e-12)
    # and the empirical Fisher is not the true Fisher: it uses the data labels, not the model's
    assert not math.isclose(est.estimate, fisher_trace(model, batches, kind="exact").estimate, rel_tol=1e-2)


def test_hutchinson_on_ggn_operator_within_sampling_error():
    model, batches = tiny_problem()
    op = ggn_operator(model, CE, batches)
    G = op.matmat(torch.eye(op.size, dtype=torch.float64))
    p = 200
    est = hutchinson_trace(op, p, seed=3)
    sd = math.sqrt(2 * (G.pow(2).sum() - G.diagonal().pow(2).sum()) / p)
    assert abs(est.estimate - float(G.trace())) <= 4 * sd


def test_ggn_bn_train_mode_keeps_running_stats():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 4)).double()
    _, batches = tiny_problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n = sum(p.numel() for p in model.parameters())
    G = ggn_operator(model, CE, batches, bn_mode="train").matmat(torch.eye(n, dtype=torch.float64))
    assert torch.allclose(G, G.T, atol=1e-12) and torch.linalg.eigvalsh(G).min() > -1e-12
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="bn_mode"):
        ggn_operator(model, CE, batches, bn_mode="training")
