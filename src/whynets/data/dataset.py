"""The `Dataset` record and the `DataSpec` that says which one to build.

Every source returns the same thing: float inputs ``x``/``x_test`` (examples first), integer labels
``y``/``y_test`` (or float targets for regression), and ``meta`` (name, number of classes, provenance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from whynets.spec import Spec

__all__ = ["Dataset", "DataSpec", "DataError"]


class DataError(ValueError):
    """Bad input data; the message names the file and field and says what would be right."""


@dataclass
class Dataset:
    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return int(self.meta["n_classes"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def to(self, device: torch.device | str) -> "Dataset":
        return Dataset(self.x.to(device), self.y.to(device), self.x_test.to(device), self.y_test.to(device), dict(self.meta))

    def __repr__(self) -> str:
        return (f"Dataset({self.meta.get('name', '?')}: train {tuple(self.x.shape)}, test {tuple(self.x_test.shape)}, "
                f"{self.meta.get('n_classes')} classes)")


@dataclass(frozen=True)
class DataSpec(Spec):
    name: str = field(default="mnist1d", metadata={"help": "mnist1d | digits | teacher | npz | idx"})
    path: str = field(default="", metadata={"help": "file (.npz) or folder/prefix (IDX) for name=npz|idx"})
    n_train: int = field(default=0, metadata={"help": "keep the first n training examples (0 = all)"})
    n_test: int = field(default=0, metadata={"help": "keep the first n test examples (0 = all)"})
    label_noise: float = field(default=0.0, metadata={"help": "fraction p of training labels replaced by uniform random classes"})
    corruption: str = field(default="none", metadata={"help": "none | shuffled-pixels | random-pixels | gaussian"})
    corruption_seed: int = field(default=0, metadata={"help": "seed of the label noise / pixel permutations"})
    standardize: bool = field(default=False, metadata={"help": "z-score inputs with the training mean/std"})
    seed: int = field(default=0, metadata={"help": "seed of generated sources (mnist1d: 0 = the package default; teacher)"})
    # synthetic teacher task
    teacher_dim: int = field(default=20, metadata={"help": "teacher task: input dimension"})
    teacher_width: int = field(default=32, metadata={"help": "teacher task: hidden width of the random teacher MLP"})
    n_classes: int = field(default=10, metadata={"help": "teacher task: number of classes"})
