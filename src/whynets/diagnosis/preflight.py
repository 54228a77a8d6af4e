"""Checks a diagnosis makes before any work, so that a mistake costs a second and one line, not minutes of compute:
the factory's keywords (``--model-arg``, ``--width-arg``) against its signature, the ``--init`` file against the
model, the size of the training set; and what the engine will do with the model (vmap, or member by member).

    >>> spec = preflight(spec, ds, log=print)   # the spec back, with the width filled in from the factory's default
"""

from __future__ import annotations

import inspect
import json
from dataclasses import replace
from typing import Any, Callable

import torch

from whynets.data import Dataset
from whynets.engine import population_for
from whynets.models import build
from whynets.models.factory import resolve_factory
from whynets.spec import SpecError

from .model_io import apply_weights, check_data_output, load_weights
from .spec import DiagnoseSpec

__all__ = ["preflight", "factory_keywords"]

MIN_EXAMPLES = 10  # the classical baselines' 3-fold cross-validation and the students need a few per fold


def factory_keywords(target: str) -> tuple[dict[str, Any], bool]:
    """({keyword: default or inspect.Parameter.empty}, accepts **kwargs) of the factory ``target`` names."""
    fn = resolve_factory(target)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check against
        return {}, True
    keywords = {n: p.default for n, p in params.items()
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return keywords, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _check_factory(spec: DiagnoseSpec) -> DiagnoseSpec:
    if spec.model.kind != "factory" or spec.model.factory.startswith("whynets.diagnosis.core:"):
        return spec
    target = spec.model.factory
    args = json.loads(spec.model.factory_args or "{}")
    keywords, open_ = factory_keywords(target)
    known = ", ".join(keywords) or "none"
    unknown = [k for k in args if k not in keywords]
    if unknown and not open_:
        raise SpecError(f"--model-arg {unknown[0]}: {target} takes no keyword {unknown[0]!r} (it takes: {known})")
    filled = False
    for flag, name in (("--width-arg", spec.width_arg), ("--depth-arg", spec.depth_arg)):
        what = flag[2:7]
        if name and name not in keywords and not open_:
            raise SpecError(f"{flag} {name}: {target} takes no keyword {name!r} (it takes: {known}); name the keyword "
                            f"that sets your model's {what}")
        if name and name not in args:
            default = keywords.get(name, inspect.Parameter.empty)
            if not isinstance(default, int) or isinstance(default, bool):
                raise SpecError(f"{flag} {name}: give your model's {what} too (--model-arg {name}=N): {target} has "
                                "no whole-number default for it")
            args[name], filled = default, True  # the factory's own default is what your weights were built with
        if name:
            value = args[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SpecError(f"--model-arg {name}={value!r}: the {what} must be a whole number >= 1")
    if filled:
        spec = replace(spec, model=replace(spec.model, factory_args=json.dumps(args)))
    return spec


def _check_data(spec: DiagnoseSpec, ds: Dataset) -> None:
    if len(ds.y) < MIN_EXAMPLES:
        raise SpecError(f"the training set has {len(ds.y)} example(s); a diagnosis needs at least {MIN_EXAMPLES} "
                        "(cross-validation, students and bounds all fit on it)")
    if len(ds.y_test) < 1:
        raise SpecError("the test set is empty; give x_test and y_test (every answer is judged on the test set)")
    if not ds.y.is_floating_point() and len(torch.unique(ds.y)) < 2:
        raise SpecError("the training labels hold one class only; a classifier needs at least two")


def _check_init(spec: DiagnoseSpec, ds: Dataset) -> None:
    if spec.init:
        module = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
        apply_weights(module, load_weights(spec.init), where=f"--init {spec.init}")


def vectorization(spec: DiagnoseSpec, ds: Dataset, device: torch.device | str = "cpu") -> str | None:
    """Why the re-trainings run member by member (vmap cannot batch the module), or None."""
    pop = population_for(spec.model, ds, list(spec.seeds)[:2], device)
    with torch.no_grad():
        pop(ds.x[:2].to(pop.device))
    if pop.mode == "vmap":
        return None
    if pop.vmap_error:
        return f"torch.func.vmap cannot batch your model ({pop.vmap_error})"
    return "your model keeps BatchNorm running statistics, which vmap cannot update in place"


def preflight(spec: DiagnoseSpec, ds: Dataset, log: Callable[[str], None] = lambda m: None,
              device: torch.device | str = "cpu") -> DiagnoseSpec:
    """Every check that needs no training, in the order a user would fix them; the spec back (with the width taken
    from the factory's default where ``--width-arg`` names one and ``--model-arg`` does not)."""
    spec = _check_factory(spec)
    _check_data(spec, ds)
    _check_init(spec, ds)
    probe = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
    check_data_output(probe, ds)
    if ds.y.is_floating_point() and spec.loss == "auto" and bool(torch.all(ds.y == ds.y.round())):
        log("diagnose: your targets y are floats holding whole numbers: treated as a regression (mse), as float "
            "targets always are; for classification save y as integers")
    why = vectorization(spec, ds, device)
    if why:
        log(f"diagnose: {why}; its {len(spec.seeds)} re-trainings per configuration run member by member, not as one "
            "batched model (the time estimate includes it)")
    return spec
