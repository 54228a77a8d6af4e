"""The empirical NTK of any ``nn.Module``: Θ(x, x')_ab = Σ_θ ∂f_a(x)/∂θ · ∂f_b(x')/∂θ over its trainable parameters.

Two methods (the torch.func "Neural Tangent Kernels" tutorial; Novak et al. 2022, "Fast finite width NTK", §3):

* ``jacobian`` — per-example Jacobians J(x) (O × P) by ``vmap(jacrev)``, then contracted: cost
  N·O·[FP] + N²·O²·P (O outputs, P parameters, [FP] one forward pass), memory N·O·P per chunk;
* ``ntk_vp`` — NTK-vector products: each row J_a(x1) (a vector-Jacobian product) pushed through the batch x2 by a
  Jacobian-vector product: cost N·O·[FP] + N²·O·[FP], no N²O²P contraction. It wins when O·P is large relative to
  [FP] (fully-connected nets with many outputs, full kernels); the contraction wins where weights are shared
  (convolutions: [FP] ≫ P) or only the trace is wanted.

``method="auto"`` chooses by that cost model, with [FP] counted by ``torch.utils.flop_counter`` on one example.
Both run in chunks of examples sized so that the Jacobian chunks and the output fit ``memory_budget`` bytes (the
model's own activations are not counted). Models ``vmap`` cannot batch (``nn.GRU``: "Batching rule not implemented
for aten::gru.input"; ops without forward-mode AD for ``ntk_vp``) fall back automatically, with a warning, to
``loop``: one reverse pass per example and output (``torch.autograd.grad``), which works on any module.

A model in training mode with BatchNorm or Dropout is refused: its output for one example depends on the batch or on
random masks (call ``model.eval()``). Tensors follow the model's parameters (device and dtype).

    >>> import torch, torch.nn as nn, whynets as wn
    >>> net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3))
    >>> x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    >>> wn.kernels.empirical_ntk(net, x, mode="full").shape          # (n1, n2, O, O)
    torch.Size([6, 6, 3, 3])
    >>> wn.kernels.empirical_ntk(net, x, x[:2], mode="trace").shape  # Σ_a Θ_aa
    torch.Size([6, 2])
"""

from __future__ import annotations

import math
import warnings
from typing import Callable

import torch
import torch.nn as nn
from torch.func import functional_call, jacrev, jvp, vmap

from whynets.errors import WhynetsError

from .blocks import DEFAULT_BUDGET, Progress, gib

__all__ = ["empirical_ntk", "ntk_costs", "EmpiricalNTKError", "METHODS", "MODES"]

METHODS = ("auto", "jacobian", "ntk_vp", "loop")
MODES = ("full", "trace", "diagonal")
_STOCHASTIC = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd, nn.AlphaDropout, nn.GroupNorm)
_CONTRACT = {"full": "iaf,jbf->ijab", "trace": "iaf,jaf->ij", "diagonal": "iaf,jaf->ija"}


class EmpiricalNTKError(WhynetsError, ValueError):
    """The empirical NTK cannot be computed as asked (model mode, shapes, memory)."""


def _check_model(model: nn.Module) -> None:
    if not isinstance(model, nn.Module):
        raise EmpiricalNTKError(f"empirical_ntk takes an nn.Module, got {type(model).__name__}")
    if model.training:
        bad = [type(m).__name__ for m in model.modules() if isinstance(m, _STOCHASTIC) and not isinstance(m, nn.GroupNorm)]
        if bad:
            raise EmpiricalNTKError(f"empirical_ntk: the model is in training mode and has {bad[0]} (its output for one "
                                    "example depends on the batch or on random masks); call model.eval() first")


def _forward_flops(model: nn.Module, x: torch.Tensor, params: int) -> float:
    try:
        from torch.utils.flop_counter import FlopCounterMode

        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x[:1])
        flops = float(counter.get_total_flops())
        return flops if flops > 0 else 2.0 * params
    except Exception:  # noqa: BLE001 - counting is advice only; a model the counter cannot trace costs ~2 flops/param
        return 2.0 * params


def ntk_costs(n1: int, n2: int, outputs: int, params: int, forward_flops: float, mode: str = "full") -> dict[str, float]:
    """Estimated flops of each method (the tutorial's cost model; a reverse or forward-mode pass ≈ 3 forward passes)."""
    o_pairs = outputs * outputs if mode == "full" else outputs
    return {"jacobian": 3 * (n1 + n2) * outputs * forward_flops + 2 * n1 * n2 * o_pairs * params,
            "ntk_vp": 3 * n1 * outputs * forward_flops + 3 * n1 * outputs * n2 * forward_flops}


def _select(result: torch.Tensor, mode: str) -> torch.Tensor:
    """(i, j, a, b) -> the mode's view."""
    if mode == "full":
        return result
    diag = result.diagonal(dim1=-2, dim2=-1)
    return diag.sum(-1) if mode == "trace" else diag


def empirical_ntk(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor | None = None, *, mode: str = "full",
                  method: str = "auto", chunk_size: int | None = None, memory_budget: int = DEFAULT_BUDGET,
                  progress: bool | Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Θ(x1, x2) of ``model`` at its current parameters: (n1, n2, O, O) for ``full``, (n1, n2) for ``trace``
    (Σ_a Θ_aa), (n1, n2, O) for ``diagonal``. x2 = x1 when None. See the module docstring for the methods."""
    _check_model(model)
    if mode not in MODES:
        raise EmpiricalNTKError(f"mode {mode!r} is unknown; choose one of {', '.join(MODES)}")
    if method not in METHODS:
        raise EmpiricalNTKError(f"method {method!r} is unknown; choose one of {', '.join(METHODS)}")
    named = {k: p for k, p in model.named_parameters() if p.requires_grad}
    if not named:
        raise EmpiricalNTKError("empirical_ntk: the model has no trainable parameters")
    ref = next(iter(named.values()))
    x1 = torch.as_tensor(x1).to(device=ref.device, dtype=ref.dtype if torch.as_tensor(x1).is_floating_point() else None)
    x2 = x1 if x2 is None else torch.as_tensor(x2).to(device=ref.device,
                                                      dtype=ref.dtype if torch.as_tensor(x2).is_floating_point() else None)
    same = x2 is x1
    with torch.no_grad():
        outputs = model(x1[:1]).reshape(1, -1).shape[1]
    n_params = sum(p.numel() for p in named.values())
    n1, n2 = x1.shape[0], x2.shape[0]
    item = ref.element_size()
    out_bytes = n1 * n2 * (outputs * outputs if mode == "full" else outputs if mode == "diagonal" else 1) * item
    free = memory_budget - out_bytes
    per_example = outputs * n_params * item  # one example's Jacobian
    if free < 2 * per_example:
        raise EmpiricalNTKError(f"empirical_ntk: the {n1}×{n2} {mode} output needs {gib(out_bytes)} and two examples' "
                                f"Jacobians {gib(2 * per_example)}, over the memory budget of {gib(memory_budget)}; "
                                "raise memory_budget, use mode='trace', or pass fewer examples")
    if method == "auto":
        costs = ntk_costs(n1, n2, outputs, n_params, _forward_flops(model, x1, n_params), mode)
        method = min(costs, key=costs.get)
    chunk = chunk_size or max(1, min(max(n1, n2), int(free // (3 * per_example))))
    kwargs = dict(named=named, x1=x1, x2=x2, same=same, mode=mode, chunk=chunk, outputs=outputs, progress=progress)
    if method == "loop":
        return _run(model, _loop_jacobians, "jacobian", **kwargs)
    attempts = [method] if method == "jacobian" else [method, "jacobian"]  # no forward-mode AD: contract instead
    for i, attempt in enumerate(attempts):
        try:
            return _run(model, _vmap_jacobians, attempt, **kwargs)
        except (RuntimeError, NotImplementedError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            fallback = "Jacobian contraction" if i + 1 < len(attempts) else "a loop over examples"
            warnings.warn(f"empirical_ntk: torch.func cannot run {attempt} on {type(model).__name__} ({first}); "
                          f"falling back to {fallback}", stacklevel=2)
    return _run(model, _loop_jacobians, "jacobian", **kwargs)


def _vmap_jacobians(model: nn.Module, named: dict, xs: torch.Tensor) -> list[torch.Tensor]:
    params = {k: p.detach() for k, p in named.items()}
    buffers = dict(model.named_buffers())

    def single(p, x):
        return functional_call(model, (p, buffers), (x.unsqueeze(0),)).reshape(-1)

    jac = vmap(jacrev(single), (None, 0))(params, xs)
    return [jac[k].reshape(xs.shape[0], jac[k].shape[1], -1) for k in named]


def _loop_jacobians(model: nn.Module, named: dict, xs: torch.Tensor) -> list[torch.Tensor]:
    plist = list(named.values())
    rows = [[] for _ in plist]
    for i in range(xs.shape[0]):
        with torch.enable_grad():
            out = model(xs[i:i + 1]).reshape(-1)
            per_output = [[] for _ in plist]
            for a in range(out.shape[0]):
                grads = torch.autograd.grad(out[a], plist, retain_graph=a < out.shape[0] - 1, allow_unused=True)
                for k, (g, p) in enumerate(zip(grads, plist)):
                    per_output[k].append(torch.zeros(p.numel(), dtype=p.dtype, device=p.device) if g is None
                                         else g.reshape(-1))
        for k in range(len(plist)):
            rows[k].append(torch.stack(per_output[k]))
    return [torch.stack(r) for r in rows]


def _ntk_vp_block(model: nn.Module, named: dict, jac1: list[torch.Tensor], x2: torch.Tensor, outputs: int) -> torch.Tensor:
    """Θ[i, j, a, b] = J_a(x1_i) · J_b(x2_j) by pushing each row J_a(x1_i) through the batch x2 (forward mode)."""
    params = {k: p.detach() for k, p in named.items()}
    buffers = dict(model.named_buffers())
    c = jac1[0].shape[0]
    tangents = {k: j.reshape(c * outputs, *p.shape) for (k, p), j in zip(named.items(), jac1)}

    def push(v):
        return jvp(lambda p: functional_call(model, (p, buffers), (x2,)).reshape(x2.shape[0], -1), (params,), (v,))[1]

    res = vmap(push, chunk_size=max(1, min(c * outputs, 32)))(tangents)  # (c·O, n2, O)
    return res.reshape(c, outputs, x2.shape[0], outputs).permute(0, 2, 1, 3)


def _run(model, jacobians, method, *, named, x1, x2, same, mode, chunk, outputs, progress) -> torch.Tensor:
    n1, n2 = x1.shape[0], x2.shape[0]
    ref = next(iter(named.values()))
    shape = {"full": (n1, n2, outputs, outputs), "trace": (n1, n2), "diagonal": (n1, n2, outputs)}[mode]
    out = torch.empty(shape, dtype=ref.dtype, device=ref.device)
    blocks = math.ceil(n1 / chunk) * math.ceil(n2 / chunk)
    bar = Progress(progress, n1 * n2, blocks, f"empirical NTK ({method})")
    cached: dict[int, list[torch.Tensor]] = {}
    keep_all = math.ceil(n2 / chunk) <= 2  # the x2 Jacobians are cheap to keep when they are at most two chunks
    for i in range(0, n1, chunk):
        j1 = jacobians(model, named, x1[i:i + chunk])
        for j in range(0, n2, chunk):
            rows, cols = slice(i, min(i + chunk, n1)), slice(j, min(j + chunk, n2))
            if method == "ntk_vp":
                with torch.no_grad():
                    block = _select(_ntk_vp_block(model, named, j1, x2[cols], outputs), mode)
            else:
                if same and i == j:
                    j2 = j1
                elif j in cached:
                    j2 = cached[j]
                else:
                    j2 = jacobians(model, named, x2[cols])
                    if keep_all:
                        cached[j] = j2
                block = sum(torch.einsum(_CONTRACT[mode], a, b) for a, b in zip(j1, j2))
            out[rows, cols] = block
            bar.advance((rows.stop - rows.start) * (cols.stop - cols.start))
    return out
