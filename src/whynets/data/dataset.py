"""The `Dataset` record and the `DataSpec` that says which one to build.

Every source returns the same thing: float inputs ``x``/``x_test`` (examples first), integer labels
``y``/``y_test`` (or float targets for regression), and ``meta`` (name, number of classes, provenance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from whynets.errors import WhynetsError
from whynets.spec import Spec, SpecError

__all__ = ["Dataset", "DataSpec", "DataError"]


class DataError(WhynetsError, ValueError):
    """Bad input data; the message names the file and field and says what would be right."""


@dataclass
class Dataset:
    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)
    x_val: torch.Tensor | None = None  # a validation split held out of the training set (DataSpec.holdout)
    y_val: torch.Tensor | None = None

    @property
    def n_classes(self) -> int:
        return int(self.meta["n_classes"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def to(self, device: torch.device | str) -> "Dataset":
        val = (None, None) if self.x_val is None else (self.x_val.to(device), self.y_val.to(device))
        return Dataset(self.x.to(device), self.y.to(device), self.x_test.to(device), self.y_test.to(device),
                       dict(self.meta), *val)

    def __repr__(self) -> str:
        return (f"Dataset({self.meta.get('name', '?')}: train {tuple(self.x.shape)}, test {tuple(self.x_test.shape)}, "
                f"{self.meta.get('n_classes')} classes)")


@dataclass(frozen=True)
class DataSpec(Spec):
    name: str = field(default="mnist1d", metadata={"help": "mnist1d | digits | teacher | bits12 | wine | breast_cancer | "
                                                          "diabetes | linreg | npz | idx | safetensors"})
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
    # input transforms (data/corruptions.py), applied to train, validation and test inputs
    transform: str = field(default="none", metadata={"help": "none | blur | flip | pca-whiten (inputs, after corruption)"})
    transform_arg: int = field(default=0, metadata={"help": "blur: block-average factor; pca-whiten: components kept"})
    holdout: int = field(default=0, metadata={"help": "hold the last N training examples out as a validation split"})
    samples: int = field(default=0, metadata={"help": "mnist1d: generate this many examples (80/20 split; 0 = the "
                                                      "package's 5000)"})
    binary: bool = field(default=False, metadata={"help": "relabel classes 0..C-1 as 0 (below C/2) or 1 (a binary task)"})
    target_noise: float = field(default=0.5, metadata={"help": "linreg: standard deviation of the target noise"})

    def validate(self) -> None:
        from .corruptions import CORRUPTIONS, TRANSFORMS
        from . import SOURCES

        if self.name not in SOURCES:
            raise SpecError(f"data.name={self.name!r} is not a data source; choose one of {', '.join(SOURCES)}")
        if not (0.0 <= self.label_noise <= 1.0):
            raise SpecError(f"data.label_noise={self.label_noise!r} is out of range: a probability in [0, 1]")
        if self.corruption not in CORRUPTIONS:
            raise SpecError(f"data.corruption={self.corruption!r} is unknown; choose one of {', '.join(CORRUPTIONS)}")
        if self.transform not in TRANSFORMS:
            raise SpecError(f"data.transform={self.transform!r} is unknown; choose one of {', '.join(TRANSFORMS)}")
        if self.transform in ("blur", "pca-whiten") and self.transform_arg < 1:
            raise SpecError(f"data.transform={self.transform} needs data.transform_arg >= 1 (blur factor / components)")
        for name in ("n_train", "n_test", "holdout"):
            if getattr(self, name) < 0:
                raise SpecError(f"data.{name}={getattr(self, name)} is out of range: >= 0 (0 = all / none)")
        for name in ("seed", "corruption_seed"):
            if not 0 <= getattr(self, name) < 2**31:
                raise SpecError(f"data.{name}={getattr(self, name)} is out of range: a seed in [0, 2**31)")
        if self.samples and self.samples < 10:
            raise SpecError(f"data.samples={self.samples} is out of range: 0 (the package's 5000) or at least 10 "
                            "(MNIST-1D generates examples class by class)")
        if self.samples < 0:
            raise SpecError(f"data.samples={self.samples} is out of range: 0 (the package's 5000) or at least 10")
        if not (math.isfinite(self.target_noise) and self.target_noise >= 0):
            raise SpecError(f"data.target_noise={self.target_noise} is out of range: a finite standard deviation >= 0")
        if self.teacher_dim < 1 or self.teacher_width < 1:
            raise SpecError("data: teacher_dim and teacher_width must be >= 1")
        if self.name == "teacher" and (self.teacher_dim < 1 or self.teacher_width < 1 or self.n_classes < 2):
            raise SpecError("data: the teacher task needs teacher_dim >= 1, teacher_width >= 1 and n_classes >= 2")
        if self.name in ("npz", "idx", "safetensors") and not self.path:
            raise SpecError(f"data.name={self.name} needs data.path=<file or folder>")
