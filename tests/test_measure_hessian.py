"""Oracle tests for Hessian instruments: HVP, Lanczos, power iteration, Hutchinson/Hutch++, SLQ, N_eff.

The oracle is the exact Hessian of a small net (``torch.func.hessian`` over the flat parameters,
float64) or a quadratic with a spectrum we choose. Tolerances: float64 identities (HVP == H·v) at
1e-10 (round-off of sums of a few hundred O(1) terms is ~1e-14); converged Lanczos at 1e-6·‖H‖ (the
residual tolerance passed in, with the error ≤ residual); stochastic estimates at 4 standard
deviations of their exact sampling distribution (Rademacher Hutchinson: Var = 2(‖H‖_F² − Σ H_ii²)/p),
a two-sided normal tail of 6e-5.
"""

import math

import pytest
import torch
from torch import nn

from whynets.measure.density import hessian_spectral_density, slq_density
from whynets.measure.effdim import effective_dimensionality
from whynets.measure.hvp import DenseOperator, HessianOperator, ModelLoss, hessian_operator, hessian_vector_product
from whynets.measure.lanczos import hessian_eigenpairs, lanczos_eigenpairs, power_iteration
from whynets.measure.trace import hessian_trace, hutchinson_trace, hutchpp_trace

CE = nn.functional.cross_entropy
# torch.func.hessian's forward-mode decompositions call the deprecated torch.jit.script internally
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def tiny_problem(seed=0, bn=False, dtype=torch.float64):
    """An 8-16-5 tanh MLP (229 parameters; with BatchNorm 261) on 60 random examples in two batches."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # nn.Linear's init reads the global RNG (so seed it first); the instruments never do
    layers = [nn.Linear(8, 16)] + ([nn.BatchNorm1d(16)] if bn else []) + [nn.Tanh(), nn.Linear(16, 5)]
    model = nn.Sequential(*layers).to(dtype)
    x = torch.randn(60, 8, generator=g, dtype=dtype)
    y = torch.randint(0, 5, (60,), generator=g)
    return model, [(x[:25], y[:25]), (x[25:], y[25:])]


def exact_hessian(model, loss_fn, batches, bn_mode="eval"):
    ml = ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=torch.float64)
    loss = lambda t: sum(ml.batch_loss(t, b) for b in range(len(batches)))  # noqa: E731
    return torch.func.hessian(loss)(ml.theta)


def regression_quadratic(spectrum, seed=0):
    """Linear least squares whose Hessian XᵀX/N = V diag(spectrum) Vᵀ is known exactly."""
    n = len(spectrum)
    g = torch.Generator().manual_seed(seed)
    V, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    U, _ = torch.linalg.qr(torch.randn(2 * n, n, generator=g, dtype=torch.float64))
    X = math.sqrt(2 * n) * U @ torch.diag(spectrum.sqrt()) @ V.T
    y = torch.randn(2 * n, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(n, 1, bias=False).double()
    return model, [(X, y)], lambda out, t: 0.5 * ((out - t) ** 2).sum(1).mean()


@pytest.fixture(scope="module")
def tiny():
    model, batches = tiny_problem()
    H = exact_hessian(model, CE, batches)
    return model, batches, H, torch.linalg.eigvalsh(H)


def test_hvp_equals_exact_hessian_times_v(tiny):
    model, batches, H, _ = tiny
    V = torch.randn(6, H.shape[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ml = ModelLoss(model, CE, batches)
    for op in (HessianOperator(ml), HessianOperator(ml, batched=True), HessianOperator(ml, cache_graph=False)):
        assert torch.allclose(op.matmat(V), V @ H, atol=1e-10, rtol=0)
        assert torch.allclose(op.matvec(V[0]), H @ V[0], atol=1e-10, rtol=0)
    assert torch.allclose(hessian_vector_product(model, CE, batches, V), V @ H, atol=1e-10, rtol=0)


def test_hvp_float32_close_to_float64(tiny):
    model, batches, H, _ = tiny
    V = torch.randn(3, H.shape[0], generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    hv = hessian_vector_product(model, CE, batches, V.float(), dtype=torch.float32)
    assert hv.dtype == torch.float32
    # float32 round-off (eps 6e-8) grows with depth and sum length; 1e-4 of ‖Hv‖ is ample and still catches a bug
    assert ((hv.double() - V @ H).norm(dim=1) / (V @ H).norm(dim=1)).max() < 1e-4


def test_bn_train_mode_uses_batch_stats_and_leaves_running_stats(tiny):
    model, batches = tiny_problem(bn=True)
    bn = model[1]
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    # oracle: the same net with BatchNorm's train-mode formula written out (biased batch variance).
    # (torch.func.hessian through nn.BatchNorm1d in train mode is itself wrong in torch 2.13, off by
    # ~5% against finite differences, so it cannot be the oracle here.)
    ml = ModelLoss(model, CE, batches, bn_mode="train")

    def written_out(theta):
        p, total = ml.unflatten(theta), 0.0
        for x, y, w in ml.batches:
            h = x @ p["0.weight"].T + p["0.bias"]
            h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + bn.eps) * p["1.weight"] + p["1.bias"]
            total = total + w * CE(torch.tanh(h) @ p["3.weight"].T + p["3.bias"], y)
        return total

    H_train = torch.func.jacrev(torch.func.jacrev(written_out))(ml.theta)
    H_eval = exact_hessian(model, CE, batches, bn_mode="eval")
    V = torch.randn(2, H_train.shape[0], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    hv_train = hessian_vector_product(model, CE, batches, V, bn_mode="train")
    top = hessian_eigenpairs(model, CE, batches, k=2, bn_mode="train")
    assert torch.allclose(hv_train, V @ H_train, atol=1e-10, rtol=0)
    assert torch.allclose(hessian_vector_product(model, CE, batches, V, bn_mode="eval"), V @ H_eval, atol=1e-10, rtol=0)
    assert not torch.allclose(H_train, H_eval, atol=1e-3)  # the two modes really differ
    assert torch.allclose(top.eigenvalues, torch.linalg.eigvalsh(H_train)[-2:].flip(0), rtol=1e-6)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed"
    assert model.training and bn.training  # the caller's mode flags are restored


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_lanczos_matches_eigvalsh(tiny, which):
    model, batches, H, evals = tiny
    k = 5
    pairs = hessian_eigenpairs(model, CE, batches, k=k, which=which, tol=1e-8, max_steps=H.shape[0])
    exact = evals[-k:].flip(0) if which == "largest" else evals[:k]
    norm = evals.abs().max()
    assert pairs.converged
    assert ((pairs.eigenvalues - exact).abs() <= 1e-6 * norm).all(), (pairs.eigenvalues, exact)
    residual = (pairs.eigenvectors @ H - pairs.eigenvalues[:, None] * pairs.eigenvectors).norm(dim=1)
    assert (residual <= 1e-6 * norm).all()
    assert torch.allclose(pairs.eigenvectors.norm(dim=1), torch.ones(k, dtype=torch.float64), atol=1e-10)
    if which == "largest":  # the top of a net's Hessian is separated: Lanczos needs far fewer than n steps
        assert pairs.num_matvecs < H.shape[0] // 2


def test_lanczos_and_power_iteration_on_known_spectrum():
    spectrum = torch.cat([torch.tensor([50.0, 20.0, 10.0]), torch.linspace(0.0, 1.0, 117)]).double()
    model, batches, loss_fn = regression_quadratic(spectrum)
    top = hessian_eigenpairs(model, loss_fn, batches, k=3, tol=1e-9)
    assert torch.allclose(top.eigenvalues, torch.tensor([50.0, 20.0, 10.0], dtype=torch.float64), rtol=1e-8)
    op = hessian_operator(model, loss_fn, batches)
    power = power_iteration(op, k=3, tol=1e-12, max_iters=2000)
    assert torch.allclose(power.eigenvalues, torch.tensor([50.0, 20.0, 10.0], dtype=torch.float64), rtol=1e-6)
    assert top.num_matvecs < power.num_matvecs / 3  # Lanczos' point
    cheap = hessian_eigenpairs(model, loss_fn, batches, k=3, tol=1e-6, criterion="eigenvalue")
    assert cheap.converged and cheap.num_matvecs <= top.num_matvecs
    assert torch.allclose(cheap.eigenvalues, top.eigenvalues, rtol=1e-6)  # error estimate min(r, r²/gap) ≤ 1e-6·|θ|
    bottom = lanczos_eigenpairs(DenseOperator(torch.diag(spectrum)), k=2, which="smallest", max_steps=120, tol=1e-10)
    assert torch.allclose(bottom.eigenvalues, spectrum.sort().values[:2], atol=1e-8)


def test_hutchinson_within_exact_sampling_error(tiny):
    model, batches, H, _ = tiny
    p = 400
    est = hessian_trace(model, CE, batches, p, method="hutchinson", seed=4)
    sd = math.sqrt(2 * (H.pow(2).sum() - H.diagonal().pow(2).sum()) / p)
    assert abs(est.estimate - float(H.trace())) <= 4 * sd
    assert 0.7 * sd <= est.stderr <= 1.3 * sd  # the sample sd of 400 probes is within ~10% of the truth
    assert est.ci_low <= float(H.trace()) <= est.ci_high and est.num_matvecs == p


def test_hutchpp_beats_hutchinson_on_decaying_spectrum():
    spectrum = (1.0 / torch.arange(1, 201).double() ** 2) * 100  # a few large eigenvalues dominate ‖H‖_F
    model, batches, loss_fn = regression_quadratic(spectrum)
    exact = float(spectrum.sum())
    errors = {"hutch++": [], "hutchinson": []}
    for seed in range(10):
        for method in errors:
            est = hessian_trace(model, loss_fn, batches, 60, method=method, seed=seed)
            errors[method].append(abs(est.estimate - exact))
            if method == "hutch++":
                assert est.ci_low - 1e-9 <= est.estimate <= est.ci_high + 1e-9
    # Meyer et al.: Hutch++ error O(1/m) vs Hutchinson's O(1/√m); here it is >10× smaller on average
    assert sum(errors["hutch++"]) * 10 < sum(errors["hutchinson"])
    assert max(errors["hutch++"]) < 0.02 * exact


def test_hutchpp_exact_for_low_rank():
    g = torch.Generator().manual_seed(5)
    B = torch.randn(100, 6, generator=g, dtype=torch.float64)
    A = B @ B.T  # rank 6 < the 10-vector sketch: the remainder is exactly zero
    est = hutchpp_trace(DenseOperator(A), 30, seed=1)
    assert abs(est.estimate - float(A.trace())) < 1e-9 * float(A.trace())
    assert est.stderr < 1e-9 * float(A.trace())
    plain = hutchinson_trace(DenseOperator(A), 30, seed=1)
    assert plain.num_matvecs == 30 and abs(plain.estimate - float(A.trace())) > 1e-3


def test_slq_moments_exact_for_diagonal_operator():
    # for a diagonal H and a normalized Rademacher v, vᵀHᵖv = tr(Hᵖ)/n exactly, whatever the draw;
    # Gauss quadrature with m nodes integrates degree ≤ 2m−1 exactly, so the moments are exact
    lam = torch.cat([torch.linspace(-1, 3, 90), torch.tensor([20.0, 40.0])]).double()
    d = slq_density(DenseOperator(torch.diag(lam)), num_steps=10, num_runs=3, seed=7)
    n = len(lam)
    assert math.isclose(d.moment(1), float(lam.sum()) / n, rel_tol=1e-12)
    assert math.isclose(d.moment(2), float((lam ** 2).sum()) / n, rel_tol=1e-12)
    assert torch.allclose(d.weights.sum(1), torch.ones(3, dtype=torch.float64), atol=1e-12)
    # the broadened density on the grid: mass 1, mean = first moment, second moment + σ² (Gaussian width)
    mass = torch.trapezoid(d.density, d.grid)
    mean = torch.trapezoid(d.grid * d.density, d.grid)
    second = torch.trapezoid(d.grid ** 2 * d.density, d.grid)
    assert abs(mass - 1) < 1e-5
    assert abs(mean - d.moment(1)) < 1e-4 * lam.abs().max()
    assert abs(second - d.moment(2) - d.sigma ** 2) < 1e-4 * lam.abs().max() ** 2


def test_lanczos_breakdown_on_few_distinct_eigenvalues():
    # 3 distinct eigenvalues: the Krylov space has dimension 3, so Lanczos breaks down at step 3;
    # the quadrature must then be exact (nodes = the eigenvalues, weights = their multiplicity / n,
    # for a normalized Rademacher start on a diagonal operator) and the later nodes weightless
    lam = torch.tensor([1.0] * 20 + [2.0] * 30 + [5.0] * 10, dtype=torch.float64)
    op = DenseOperator(torch.diag(lam))
    d = slq_density(op, num_steps=8, num_runs=2, seed=9)
    for r in range(2):
        heavy = d.weights[r] > 1e-12
        assert torch.allclose(d.nodes[r][heavy], torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64), atol=1e-10)
        assert torch.allclose(d.weights[r][heavy], torch.tensor([20, 30, 10], dtype=torch.float64) / 60, atol=1e-10)
    top = lanczos_eigenpairs(op, 1, tol=1e-10)
    assert top.converged and top.num_matvecs == 3 and abs(float(top.eigenvalues[0]) - 5.0) < 1e-12


def test_slq_moments_of_net_hessian(tiny):
    model, batches, H, evals = tiny
    n, runs = H.shape[0], 8
    d = hessian_spectral_density(model, CE, batches, num_steps=40, num_runs=runs, seed=8)
    H2 = H @ H
    for power, M in ((1, H), (2, H2)):
        exact = float(M.trace()) / n
        sd = math.sqrt(2 * (M.pow(2).sum() - M.diagonal().pow(2).sum()) / runs) / n
        assert abs(d.moment(power) - exact) <= 4 * sd, (power, d.moment(power), exact, sd)
    # the nodes lie inside the spectrum (Ritz values interlace) and reach its ends
    assert d.nodes.min() >= evals[0] - 1e-10 and d.nodes.max() <= evals[-1] + 1e-10
    assert abs(d.nodes.max() - evals[-1]) < 1e-8 * evals[-1]
    assert d.num_matvecs == runs * 40


def test_effective_dimensionality_closed_form():
    lam = torch.tensor([100.0, 1.0, 0.0, -0.5])
    assert math.isclose(effective_dimensionality(lam, z=1.0), 100 / 101 + 0.5, rel_tol=1e-12)
    assert math.isclose(effective_dimensionality(lam, z=1e-9), 2.0, rel_tol=1e-6)  # counts the non-zero ones
    spectrum = torch.cat([torch.tensor([80.0, 40.0, 20.0]), torch.zeros(47)]).double()
    model, batches, loss_fn = regression_quadratic(spectrum)
    top = hessian_eigenpairs(model, loss_fn, batches, k=3, tol=1e-9)
    assert math.isclose(effective_dimensionality(top.eigenvalues, 10.0),
                        effective_dimensionality(spectrum, 10.0), rel_tol=1e-8)
    with pytest.raises(ValueError):
        effective_dimensionality(lam, z=0.0)


def test_randomness_is_explicit(tiny):
    model, batches, _, _ = tiny
    state = torch.random.get_rng_state()
    a = hessian_trace(model, CE, batches, 12, seed=3).estimate
    b = hessian_trace(model, CE, batches, 12, generator=torch.Generator().manual_seed(3)).estimate
    assert a == b and torch.equal(state, torch.random.get_rng_state())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(tiny):
    model, batches, H, evals = tiny
    cuda_model = tiny_problem()[0].cuda()
    assert all(torch.equal(p.cpu(), q) for p, q in zip(cuda_model.parameters(), model.parameters()))
    cuda_batches = [(x.cuda(), y.cuda()) for x, y in batches]
    V = torch.randn(3, H.shape[0], dtype=torch.float64)
    assert torch.allclose(hessian_vector_product(cuda_model, CE, cuda_batches, V.cuda()).cpu(), V @ H, atol=1e-10)
    top = hessian_eigenpairs(cuda_model, CE, cuda_batches, k=2, tol=1e-8)
    assert torch.allclose(top.eigenvalues.cpu(), evals[-2:].flip(0), rtol=1e-6)
    t_cpu = hessian_trace(tiny_problem()[0], CE, batches, 12, seed=3).estimate
    assert math.isclose(hessian_trace(cuda_model, CE, cuda_batches, 12, seed=3).estimate, t_cpu, rel_tol=1e-8)
