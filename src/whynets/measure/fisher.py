"""Generalized Gauss-Newton (GGN) products and Fisher traces.

GGN: G = Σ_b w_b J_bᵀ H_b J_b, with J_b the Jacobian of the batch's outputs w.r.t. θ and H_b the
Hessian of ``loss_fn`` w.r.t. the outputs (Schraudolph 2002; Martens 2014). ``GGNOperator.matmat``
computes Gv = Jᵀ(H (J v)) from a cached graph per batch: J v by the double-backward trick
(differentiating the linear map u ↦ Jᵀu), H·(Jv) by a Hessian-vector product of the loss in the
outputs, then Jᵀ(·) by one backward pass. Only reverse mode, so BatchNorm in train mode works too.

Fisher (per-example gradients by ``torch.func.vmap(grad)``, one example at a time for a module vmap cannot batch;
BatchNorm must be in eval mode, since
in train mode an example's output depends on the rest of its batch):
- empirical Fisher  F_emp = (1/N) Σ_i g_i g_iᵀ with g_i = ∇ℓ(f(x_i), y_i) at the data labels;
- true Fisher       F = (1/N) Σ_i E_{ŷ∼p(·|x_i)} ∇log p(ŷ|x_i) ∇log p(ŷ|x_i)ᵀ, for a categorical
  likelihood p = softmax(model output). ``kind="exact"`` sums over every class weighted by its
  probability; ``kind="true"`` samples ``num_samples`` labels per example (explicit generator).
For softmax cross-entropy the true Fisher equals the GGN: E_ŷ[∇_z log p ∇_z log pᵀ] = diag(p) − ppᵀ,
which is the Hessian of cross-entropy in the logits z (Martens 2014, §9.2).

Run the oracle tests with ``pytest tests/test_measure_fisher.py``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from .hvp import LossFn, ModelLoss, _check_block, module_modes
from .lanczos import make_generator
from .trace import TraceEstimate, summarize

__all__ = ["GGNOperator", "ggn_operator", "ggn_vector_product", "per_example_gradients", "fisher_trace"]


class GGNOperator:
    """G = Σ_b w_b J_bᵀ H_b J_b as a symmetric operator (``matmat(V)`` for V of shape (k, n))."""

    def __init__(self, model_loss: ModelLoss):
        self.model_loss = model_loss
        self.size, self.dtype, self.device = model_loss.size, model_loss.dtype, model_loss.device
        self.num_matvecs = 0
        self._graphs = None

    def _build(self):
        ml, graphs = self.model_loss, []
        for b, (_, y, weight) in enumerate(ml.batches):
            theta = ml.theta.detach().clone().requires_grad_(True)
            out = ml.outputs(theta, b)
            u = torch.zeros_like(out, requires_grad=True)
            jtu = torch.autograd.grad(out, theta, u, create_graph=True)[0]  # linear in u
            z = out.detach().requires_grad_(True)
            gz = torch.autograd.grad(weight * ml.loss_fn(z, y), z, create_graph=True)[0]
            graphs.append((theta, out, u, jtu, z, gz))
        return graphs

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        V, single = _check_block(V, self.size)
        V = V.to(self.device, self.dtype)
        self.num_matvecs += len(V)
        if self._graphs is None:
            self._graphs = self._build()
        rows = []
        for v in V:
            total = torch.zeros_like(v)
            for theta, out, u, jtu, z, gz in self._graphs:
                jv = torch.autograd.grad(jtu, u, v, retain_graph=True)[0]
                hjv = torch.autograd.grad(gz, z, jv, retain_graph=True)[0]
                total += torch.autograd.grad(out, theta, hjv, retain_graph=True)[0]
            rows.append(total)
        out = torch.stack(rows).detach()
        return out[0] if single else out

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.matmat(v)


def ggn_operator(model: nn.Module, loss_fn: LossFn, batches, *, bn_mode: str = "eval",
                 dtype: torch.dtype | None = None) -> GGNOperator:
    """The GGN of the average loss at the model's parameters, as a linear operator."""
    return GGNOperator(ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype))


def ggn_vector_product(model: nn.Module, loss_fn: LossFn, batches, vectors: torch.Tensor, *,
                       bn_mode: str = "eval", dtype: torch.dtype | None = None) -> torch.Tensor:
    """G·v for a flat vector (n,) or a block (k, n), in ``named_parameters`` order."""
    return ggn_operator(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype).matmat(vectors)


def _per_example_fn(ml: ModelLoss, loss_of_output):
    """θ, x_i, y_i ↦ ∇_θ loss_of_output(f(x_i; θ), y_i), for vmap over examples."""
    buffers = {**ml.frozen, **ml.buffers}

    def single(theta, x, y):
        out = functional_call(ml.model, {**ml.unflatten(theta), **buffers}, (x.unsqueeze(0),))
        return loss_of_output(out, y.unsqueeze(0))

    return grad(single)


def _over_examples(per_example, chunk_size: int | None):
    """``per_example(θ, x_i, y_i)`` over a batch: vmap, or — for a model vmap cannot batch (a recurrent cell, an op
    without a batching rule; found on the first call) — one example at a time, the same numbers more slowly."""
    batched = vmap(per_example, in_dims=(None, 0, 0), chunk_size=chunk_size)
    state = {"loop": False}

    def apply(theta, x, y):
        if not state["loop"]:
            try:
                return batched(theta, x, y)
            except RuntimeError:
                state["loop"] = True
        return torch.stack([per_example(theta, x[i], y[i]) for i in range(len(x))])
    return apply


def per_example_gradients(model: nn.Module, loss_fn: LossFn, batches, *, chunk_size: int | None = 256,
                          dtype: torch.dtype | None = None) -> torch.Tensor:
    """(N, n) gradients of ``loss_fn`` on each example alone (BatchNorm in eval mode)."""
    ml = ModelLoss(model, loss_fn, batches, bn_mode="eval", dtype=dtype)
    fn = _over_examples(_per_example_fn(ml, loss_fn), chunk_size)
    with module_modes(model, "eval"):
        return torch.cat([fn(ml.theta, x, y) for x, y, _ in ml.batches])


def _nll(out: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out, label)


def fisher_trace(model: nn.Module, batches, *, kind: str = "exact", loss_fn: LossFn | None = None,
                 num_samples: int = 1, chunk_size: int | None = 256, confidence: float = 0.95, seed: int = 0,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None) -> TraceEstimate:
    """tr(F) = (1/N) Σ_i E‖∇log p(ŷ|x_i)‖² (``"exact"``/``"true"``) or (1/N) Σ_i ‖∇ℓ(x_i, y_i)‖² (``"empirical"``).

    ``kind="empirical"`` uses ``loss_fn`` (default cross-entropy) at the data labels; ``"exact"``
    (C backward passes per example) and ``"true"`` (``num_samples`` sampled labels per example, with a
    Student-t interval over examples) treat the model's outputs as logits of a categorical distribution.
    """
    if kind not in ("exact", "true", "empirical"):
        raise ValueError(f"kind must be 'exact', 'true' or 'empirical', got {kind!r}")
    loss_fn = loss_fn or _nll
    ml = ModelLoss(model, loss_fn if kind == "empirical" else _nll, batches, bn_mode="eval", dtype=dtype)
    fn = _over_examples(_per_example_fn(ml, ml.loss_fn), chunk_size)
    gen = make_generator(generator, seed)
    per_example, calls = [], 0
    with module_modes(model, "eval"), torch.no_grad():
        for b, (x, y, _) in enumerate(ml.batches):
            if kind == "empirical":
                per_example.append(fn(ml.theta, x, y).pow(2).sum(1))
                calls += len(x)
                continue
            logits = ml.outputs(ml.theta, b)
            if logits.dim() != 2:
                raise ValueError(f"the true Fisher needs logits of shape (batch, classes); got {tuple(logits.shape)}")
            probs = logits.softmax(1)
            if kind == "exact":
                sq = torch.stack([fn(ml.theta, x, torch.full_like(y, c)).pow(2).sum(1)
                                  for c in range(logits.shape[1])], 1)
                per_example.append((probs * sq).sum(1))
                calls += len(x) * logits.shape[1]
            else:
                labels = torch.multinomial(probs.double().cpu(), num_samples, replacement=True, generator=gen)
                labels = labels.to(ml.device)
                sq = torch.stack([fn(ml.theta, x, labels[:, s]).pow(2).sum(1) for s in range(num_samples)], 1)
                per_example.append(sq.mean(1))
                calls += len(x) * num_samples
    values = torch.cat(per_example)
    if kind == "true":
        return summarize(values, 0.0, confidence, calls, "true-fisher")
    estimate = float(values.double().mean())
    return TraceEstimate(estimate, 0.0, estimate, estimate, confidence, calls, f"{kind}-fisher")
