"""The CUDA path: the population engine and the curvature instruments give on a GPU what they give on the CPU.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with ``pytest tests/test_cuda.py``.
"""

import pytest
import torch

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, population_for, train
from whynets.measure.hvp import hessian_operator
from whynets.measure.lanczos import lanczos_eigenpairs
from whynets.models import ModelSpec

from test_engine import assert_matches_plain_modules  # noqa: E402  (tests/ is on the path under pytest)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
CE = torch.nn.functional.cross_entropy


@pytest.fixture(scope="module")
def small():
    return load(DataSpec(n_train=400, n_test=200))


@pytest.mark.parametrize("model", [ModelSpec(width=24, depth=2), ModelSpec(kind="cnn1d", width=6),
                                   ModelSpec(kind="gru", width=6)], ids=["mlp", "cnn1d", "gru-vmap"])
@pytest.mark.parametrize("per_member", [True, False], ids=["own-batches", "shared-batch"])
def test_population_forward_and_gradients_on_cuda_equal_plain_modules(small, model, per_member):
    """The batched-matmul fast path (MLP, CNN1d) and the vmap path (GRU), on CUDA, against each member as a
    plain nn.Module on CUDA."""
    pop = population_for(model, small, [3, 5, 7], device="cuda")
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(small.y), (3, 20), generator=gen)
    x, y = (small.x[idx], small.y[idx]) if per_member else (small.x[idx[0]], small.y[idx[0]])
    logits = assert_matches_plain_modules(pop, x.cuda(), y.cuda(), per_member, tol=1e-4)
    assert logits.device.type == "cuda"


@pytest.mark.parametrize("model", [ModelSpec(width=32), ModelSpec(kind="cnn1d", width=8)], ids=["mlp", "cnn1d"])
def test_training_on_cuda_follows_the_cpu_run(small, model):
    """Same seeds, same data order, same steps: the CUDA run ends where the CPU run ends (float32 round-off
    apart: TF32 is off by default for matmuls in PyTorch), and the metrics agree."""
    assert not torch.backends.cuda.matmul.allow_tf32
    spec = TrainSpec(steps=40, lr=3e-3, batch_size=50, eval_points=2)
    runs = {}
    for device in ("cpu", "cuda"):
        pop = population_for(model, small, [0, 1, 2, 3], device=device)
        res = train(pop, small, spec)
        runs[device] = (pop, res)
    (cpu, res_cpu), (gpu, res_gpu) = runs["cpu"], runs["cuda"]
    for k in range(4):
        a, b = cpu.member_params(k), gpu.member_params(k)
        for name in a:
            assert b[name].device.type == "cuda"
            assert (a[name] - b[name].cpu()).abs().max().item() < 1e-3, name
    for key in ("train_loss", "test_loss"):
        for u, v in zip(res_cpu.final[key], res_gpu.final[key]):
            assert u == pytest.approx(v, rel=1e-3, abs=1e-4), key


def test_hessian_eigenvalues_on_cuda_equal_cpu(small):
    """Lanczos on a CUDA Hessian (batched double backward, the CUDA default) against the CPU one, float64."""
    pop = population_for(ModelSpec(width=16), small, [0])
    train(pop, small, TrainSpec(steps=50, lr=3e-3, batch_size=100, eval_points=2))
    model = pop.member(0).double()
    x, y = small.x[:300].double(), small.y[:300]
    cpu = lanczos_eigenpairs(hessian_operator(model, CE, [(x, y)]), 3, tol=1e-10, seed=1)
    op = hessian_operator(model.cuda(), CE, [(x.cuda(), y.cuda())])
    assert op.batched  # the CUDA default: a block's vectors through one vmapped double backward
    gpu = lanczos_eigenpairs(op, 3, tol=1e-10, seed=1)
    torch.testing.assert_close(gpu.eigenvalues.cpu(), cpu.eigenvalues, rtol=1e-8, atol=1e-10)
