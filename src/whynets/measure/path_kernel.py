"""The path kernel of a gradient-descent run (Domingos 2020, "Every model learned by gradient descent is
approximately a kernel machine").

Along a run w_0, w_1, …, w_T the change of the model's output at any input x telescopes into first-order terms:

    f_T(x) − f_0(x) = Σ_t ⟨∇_w f(x; w_t), w_{t+1} − w_t⟩ + R,        R = Σ_t O(‖w_{t+1} − w_t‖²)

For plain full-batch gradient descent on L(w) = (1/n) Σ_i ℓ(f(x_i; w), y_i), w_{t+1} − w_t = −η Σ_i ∂L/∂f(x_i) ∇_w f(x_i),
so step t contributes Σ_i a_i(t) K_t(x, x_i): the tangent kernel K_t(x, x_i) = ∇_w f(x; w_t)·∇_w f(x_i; w_t)ᵀ (an
O × O block for O outputs) weighted by a_i(t) = −η ∂L/∂f(x_i; w_t), the loss derivative at each training point.
Summed over the steps this is Domingos' kernel machine Σ_i a_i K(x, x_i) with the path kernel K = Σ_t η K_t; it is
exact in the gradient-flow limit and its error R is first order in the step size.

``path_kernel_step`` computes one step's term without forming any kernel: Σ_i a_i K_t(x, x_i) = ∇_w f(x; w_t) · Δw_t
with Δw_t = −η ∇L(w_t), one backward pass for ∇L and one forward-mode pass (jvp) for the query points. The kernel
form gives the same numbers (``tests/test_measure_path_kernel.py`` checks it against ``whynets.kernels.empirical_ntk``).

    >>> import torch, torch.nn as nn
    >>> from whynets.measure.path_kernel import path_kernel_step
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    >>> g = torch.Generator().manual_seed(0)
    >>> x, xq = torch.randn(20, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    >>> y = torch.randint(0, 3, (20,), generator=g)
    >>> path_kernel_step(net, x, y, xq, lr=0.1, loss="mse", n_classes=3).shape
    torch.Size([5, 3])

Run the oracle tests with ``pytest tests/test_measure_path_kernel.py``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jvp

from whynets.engine import member_loss

__all__ = ["loss_derivative", "gradient_step", "path_kernel_step"]


def _params(model: nn.Module) -> dict[str, torch.Tensor]:
    named = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
    if not named:
        raise ValueError("the model has no parameters with requires_grad=True: it has no path kernel")
    return named


def _loss(out: torch.Tensor, y: torch.Tensor, loss: str, n_classes: int | None) -> torch.Tensor:
    """The engine's own per-batch loss (``engine.member_loss``) of one model's outputs (B, O)."""
    classes = out.shape[-1] if n_classes is None else n_classes
    return member_loss(out.unsqueeze(0), y, loss, classes, per_member=False)[0]


def loss_derivative(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "mse",
                    n_classes: int | None = None) -> torch.Tensor:
    """∂L/∂f(x_i) for every training point (n, O): the weights of the kernel machine's terms (for whynets' mse,
    (2/n)(f(x_i) − onehot(y_i)))."""
    with torch.enable_grad():
        out = model(x).detach().requires_grad_(True)
        return torch.autograd.grad(_loss(out, y, loss, n_classes), out)[0]


def gradient_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, loss: str = "mse",
                  n_classes: int | None = None) -> dict[str, torch.Tensor]:
    """Δw = −lr ∇L(w) of one full-batch gradient-descent step on (x, y), by parameter name."""
    named = _params(model)
    leaves = {k: v.clone().requires_grad_(True) for k, v in named.items()}
    buffers = dict(model.named_buffers())
    with torch.enable_grad():
        value = _loss(functional_call(model, (leaves, buffers), (x,)), y, loss, n_classes)
        grads = torch.autograd.grad(value, list(leaves.values()))
    return {k: -lr * g for k, g in zip(leaves, grads)}


def path_kernel_step(model: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor, lr: float,
                     loss: str = "mse", n_classes: int | None = None) -> torch.Tensor:
    """One gradient-descent step's term of the path-kernel machine at ``x_query`` (n_query, O):
    Σ_i a_i K_t(x, x_i) = ∇_w f(x; w)·Δw, Δw = −lr ∇L(w) on the full batch (``x_train``, ``y_train``), at the model's
    current weights. ``loss``: the engine's ``mse`` (one-hot for integer labels, (1/n) Σ‖f − y‖²), ``ce`` or ``kl``.
    Tensors follow the model (device, dtype); summing the terms of steps 0 … T−1 predicts f_T − f_0 to first order."""
    named = _params(model)
    step = gradient_step(model, x_train, y_train, lr, loss, n_classes)
    buffers = dict(model.named_buffers())

    def f(params: dict[str, torch.Tensor]) -> torch.Tensor:
        return functional_call(model, ({**named, **params}, buffers), (x_query,))

    _, tangent = jvp(f, (named,), (step,))
    return tangent.detach()
