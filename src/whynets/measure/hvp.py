"""Hessian-vector products of a model's loss over a fixed dataset.

The loss is seen as a function of ONE flat parameter vector θ (the model's trainable parameters,
concatenated in ``named_parameters`` order), evaluated with ``torch.func.functional_call`` on copies
of the model's parameters and buffers, so a measurement never changes the model:

    L(θ) = Σ_b (n_b / N) · loss_fn(model(x_b; θ), y_b)      (``loss_fn`` averages over its batch)

``batches`` is a list of ``(x, y)`` pairs (one pair = the full data). BatchNorm runs as the caller
says (``bn_mode="eval"`` uses the running statistics, ``"train"`` the batch statistics; in train mode
the running statistics are updated on private copies only). Every other module (dropout) runs in eval
mode: a measurement must be a deterministic function of θ.

``HessianOperator.matmat`` computes H·v for a block of vectors. It builds the first-order graph
(∇L with ``create_graph=True``) once and reuses it for every vector (reverse-over-reverse). Measured
on a 2-core CPU (MLP 40-256-256-10, 1000 examples, float32, one thread): 13 ms per vector with the
cached graph and a loop over vectors, 20-35 ms with the vectors batched through ``is_grads_batched``
(vmap over the double backward: memory bound on CPU), 24-28 ms with ``torch.func`` jvp-of-grad (which
redoes the forward and backward pass per vector); a CNN (3 Conv1d(32)) is the same either way
(44 ms). Only a tiny net (40-16-10) gains from batching on CPU (0.34 vs 0.60 ms per vector). So
``batched=None`` loops on CPU and batches on CUDA; pass ``batched=True`` for tiny nets on CPU. (A
choice by timing was tried and dropped: on a shared machine it flips with the load, and the
result's round-off would then depend on timing.)

Run the oracle tests with ``pytest tests/test_measure_hessian.py``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.attention import SDPBackend, sdpa_kernel

__all__ = ["ModelLoss", "HessianOperator", "DenseOperator", "hessian_operator", "hessian_vector_product"]

BN_MODES = ("eval", "train")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@contextmanager
def module_modes(model: nn.Module, bn_mode: str) -> Iterator[None]:
    """BatchNorm in ``bn_mode``, every other module in eval mode; the model's flags are restored after."""
    if bn_mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
    saved = [(m, m.training) for m in model.modules()]
    try:
        for m in model.modules():
            m.training = bn_mode == "train" and isinstance(m, nn.modules.batchnorm._BatchNorm)
        yield
    finally:
        for m, flag in saved:
            m.training = flag


def _as_batches(batches) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if isinstance(batches, tuple) and len(batches) == 2 and all(isinstance(t, torch.Tensor) for t in batches):
        batches = [batches]  # a single (x, y) pair
    batches = list(batches)
    if not batches:
        raise ValueError("batches is empty: pass a list of (x, y) pairs, e.g. [(x, y)] for the full data")
    for i, b in enumerate(batches):
        if not (isinstance(b, (tuple, list)) and len(b) == 2):
            raise ValueError(f"batches[{i}] must be an (x, y) pair, got {type(b).__name__}")
        if len(b[0]) != len(b[1]) or len(b[0]) == 0:
            raise ValueError(f"batches[{i}]: x has {len(b[0])} rows and y has {len(b[1])}; need equal, non-zero")
    return batches


class ModelLoss:
    """A model's average loss over fixed batches as a pure function of a flat parameter vector.

    ``theta`` holds the model's trainable parameters (detached copy, in ``dtype``). Frozen parameters
    and buffers are copied too. ``loss(theta)`` and ``outputs(theta, b)`` never touch the model's tensors.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, batches, *, bn_mode: str = "eval",
                 dtype: torch.dtype | None = None):
        if bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
        named = list(model.named_parameters())
        trainable = [(n, p) for n, p in named if p.requires_grad]
        if not trainable:
            raise ValueError("the model has no parameters with requires_grad=True: nothing to measure")
        self.model, self.loss_fn, self.bn_mode = model, loss_fn, bn_mode
        self.device = trainable[0][1].device
        self.dtype = dtype or trainable[0][1].dtype
        if not self.dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating type, got {self.dtype}")
        self.names = [n for n, _ in trainable]
        self.shapes = [p.shape for _, p in trainable]
        self.sizes = [p.numel() for _, p in trainable]
        self.theta = torch.cat([p.detach().reshape(-1).to(self.dtype) for _, p in trainable])
        self.size = self.theta.numel()
        self.frozen = {n: self._cast(p.detach()) for n, p in named if not p.requires_grad}
        self.buffers = {n: self._cast(b.detach()) for n, b in model.named_buffers()}
        self.batches = []
        total = sum(len(x) for x, _ in _as_batches(batches))
        for x, y in _as_batches(batches):
            self.batches.append((self._cast(x), self._cast(y), len(x) / total))
        self.num_examples = total

    def _cast(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device)
        return t.to(self.dtype) if t.is_floating_point() else t

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a flat vector into named tensors shaped like the trainable parameters."""
        return {n: c.view(s) for n, c, s in zip(self.names, flat.split(self.sizes), self.shapes)}

    def flatten(self, named: dict[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate named tensors (one per trainable parameter) into a flat vector."""
        missing = [n for n in self.names if n not in named]
        if missing:
            raise KeyError(f"no tensor for parameter(s) {missing[:5]}; expected the names of model.named_parameters()")
        return torch.cat([named[n].detach().reshape(-1).to(self.device, self.dtype) for n in self.names])

    def outputs(self, theta: torch.Tensor, batch: int, buffers: dict | None = None) -> torch.Tensor:
        """Model outputs on ``batches[batch]`` at ``theta``; buffers are fresh copies unless given."""
        if buffers is None:
            buffers = {n: b.clone() for n, b in self.buffers.items()}
        tensors = {**self.unflatten(theta), **self.frozen, **buffers}
        # attention through the composite ("math") kernel: the fused CPU/flash kernels have no second derivative,
        # which every Hessian-vector product needs
        with module_modes(self.model, self.bn_mode), sdpa_kernel([SDPBackend.MATH]):
            return functional_call(self.model, tensors, (self.batches[batch][0],))

    def batch_loss(self, theta: torch.Tensor, batch: int, buffers: dict | None = None) -> torch.Tensor:
        """``weight_b · loss_fn`` on one batch (the weights sum to one over batches)."""
        _, y, weight = self.batches[batch]
        return weight * self.loss_fn(self.outputs(theta, batch, buffers), y)

    def loss(self, theta: torch.Tensor | None = None) -> torch.Tensor:
        """The average loss L(θ) (no graph)."""
        theta = self.theta if theta is None else theta
        with torch.no_grad():
            return sum(self.batch_loss(theta, b) for b in range(len(self.batches)))

    def gradient(self, theta: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(L(θ), ∇L(θ)) without keeping a graph."""
        theta = (self.theta if theta is None else theta).detach().requires_grad_(True)
        total, grad = 0.0, torch.zeros_like(theta)
        for b in range(len(self.batches)):
            loss = self.batch_loss(theta, b)
            grad += torch.autograd.grad(loss, theta)[0]
            total += loss.detach()
        return total, grad


def _check_block(V: torch.Tensor, size: int) -> tuple[torch.Tensor, bool]:
    single = V.dim() == 1
    V = V.unsqueeze(0) if single else V
    if V.dim() != 2 or V.shape[1] != size:
        raise ValueError(f"vectors must have shape ({size},) or (k, {size}), got {tuple(V.shape)}")
    return V, single


class HessianOperator:
    """H = ∇²L(θ) as a symmetric linear operator: ``matmat(V)`` for V of shape (k, n) returns (k, n).

    ``cache_graph=True`` keeps the first-order graph of every batch between calls (fastest; memory of
    one forward+backward per batch). ``cache_graph=False`` rebuilds it per call and batch, reusing it
    for the k vectors of that call (for data too large to keep every batch's graph).
    ``batched`` runs a block's vectors through one vmapped double backward (None: on CUDA only).
    """

    def __init__(self, model_loss: ModelLoss, *, cache_graph: bool = True, batched: bool | None = None):
        self.model_loss = model_loss
        self.size, self.dtype, self.device = model_loss.size, model_loss.dtype, model_loss.device
        self.cache_graph = cache_graph
        self.batched = model_loss.device.type == "cuda" if batched is None else batched
        self.num_matvecs = 0
        self._graph: tuple[torch.Tensor, torch.Tensor] | None = None

    def _first_order(self, batches: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.model_loss.theta.detach().clone().requires_grad_(True)
        grad = sum(torch.autograd.grad(self.model_loss.batch_loss(theta, b), theta, create_graph=True)[0]
                   for b in batches)
        return theta, grad

    def _apply(self, theta: torch.Tensor, grad: torch.Tensor, V: torch.Tensor, retain: bool) -> torch.Tensor:
        if self.batched:
            try:
                return torch.autograd.grad(grad, theta, V, retain_graph=True, is_grads_batched=True)[0]
            except RuntimeError:  # a backward op vmap cannot batch (a recurrent cell): one vector at a time
                self.batched = False
        rows = [torch.autograd.grad(grad, theta, v, retain_graph=retain or i < len(V) - 1)[0]
                for i, v in enumerate(V)]
        return torch.stack(rows)

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        V, single = _check_block(V, self.size)
        V = V.to(self.device, self.dtype)
        self.num_matvecs += len(V)
        if self.cache_graph:
            if self._graph is None:
                self._graph = self._first_order(range(len(self.model_loss.batches)))
            out = self._apply(*self._graph, V, retain=True)
        else:
            out = sum(self._apply(*self._first_order([b]), V, retain=False)
                      for b in range(len(self.model_loss.batches)))
        out = out.detach()
        return out[0] if single else out

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.matmat(v)

    def gradient(self) -> torch.Tensor:
        """∇L(θ) (n,), detached: from the cached first-order graph (built here if needed, then reused by every
        product), or computed without a graph when graphs are not cached."""
        if not self.cache_graph:
            return self.model_loss.gradient()[1].detach()
        if self._graph is None:
            self._graph = self._first_order(range(len(self.model_loss.batches)))
        return self._graph[1].detach()

    def release(self) -> None:
        """Drop the cached graph (it is rebuilt on the next call)."""
        self._graph = None


class DenseOperator:
    """A symmetric matrix as an operator (quadratics with a known spectrum, tests, small exact Hessians)."""

    def __init__(self, matrix: torch.Tensor):
        if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"matrix must be square, got shape {tuple(matrix.shape)}")
        self.matrix = matrix
        self.size, self.dtype, self.device = matrix.shape[0], matrix.dtype, matrix.device
        self.num_matvecs = 0

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        V, single = _check_block(V, self.size)
        self.num_matvecs += len(V)
        out = V.to(self.device, self.dtype) @ self.matrix.T
        return out[0] if single else out

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.matmat(v)


def hessian_operator(model: nn.Module, loss_fn: LossFn, batches, *, bn_mode: str = "eval",
                     dtype: torch.dtype | None = None, cache_graph: bool = True,
                     batched: bool | None = None) -> HessianOperator:
    """The Hessian of the average loss at the model's current parameters, as a linear operator."""
    return HessianOperator(ModelLoss(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype),
                           cache_graph=cache_graph, batched=batched)


def hessian_vector_product(model: nn.Module, loss_fn: LossFn, batches, vectors: torch.Tensor, *,
                           bn_mode: str = "eval", dtype: torch.dtype | None = None,
                           batched: bool | None = None) -> torch.Tensor:
    """H·v for one flat vector (n,) or a block (k, n), in ``named_parameters`` order.

    >>> Hv = hessian_vector_product(model, nn.functional.cross_entropy, [(x, y)], v)
    """
    op = hessian_operator(model, loss_fn, batches, bn_mode=bn_mode, dtype=dtype, batched=batched)
    return op.matmat(vectors)
