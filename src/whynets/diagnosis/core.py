"""The pieces every diagnosis stage shares: the user's trained module, its data, its loss, and its numbers measured
by the same code that measures a population member (a one-member ``Population``).

A model handed over as an ``nn.Module`` instance (the Python API) becomes a factory too: ``instance_factory``
deep-copies it and re-initializes every submodule with ``reset_parameters`` under a seeded RNG, so the engine can
re-train the architecture; a parameter no submodule resets is refused (give a factory instead).
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from whynets.data import Dataset
from whynets.engine import Population, evaluate, loss_for, per_example_outcomes
from whynets.engine.state import TrainState, save_state
from whynets.models import build
from whynets.store import file_digest

from .model_io import WeightsError, apply_weights, check_data_output, infer_loss, load_weights
from .spec import DiagnoseSpec

__all__ = ["user_module", "loss_kind", "instrument_loss", "measure_module", "n_params", "nonzero_params",
           "instance_factory", "register_instance", "weights_digest", "init_state_cell", "INSTANCES"]

# Python-API models, by digest (a process-local registry: the CLI never uses it; a diagnose run in another process
# sees only file factories)
INSTANCES: dict[str, nn.Module] = {}


def weights_digest(spec: DiagnoseSpec) -> str | None:
    return file_digest(spec.weights) if spec.weights else None


def user_module(spec: DiagnoseSpec, ds: Dataset, weights: str | None = None) -> nn.Module:
    """The user's model with their trained weights (or ``weights``), checked against the data's output shape."""
    module = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
    path = weights or spec.weights
    if path:
        apply_weights(module, load_weights(path), where=str(path))
    check_data_output(module, ds)
    with torch.no_grad():  # a model that outputs NaN anywhere is named here, not blamed on a later stage's file
        for name, x in (("training", ds.x), ("test", ds.x_test)):
            for i in range(0, len(x), 1024):
                out = module.eval()(x[i:i + 1024])
                if not bool(torch.isfinite(out).all()):
                    bad = i + int((~torch.isfinite(out)).flatten(1).any(1).nonzero()[0])
                    raise WeightsError(f"--weights {path or '(the factory)'}: your model outputs NaN or inf on {name} "
                                       f"example {bad} (of {len(x)}); check the weights (a diverged run?) and the "
                                       "inputs before diagnosing it")
    return module.eval()


def loss_kind(spec: DiagnoseSpec, ds: Dataset) -> str:
    return infer_loss(ds.y, spec.loss)


def instrument_loss(kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss the instruments measure, the same as the engine's: cross-entropy, or squared error summed over
    outputs and averaged over the batch."""
    if kind == "ce":
        return F.cross_entropy

    def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = y.unsqueeze(-1) if y.dim() == 1 else y
        return ((out - target.to(out.dtype)) ** 2).sum(-1).mean()
    return mse


def measure_module(module: nn.Module, ds: Dataset, kind: str) -> dict[str, Any]:
    """Train and test loss/accuracy of one module (as a one-member population), and which test examples it gets
    wrong (for comparisons paired on the same examples)."""
    pop = Population([copy.deepcopy(module)])
    tr_loss, tr_acc = evaluate(pop, ds.x, ds.y, loss_for(kind, ds.y), ds.n_classes)
    te_loss, te_acc = evaluate(pop, ds.x_test, ds.y_test, loss_for(kind, ds.y_test), ds.n_classes)
    out: dict[str, Any] = {"train_loss": float(tr_loss[0]), "train_acc": float(tr_acc[0]), "test_loss": float(te_loss[0]),
                           "test_acc": float(te_acc[0]), "n_test": len(ds.y_test), "params": n_params(module)}
    # how it did on each test example: what every comparison with a re-trained candidate is paired on
    outcome = per_example_outcomes(pop, ds.x_test, ds.y_test)[0]
    out["test_sq_errors" if ds.y_test.is_floating_point() else "test_wrong"] = outcome
    return out


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def nonzero_params(state: dict[str, torch.Tensor], member: int | None = None) -> int:
    """Non-zero entries of a (stacked, if ``member`` is given) parameter dict."""
    return int(sum(int((t[member] if member is not None else t).ne(0).sum()) for t in state.values()))


def register_instance(module: nn.Module) -> str:
    """Register a Python-API module; returns the id the instance factory builds it by (architecture digest)."""
    text = type(module).__qualname__ + repr([(k, tuple(v.shape)) for k, v in module.state_dict().items()])
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    resettable = {id(p) for m in module.modules() if hasattr(m, "reset_parameters") for p in m.parameters(recurse=False)}
    stray = [n for n, p in module.named_parameters() if id(p) not in resettable]
    if stray:
        raise WeightsError(f"cannot re-initialize {stray[:4]}: no submodule with reset_parameters() owns them; pass a "
                           "factory instead (wn.diagnose(..., factory='module:function') or --model module:function)")
    INSTANCES[key] = copy.deepcopy(module).cpu()
    return key


def instance_factory(key: str) -> nn.Module:
    """A fresh copy of a registered instance, re-initialized (seeded by the caller's ``fork_rng``)."""
    if key not in INSTANCES:
        raise WeightsError(f"model instance {key} is not registered in this process (Python API only)")
    module = copy.deepcopy(INSTANCES[key])
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return module


def init_state_cell(ctx, spec: DiagnoseSpec, ds: Dataset, seeds: list[int]) -> dict[str, Any] | None:
    """With ``--init``: a cell holding the user's initial weights as a population's step-0 state (every member the
    same init, each with its own data order), the parent tickets rewind to. None without ``--init``."""
    if not spec.init:
        return None

    def fn(cell_dir: Path) -> dict[str, Any]:
        module = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
        apply_weights(module, load_weights(spec.init), where=spec.init)
        pop = Population([copy.deepcopy(module) for _ in seeds], seeds)
        sd = pop.state_dict()
        k = len(seeds)
        state = TrainState(step=0, params=sd["params"], buffers=sd["buffers"], optimizer={"state": {}, "param_groups": []},
                           seeds=list(seeds), history=[], diverged=[False] * k, diverged_step=[None] * k,
                           stopped=[False] * k, fit_step=[None] * k)
        save_state(state, cell_dir / "state.safetensors")
        return {"cell": cell_dir.name, "init": spec.init}

    return ctx.cell({"stage": "user-init"}, fn, require=("state.safetensors",), model=spec.model,
                    init=file_digest(spec.init), seeds=seeds)
