"""THE training loop: trains a `Population` on a `Dataset` as a `TrainSpec` says.

* Data order derives from ``(member seed, epoch)``, dropout noise from ``(seeds, step)``, the LR from
  the step, so a checkpoint (params, optimizer state, step, flags, history) resumes exactly.
* A member whose loss turns NaN/Inf is marked diverged and frozen; the others go on.
* With ``fit_acc`` each member's first (checked) step with that full-train-set accuracy is recorded as
  its ``fit_step``; with ``stop_at_fit`` the member is then frozen, so its result does not depend on
  its neighbours' progress.
* Measurements run at log-spaced steps (``eval_points``) or every ``eval_every`` steps.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from whynets.data import Dataset
from whynets.spec import Spec

from .optim import lr_at, make_optimizer
from .population import Population, mix_seed

__all__ = ["TrainSpec", "TrainResult", "train", "evaluate", "eval_steps", "member_loss"]


@dataclass(frozen=True)
class TrainSpec(Spec):
    optimizer: str = field(default="adam", metadata={"help": "sgd | adam | adamw"})
    lr: float = field(default=1e-3, metadata={"help": "base learning rate"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 penalty (decoupled for adamw)"})
    batch_size: int = field(default=100, metadata={"help": "examples per step per member (0 = full batch)"})
    steps: int = field(default=1000, metadata={"help": "optimizer steps per member"})
    schedule: str = field(default="constant", metadata={"help": "constant | cosine | linear | step"})
    warmup_steps: int = field(default=0, metadata={"help": "linear LR warm-up steps"})
    loss: str = field(default="ce", metadata={"help": "ce (cross-entropy) | mse (one-hot squared error)"})
    eval_points: int = field(default=20, metadata={"help": "log-spaced measurement steps (incl. 0 and the end)"})
    eval_every: int = field(default=0, metadata={"help": "if > 0, measure every this many steps instead"})
    fit_acc: float = field(default=0.0, metadata={"help": "record each member's first checked step with train accuracy >= this (0 = off)"})
    fit_check_every: int = field(default=0, metadata={"help": "check full train accuracy every N steps (0 = only at measurements)"})
    stop_at_fit: bool = field(default=False, metadata={"help": "freeze a member once it reaches fit_acc"})


@dataclass
class TrainResult:
    history: list[dict[str, Any]]           # one row per measurement: step, and per-member lists
    final: dict[str, list[float]]           # metrics at the end, per member
    fit_step: list[int | None]              # first checked step with train acc >= fit_acc
    diverged: list[bool]
    diverged_step: list[int | None]
    steps: int
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"history": self.history, "final": self.final, "fit_step": self.fit_step, "diverged": self.diverged,
                "diverged_step": self.diverged_step, "steps": self.steps, "wall_s": self.wall_s}


def eval_steps(total: int, points: int, every: int = 0) -> list[int]:
    """Measurement steps: 0, log-spaced up to ``total`` (or every ``every`` steps), always incl. ``total``."""
    if every > 0:
        steps = set(range(0, total + 1, every))
    else:
        steps = set(np.unique(np.round(np.geomspace(1, max(total, 1), max(points - 1, 1))).astype(int)).tolist())
        steps.add(0)
    steps.add(total)
    return sorted(s for s in steps if 0 <= s <= total)


def member_loss(logits: torch.Tensor, y: torch.Tensor, kind: str, n_classes: int) -> torch.Tensor:
    """Per-member mean loss: logits (K, B, C), labels (K, B) or (B,) -> (K,)."""
    k, b, c = logits.shape
    if y.dim() == 1:
        y = y.expand(k, b)
    if kind == "ce":
        return F.cross_entropy(logits.reshape(k * b, c), y.reshape(k * b), reduction="none").view(k, b).mean(1)
    if kind == "mse":
        target = F.one_hot(y, n_classes).to(logits.dtype) if not y.is_floating_point() else y
        return ((logits - target) ** 2).sum(-1).mean(1)
    raise ValueError(f"unknown loss {kind!r}; choose ce or mse")


@torch.no_grad()
def evaluate(pop: Population, x: torch.Tensor, y: torch.Tensor, loss: str, n_classes: int,
             chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and accuracy of every member over (x, y), in eval mode, chunked: two (K,) tensors."""
    was_training = pop.training
    pop.eval()
    total_loss = torch.zeros(pop.size, device=x.device)
    correct = torch.zeros(pop.size, device=x.device)
    for i in range(0, len(y), chunk):
        xb, yb = x[i:i + chunk], y[i:i + chunk]
        logits = pop(xb)
        total_loss += member_loss(logits, yb, loss, n_classes) * len(yb)
        correct += (logits.argmax(-1) == yb).sum(-1).to(correct.dtype)
    pop.train(was_training)
    return total_loss / len(y), correct / len(y)


def _epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed, "data", epoch)))


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(pop: Population, data: Dataset, spec: TrainSpec, *, checkpoint: Path | None = None,
          measure: Callable[[Population, int], dict[str, list[float]]] | None = None,
          on_measure: Callable[[dict[str, Any]], None] | None = None,
          progress: Callable[[int], None] | None = None, checkpoint_seconds: float = 20.0) -> TrainResult:
    """Train every member of ``pop`` for ``spec.steps`` steps; returns the history and final metrics.

    ``measure(pop, step)`` adds per-member values to each measurement row; ``on_measure(row)`` sees
    each row as it is made (e.g. to append to metrics.jsonl); ``progress(n)`` is told of n steps done.
    With ``checkpoint`` the state is saved there atomically every ``checkpoint_seconds`` and the run
    resumes from it if it exists.
    """
    started = time.perf_counter()
    device = pop.device
    data = data.to(device)
    n, k = len(data.y), pop.size
    batch = spec.batch_size if 0 < spec.batch_size < n else n
    full_batch = batch == n
    per_epoch = -(-n // batch)
    leaves = list(pop.params.values())
    opt = make_optimizer(spec.optimizer, leaves, spec.lr, spec.momentum, spec.weight_decay)
    marks = set(eval_steps(spec.steps, spec.eval_points, spec.eval_every))

    state = {"step": 0, "history": [], "diverged": [False] * k, "diverged_step": [None] * k,
             "stopped": [False] * k, "fit_step": [None] * k, "frozen": None}
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        pop.load_state_dict(saved["population"])
        opt.load_state_dict(saved["optimizer"])
        state = saved["state"]
        if progress:
            progress(state["step"])
    last_save = time.perf_counter()

    def inactive() -> torch.Tensor:
        return torch.tensor([d or s for d, s in zip(state["diverged"], state["stopped"])], device=device)

    def freeze(members: list[int]) -> None:
        frozen = state["frozen"] or {name: p.detach().clone() for name, p in pop.params.items()}
        for name, p in pop.params.items():
            frozen[name][members] = p.detach()[members]
        state["frozen"] = frozen

    def record(step: int) -> None:
        tr_loss, tr_acc = evaluate(pop, data.x, data.y, spec.loss, data.n_classes)
        te_loss, te_acc = evaluate(pop, data.x_test, data.y_test, spec.loss, data.n_classes)
        row = {"step": step, "train_loss": tr_loss.tolist(), "train_acc": tr_acc.tolist(),
               "test_loss": te_loss.tolist(), "test_acc": te_acc.tolist()}
        if measure is not None:
            row.update(measure(pop, step))
        state["history"].append(row)
        _check_fit(step, tr_acc)
        if on_measure:
            on_measure(row)

    def _check_fit(step: int, tr_acc: torch.Tensor) -> None:
        if spec.fit_acc <= 0:
            return
        newly = [i for i in range(k) if state["fit_step"][i] is None and not state["diverged"][i]
                 and tr_acc[i] >= spec.fit_acc]
        for i in newly:
            state["fit_step"][i] = step
        if newly and spec.stop_at_fit:
            for i in newly:
                state["stopped"][i] = True
            freeze(newly)

    def save() -> None:
        if checkpoint is not None:
            _atomic_torch_save({"population": pop.state_dict(), "optimizer": opt.state_dict(), "state": state}, checkpoint)

    pop.train(True)
    order, order_epoch = None, -1
    stochastic = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in pop.base.modules())
    if state["step"] == 0 and not state["history"]:
        record(0)
    while state["step"] < spec.steps and not all(state["diverged"][i] or state["stopped"][i] for i in range(k)):
        step = state["step"]
        epoch, pos = divmod(step, per_epoch)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, spec.steps, spec.lr, spec.schedule, spec.warmup_steps)
        if full_batch:
            xb, yb, per_member = data.x, data.y, False
        else:
            if order_epoch != epoch:  # every member's permutation of this epoch, drawn once
                order = torch.stack([_epoch_order(s, epoch, n) for s in pop.seeds]).to(device)
                order_epoch = epoch
            idx = order[:, pos * batch:(pos + 1) * batch]
            xb, yb, per_member = data.x[idx], data.y[idx], True
        if stochastic:  # dropout noise from (seeds, step): reproducible on resume, global RNG restored after
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                (torch.cuda.manual_seed if device.type == "cuda" else torch.random.default_generator.manual_seed)(
                    mix_seed(*pop.seeds, "dropout", step))
                logits = pop(xb, per_member=per_member)
        else:
            logits = pop(xb, per_member=per_member)
        losses = member_loss(logits, yb, spec.loss, data.n_classes)
        bad = ~torch.isfinite(losses.detach())
        if bad.any():
            newly = [i for i in range(k) if bad[i] and not state["diverged"][i]]
            for i in newly:
                state["diverged"][i], state["diverged_step"][i] = True, step
            if newly:
                freeze(newly)
        off = inactive()
        total = torch.where(off, torch.zeros_like(losses), losses).sum()
        opt.zero_grad(set_to_none=True)  # backward then writes the gradients instead of adding to zeros
        total.backward()
        with torch.no_grad():
            if off.any():
                for p in leaves:
                    p.grad[off] = 0.0
                    p.grad.nan_to_num_(0.0, 0.0, 0.0)
        opt.step()
        if off.any():
            with torch.no_grad():
                for name, p in pop.params.items():
                    p[off] = state["frozen"][name][off]
        state["step"] = step + 1
        if progress:
            progress(1)
        if state["step"] in marks:
            record(state["step"])
        elif (spec.fit_check_every and state["step"] % spec.fit_check_every == 0 and spec.fit_acc > 0
              and any(f is None for f in state["fit_step"])):
            _check_fit(state["step"], evaluate(pop, data.x, data.y, spec.loss, data.n_classes)[1])
        if checkpoint is not None and time.perf_counter() - last_save > checkpoint_seconds:
            save()
            last_save = time.perf_counter()
    if state["history"][-1]["step"] != state["step"]:
        record(state["step"])
    save()
    last = state["history"][-1]
    final = {key: last[key] for key in last if key != "step"}
    return TrainResult(state["history"], final, state["fit_step"], state["diverged"], state["diverged_step"],
                       state["step"], time.perf_counter() - started)
