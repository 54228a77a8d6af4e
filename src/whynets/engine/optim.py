"""Optimizers and learning-rate schedules for stacked populations.

Every optimizer here is elementwise (SGD with momentum, Adam, AdamW), so applying it to a stacked
tensor updates each member exactly as it would update that member alone.
"""

from __future__ import annotations

import math

import torch

__all__ = ["make_optimizer", "lr_at", "OPTIMIZERS", "SCHEDULES"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "linear", "step")


def make_optimizer(name: str, params: list[torch.Tensor], lr: float, momentum: float, weight_decay: float,
                   nesterov: bool = False) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=nesterov and momentum > 0)
    # the fused kernels (one pass over memory instead of ~10) compute the same elementwise update
    fused = {"fused": True} if all(p.device.type in ("cpu", "cuda") for p in params) else {}
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **fused)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **fused)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def lr_at(step: int, total: int, base: float, schedule: str, warmup: int = 0) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up, then constant/cosine/linear decay or ÷10 at 50%, 75%."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    frac = (step - warmup) / max(1, total - warmup)
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1 + math.cos(math.pi * frac))
    if schedule == "linear":
        return base * (1 - frac)
    return base * (0.1 ** ((frac >= 0.5) + (frac >= 0.75)))
