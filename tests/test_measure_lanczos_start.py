"""The gradient start of Lanczos (``measure.lanczos.gradient_start``), against the exact Hessian of a small net:
the operator's gradient is the loss gradient, and Lanczos from it converges to the exact top eigenvalues; on a
quadratic with a known spectrum a gradient orthogonal to the top eigenvector still finds it (the random mix)."""

import math

import pytest
import torch

from test_measure_hessian import CE, exact_hessian, regression_quadratic, tiny_problem
from whynets.measure.hvp import ModelLoss, hessian_operator
from whynets.measure.lanczos import gradient_start, hessian_eigenpairs, lanczos_eigenpairs

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def test_operator_gradient_is_the_loss_gradient():
    model, batches = tiny_problem()
    op = hessian_operator(model, CE, batches)
    expected = ModelLoss(model, CE, batches).gradient()[1]
    assert torch.allclose(op.gradient(), expected, atol=1e-12, rtol=0)
    assert op.num_matvecs == 0  # the gradient costs no Hessian-vector product


def test_gradient_start_finds_the_exact_top_eigenvalues():
    model, batches = tiny_problem()
    exact = torch.linalg.eigvalsh(exact_hessian(model, CE, batches)).flip(0)[:3]
    top = hessian_eigenpairs(model, CE, batches, k=3, tol=1e-8, start="gradient")
    assert top.converged
    assert torch.allclose(top.eigenvalues, exact, atol=1e-6 * float(exact[0]), rtol=0)


def test_a_gradient_orthogonal_to_the_top_eigenvector_still_finds_it():
    spectrum = torch.tensor([10.0, 3.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.05], dtype=torch.float64)
    model, batches, loss = regression_quadratic(spectrum)
    op = hessian_operator(model, loss, batches)
    top_vector = torch.linalg.eigh(op.matmat(torch.eye(op.size, dtype=torch.float64)))[1][:, -1]

    class Orthogonal:  # the same operator, its gradient made orthogonal to the top eigenvector
        size, dtype, device = op.size, op.dtype, op.device

        def __init__(self):
            self.num_matvecs = 0

        def matmat(self, V):
            self.num_matvecs += len(V) if V.dim() == 2 else 1
            return op.matmat(V)

        def gradient(self):
            g = op.gradient()
            return g - (g @ top_vector) * top_vector

    orth = Orthogonal()
    start = gradient_start(orth, torch.Generator().manual_seed(0))
    assert abs(float(start[0] @ top_vector)) > 1e-3  # the random mix gives it a component
    found = lanczos_eigenpairs(orth, 1, tol=1e-10, start=start)
    assert math.isclose(float(found.eigenvalues[0]), 10.0, rel_tol=1e-8)
