"""Question 4's curvature stage, planned against the memory budget before any of it runs.

The stage's memory grows with the parameter count P, not with the data: Lanczos with full re-orthogonalization keeps
every basis vector (its default allows max(100, 20k) of them: 100 float64 vectors of a 124M-parameter model are
99 GB), Hutch++ keeps a sketch of 2/3 of its products, a double-backward product holds the flattened weights, the
gradient with its graph and the product, and the per-example gradients of the Fisher trace are a chunk × P block.
So before the stage runs, its peak is estimated from P and from one example's activations (forward hooks), and the
plan is, in order of preference:

1. float64 (the default) with Lanczos allowed as many steps as the memory left under the budget holds;
2. the same in float32 (half the bytes, the precision the model was trained in), when float64 cannot hold
   ``3k + 10`` Lanczos steps;
3. no curvature at all, when not even float32 can: the reason (what it needs, what is free, how to change that) is
   recorded in the diagnosis and shown in the report.

Hutch++'s products are capped to what fits beside the fixed part. The Fisher trace is exact (one backward pass per
class and example) up to ``FISHER_EXACT_MAX`` classes; above that — a language model's vocabulary — it samples
``FISHER_SAMPLES`` labels per example from the model's own predictions (unbiased, with a Student-t interval).

"Free" is the budget (``--memory-budget``, default half of this machine's memory) less what the process already
holds (its resident set on Linux; the allocated CUDA memory on a GPU). The plan is part of the stage's store key, so
a run under a larger budget computes the stage again instead of reading a smaller plan back.

    >>> plan = curvature_plan(model, x_one, n_examples=2000, top_k=10, trace_matvecs=60, classes=10)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from whynets.resources import fmt_bytes, memory_budget

__all__ = ["curvature_plan", "free_bytes", "resident_bytes", "activation_numel", "FISHER_EXACT_MAX", "FISHER_SAMPLES",
           "FIXED_VECTORS", "ACTIVATION_COPIES", "min_lanczos_steps", "plan_key", "describe"]

FISHER_EXACT_MAX = 32  # classes up to which the Fisher trace sums over every class
FISHER_SAMPLES = 8  # labels sampled per example above that
FIXED_VECTORS = 11  # P-sized vectors a double-backward product holds: flat weights, gradient + graph, product, Lanczos
# work vectors (measured: 12 on a 30M- and 11 on a 124M-parameter transformer, bench spectra --large)
ACTIVATION_COPIES = 4  # forward saved for backward, the gradient's graph, the double backward's own
FISHER_CHUNK_MAX = 256


def min_lanczos_steps(k: int) -> int:
    """The fewest Lanczos steps worth running for k eigenvalues (below this the top-k rarely converge)."""
    return 3 * k + 10


def resident_bytes(device: str = "cpu") -> int:
    """What this process holds now: CUDA's allocated memory on a GPU, the resident set (VmRSS) on Linux, else 0."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.memory_allocated(torch.device(device)))
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def free_bytes(device: str = "cpu") -> tuple[int, str]:
    """(bytes the budget leaves to new allocations, how the budget was set)."""
    budget, how = memory_budget(device)
    return max(0, budget - resident_bytes(device)), how


def activation_numel(module: nn.Module, x_one: torch.Tensor) -> int:
    """Elements of every submodule's output for one example (forward hooks, no gradient): what a backward pass
    keeps per example, roughly."""
    total = 0

    def hook(_m, _inp, out):
        nonlocal total
        for t in (out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(t, torch.Tensor):
                total += t.numel()

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.no_grad():
            module(x_one)
    finally:
        for h in handles:
            h.remove()
    return max(total, 1)


def curvature_plan(module: nn.Module, x_one: torch.Tensor, *, n_examples: int, top_k: int, trace_matvecs: int,
                   classes: int | None, device: str = "cpu", free: int | None = None, how: str = "") -> dict[str, Any]:
    """The curvature stage's precision, Lanczos step cap, Hutch++ products and Fisher kind, or why it is skipped
    (``{"skip": reason}``). ``classes`` is None for a regressor (no Fisher trace). ``free`` defaults to
    ``free_bytes(device)``."""
    if free is None:
        free, how = free_bytes(device)
    P = sum(p.numel() for p in module.parameters() if p.requires_grad)
    acts = activation_numel(module, x_one) * n_examples
    wanted = min(P, max(100, 20 * top_k))  # lanczos_eigenpairs's own default cap
    floor = min(P, min_lanczos_steps(top_k))
    tried = []
    for dtype in (torch.float64, torch.float32):
        b = torch.empty((), dtype=dtype).element_size()
        fixed = FIXED_VECTORS * P * b + ACTIVATION_COPIES * acts * b
        room = (free - fixed) // (P * b)
        tried.append(f"{str(dtype).replace('torch.', '')} {fmt_bytes(fixed + floor * P * b)}")
        if room < floor:
            continue
        block = 10  # Hutch++'s block of products
        trace_fit = trace_matvecs if 2 * trace_matvecs // 3 + block <= room else int(3 * max(0, room - block) // 2) // 15 * 15
        steps = int(min(wanted, room)) if room >= wanted else max(floor, int(room) // 10 * 10)  # steps of 10: a rerun
        # whose resident set moved by a few MB plans the same stage (the plan is in the stage's store key)
        plan: dict[str, Any] = {"dtype": str(dtype).replace("torch.", ""), "lanczos_steps": steps,
                                "trace_matvecs": trace_fit if trace_fit >= 6 else 0,
                                "needs": int(fixed + steps * P * b), "free": int(free)}
        if classes is not None:
            exact = classes <= FISHER_EXACT_MAX
            chunk = int(max(1, min(FISHER_CHUNK_MAX, (free - fixed) // max(1, 3 * P * b))))
            plan["fisher"] = {"kind": "exact" if exact else "true", "samples": 0 if exact else FISHER_SAMPLES,
                              "chunk": chunk}
        return plan
    return {"skip": f"the curvature of {P:,} parameters on {n_examples} example(s) needs about {' or '.join(tried)} "
                    f"(weights, gradient graph and the fewest {floor} Lanczos vectors), and the memory budget leaves "
                    f"{fmt_bytes(free)} ({how}); raise --memory-budget or set curvature_examples/top_k lower",
            "free": int(free)}


def plan_key(plan: dict[str, Any]) -> str:
    """The part of a plan that changes the stage's numbers (what the store key needs)."""
    if "skip" in plan:
        return "skip"
    f = plan.get("fisher") or {}
    return f"{plan['dtype']}:{plan['lanczos_steps']}:{plan['trace_matvecs']}:{f.get('kind', '-')}{f.get('samples', '')}"


def describe(plan: dict[str, Any]) -> str:
    if "skip" in plan:
        return plan["skip"]
    return (f"{plan['dtype']}, Lanczos at most {plan['lanczos_steps']} steps, Hutch++ {plan['trace_matvecs']} products"
            + (f", Fisher {plan['fisher']['kind']}" + (f" ({plan['fisher']['samples']} sampled labels per example)"
                                                       if plan['fisher']['samples'] else "")
               if plan.get("fisher") else "") + f" — about {fmt_bytes(plan['needs'])} of {fmt_bytes(plan['free'])} free")

