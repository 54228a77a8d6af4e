"""The empirical NTK of any module: against a finite-difference Jacobian, its two torch.func methods and the
autograd loop against each other on a CNN, an attention model, a BatchNorm net (eval) and nn.GRU (the fallback),
and a wide network's against the analytic NTK."""

import warnings

import pytest
import torch
import torch.nn as nn

import whynets.kernels as K
from kernels_mc import layerwise_ntk


def _fd_jacobian(model: nn.Module, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(n, O, P) by central differences on every parameter (float64)."""
    params = [p for p in model.parameters() if p.requires_grad]
    cols = []
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = float(flat[i])
                flat[i] = old + eps
                up = model(x).reshape(x.shape[0], -1)
                flat[i] = old - eps
                down = model(x).reshape(x.shape[0], -1)
                flat[i] = old
                cols.append((up - down) / (2 * eps))
    return torch.stack(cols, -1)


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm1d(3)
        self.fc = nn.Linear(3 * 5, 2)

    def forward(self, x):
        return self.fc(torch.tanh(self.bn(self.conv(x[:, None]))).flatten(1))


class Attention(nn.Module):
    def __init__(self, dim=8, length=5):
        super().__init__()
        self.embed = nn.Linear(1, dim)
        self.attn = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.out = nn.Linear(dim * length, 3)

    def forward(self, x):
        h = self.embed(x[..., None])
        a, _ = self.attn(h, h, h, need_weights=False)
        return self.out((h + a).flatten(1))


class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(1, 4, batch_first=True)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        h, _ = self.gru(x[..., None])
        return self.out(h[:, -1])


def _seeded(module_fn, seed=0, dtype=torch.float64):
    with torch.random.fork_rng(devices=[]):  # torch's default initializers draw from the global RNG: fork it
        torch.manual_seed(seed)
        return module_fn().to(dtype).eval()


def test_matches_a_finite_difference_jacobian():
    g = torch.Generator().manual_seed(0)
    mlp = _seeded(lambda: nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)))
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    jac = _fd_jacobian(mlp, x)
    want = torch.einsum("iaf,jbf->ijab", jac, jac)
    for method in ("jacobian", "ntk_vp", "loop"):
        assert torch.allclose(K.empirical_ntk(mlp, x, method=method), want, atol=1e-8), method
    conv = _seeded(TinyConv)
    xc = torch.randn(3, 5, generator=g, dtype=torch.float64)
    jc = _fd_jacobian(conv, xc)
    assert torch.allclose(K.empirical_ntk(conv, xc, xc[:2]), torch.einsum("iaf,jbf->ijab", jc, jc[:2]), atol=1e-8)


@pytest.mark.parametrize("factory, shape", [(TinyConv, (7, 5)), (Attention, (6, 5))], ids=["cnn-bn-eval", "attention"])
def test_methods_agree_on_any_module(factory, shape):
    model = _seeded(factory, dtype=torch.float32)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    z = torch.randn(3, *shape[1:], generator=torch.Generator().manual_seed(2))
    ref = K.empirical_ntk(model, x, z, method="loop")
    for method in ("jacobian", "ntk_vp", "auto"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # attention may lack a batching rule on some builds: then the loop runs
            got = K.empirical_ntk(model, x, z, method=method, chunk_size=2)
        assert torch.allclose(got, ref, rtol=1e-4, atol=1e-5), method
    trace = K.empirical_ntk(model, x, z, mode="trace", method="jacobian")
    diag = K.empirical_ntk(model, x, z, mode="diagonal", method="ntk_vp")
    assert torch.allclose(trace, ref.diagonal(dim1=-2, dim2=-1).sum(-1), rtol=1e-4, atol=1e-5)
    assert torch.allclose(diag, ref.diagonal(dim1=-2, dim2=-1), rtol=1e-4, atol=1e-5)


def test_gru_falls_back_to_a_loop_over_examples():
    model = _seeded(GRUNet)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with pytest.warns(UserWarning, match="falling back to a loop"):
        got = K.empirical_ntk(model, x, method="jacobian")
    jac = _fd_jacobian(model, x)
    assert torch.allclose(got, torch.einsum("iaf,jbf->ijab", jac, jac), atol=1e-7)


def test_auto_follows_the_cost_model():
    # many outputs, dense layers: NTK-vector products avoid the N²O²P contraction; a CNN (weights shared, [FP] ≫ P)
    # or a trace: the contraction wins
    dense = K.ntk_costs(100, 100, outputs=10, params=100_000, forward_flops=2e5, mode="full")
    assert dense["ntk_vp"] < dense["jacobian"]
    conv = K.ntk_costs(100, 100, outputs=10, params=10_000, forward_flops=5e6, mode="full")
    assert conv["jacobian"] < conv["ntk_vp"]
    trace = K.ntk_costs(100, 100, outputs=10, params=100_000, forward_flops=2e5, mode="trace")
    assert trace["jacobian"] < trace["ntk_vp"]


def test_wide_network_empirical_ntk_is_the_analytic_one():
    # one width-2048 network's eNTK (torch.func) against its layer-by-layer oracle and the infinite-width limit
    arch = K.architecture(depth=1, activation="erf", sigma_w2=2.0, sigma_b2=0.1)
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(4))
    net = K.finite_network(arch, (6,), 2048, out=1, generator=torch.Generator().manual_seed(5))
    got = K.empirical_ntk(net, x, mode="trace").double()
    assert torch.allclose(got, layerwise_ntk(net, x)[1], rtol=1e-4)
    exact = K.ntk(x.double(), depth=1, activation="erf", sigma_w2=2.0, sigma_b2=0.1)
    assert float((got - exact).norm() / exact.norm()) < 0.1  # one net: fluctuations ~ 1/√2048


def test_refuses_training_mode_normalization_and_budgets():
    model = TinyConv().train()
    with pytest.raises(K.EmpiricalNTKError, match="model.eval"):
        K.empirical_ntk(model, torch.randn(3, 5))
    with pytest.raises(K.EmpiricalNTKError, match="memory budget"):
        K.empirical_ntk(nn.Linear(4, 2), torch.randn(3, 4), memory_budget=64)
    with pytest.raises(K.EmpiricalNTKError, match="mode"):
        K.empirical_ntk(nn.Linear(4, 2), torch.randn(3, 4), mode="sum")
