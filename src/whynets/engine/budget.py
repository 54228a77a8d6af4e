"""A population's memory, estimated before it is built, and refused past the budget (``whynets.resources``).

One member is built on the meta device (shapes only, nothing allocated); a population of K costs K members times
``COPIES`` copies of their parameters and buffers: the weights, their gradients, two Adam moments, the frozen
copies of stopped members, and the optimizer and state snapshots a checkpoint takes. Activations are not counted
(they depend on the batch, not on the model), so the estimate is a floor.

    >>> from whynets.engine.budget import population_bytes   # population_bytes(lambda: build(...), k=8)
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from whynets.resources import check_memory, fmt_bytes

__all__ = ["COPIES", "module_bytes", "member_bytes", "population_bytes", "check_population", "shapes_only"]

COPIES = 8


def shapes_only(model, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """The module a ``ModelSpec`` describes, uninitialized (call it under ``torch.device("meta")``: shapes only). A
    user's factory is called as it is (its own initialization runs on meta tensors: nothing is allocated)."""
    if model.kind == "factory":
        from whynets.models.factory import call_factory

        return call_factory(model.factory, model.factory_args)
    from whynets.models import _make  # the construction half of models.build, before any initialization

    return _make(model, input_shape, n_classes)


def module_bytes(module: nn.Module) -> int:
    """Bytes of ``module``'s parameters and buffers (real or meta tensors alike)."""
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


def member_bytes(build_one: Callable[[], nn.Module]) -> int | None:
    """Bytes of one member's parameters and buffers, ``build_one()`` run on the meta device; None when the model
    cannot be built there (a user's code that needs real numbers to construct itself: it is then not checked)."""
    try:
        with torch.device("meta"):
            module = build_one()
        return module_bytes(module)
    except Exception:  # noqa: BLE001 - any failure on meta means: no estimate; the real build reports real errors
        return None


def population_bytes(build_one: Callable[[], nn.Module], k: int) -> int | None:
    one = member_bytes(build_one)
    return None if one is None else COPIES * k * one


def check_population(build_one: Callable[[], nn.Module], k: int, what: str, device: str | torch.device = "cpu") -> None:
    """Refuse a population of ``k`` members that ``build_one`` builds when it would outgrow the memory budget;
    ``what`` names the model (e.g. its spec's fields)."""
    one = member_bytes(build_one)
    if one is None:
        return
    check_memory(COPIES * k * one, f"{what}: {k} member(s) of {fmt_bytes(one)} of parameters each (x{COPIES}: "
                 "weights, gradients, optimizer moments, frozen and checkpoint copies)", str(device))
