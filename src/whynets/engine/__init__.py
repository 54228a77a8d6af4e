"""The engine: ONE training loop for populations of same-shaped models.

    >>> import whynets as wn
    >>> ds = wn.data.load(wn.data.DataSpec(name="digits"))
    >>> pop = wn.engine.population_for(wn.models.ModelSpec(width=32), ds, seeds=[0, 1, 2])
    >>> result = wn.engine.train(pop, ds, wn.engine.TrainSpec(steps=200))
"""

from __future__ import annotations

from typing import Sequence

import torch

from whynets.data import Dataset
from whynets.models import ModelSpec, build

from .budget import check_population, shapes_only
from .device import configure_threads, resolve_device
from .optim import lr_at, make_optimizer
from .padding import padded_population, width_buckets
from .population import Population, member_generator, mix_seed
from .state import TrainState, load_state, save_state
from .train import LOSSES, TrainResult, TrainSpec, eval_steps, evaluate, evaluate_rows, loss_for, member_loss, per_example_outcomes, train

__all__ = ["Population", "TrainSpec", "TrainResult", "TrainState", "train", "evaluate", "eval_steps", "member_loss",
           "mix_seed", "member_generator", "population_for", "padded_population", "width_buckets", "make_optimizer",
           "lr_at", "resolve_device", "configure_threads", "save_state", "load_state", "loss_for", "evaluate_rows",
           "per_example_outcomes",
           "LOSSES"]


def population_for(model: ModelSpec, data: Dataset, seeds: Sequence[int], device: torch.device | str = "cpu") -> Population:
    """A population of ``model`` sized for ``data``: member k initialized from its own seed. One past the memory
    budget is refused before it is built (``engine.budget``)."""
    check_population(lambda: shapes_only(model, data.input_shape, data.n_classes), len(seeds),
                     f"model {model.kind} {model.non_default() or '(defaults)'}", device)
    return Population.build(lambda g: build(model, data.input_shape, data.n_classes, g), seeds, device)
