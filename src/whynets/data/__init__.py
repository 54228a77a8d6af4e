"""Data: every source returns a `Dataset` of tensors; a `DataSpec` says which, with which corruption.

    >>> import whynets as wn
    >>> ds = wn.data.load(wn.data.DataSpec(name="digits", label_noise=0.2))
"""

from __future__ import annotations

import torch

from .corruptions import (CORRUPTIONS, TRANSFORMS, apply_corruption, apply_transform, blur, flip, gaussian_inputs,
                          hold_out, label_noise, random_pixels, shuffle_pixels, whitened_pca)
from .dataset import DataError, Dataset, DataSpec
from .files import check_labels, load_npz, load_tensors_file, save_tensors_file
from .idx import load_idx, read_idx
from .sources import TABULAR, bits12, digits, linreg, mnist1d, tabular, teacher

__all__ = ["Dataset", "DataSpec", "DataError", "load", "mnist1d", "digits", "teacher", "load_npz", "load_idx",
           "read_idx", "label_noise", "shuffle_pixels", "random_pixels", "gaussian_inputs", "apply_corruption",
           "SOURCES", "batches", "apply_transform", "hold_out", "blur", "flip", "whitened_pca", "TRANSFORMS",
           "CORRUPTIONS", "load_tensors_file", "save_tensors_file", "check_labels"]

SOURCES = ("mnist1d", "digits", "teacher", "bits12", "wine", "breast_cancer", "diabetes", "linreg", "npz", "idx",
           "safetensors")


def load(spec: DataSpec) -> Dataset:
    """Build the data set a spec describes: source, subset, corruption, label noise, standardization."""
    if spec.name == "mnist1d":
        ds = mnist1d(spec.seed, spec.samples)
    elif spec.name == "bits12":
        ds = bits12(spec.seed)
    elif spec.name in TABULAR:
        ds = tabular(spec.name, spec.seed)
    elif spec.name == "linreg":
        ds = linreg(spec.seed, spec.teacher_dim, n_train=spec.n_train or 1000, n_test=spec.n_test or 1000,
                    noise=spec.target_noise)
    elif spec.name == "digits":
        ds = digits(spec.seed)
    elif spec.name == "teacher":
        ds = teacher(spec.seed, spec.teacher_dim, spec.teacher_width, spec.n_classes,
                     n_train=spec.n_train or 2000, n_test=spec.n_test or 1000)
    elif spec.name in ("npz", "idx", "safetensors"):
        if not spec.path:
            raise DataError(f"data.name={spec.name} needs data.path=<file or folder>")
        ds = {"npz": load_npz, "idx": load_idx, "safetensors": load_tensors_file}[spec.name](spec.path)
    else:
        raise DataError(f"unknown data source {spec.name!r}; choose one of {', '.join(SOURCES)}")
    for n, field in ((spec.n_train, "n_train"), (spec.n_test, "n_test")):
        if n < 0:
            raise DataError(f"data.{field} must be >= 0, got {n}")
    if spec.n_train and spec.n_train > len(ds.y):
        raise DataError(f"data.n_train={spec.n_train} but {ds.meta['name']} has only {len(ds.y)} training examples")
    if spec.n_train or spec.n_test:
        ds = Dataset(ds.x[: spec.n_train or None], ds.y[: spec.n_train or None],
                     ds.x_test[: spec.n_test or None], ds.y_test[: spec.n_test or None], ds.meta)
    if spec.binary:
        if ds.y.is_floating_point():
            raise DataError(f"data.binary=true needs class labels, but {ds.meta['name']} has float targets")
        half = ds.n_classes // 2
        ds = Dataset(ds.x, (ds.y >= half).long(), ds.x_test, (ds.y_test >= half).long(),
                     dict(ds.meta, n_classes=2, binary=f"classes < {half} -> 0, >= {half} -> 1"))
    if ds.y.is_floating_point() and spec.label_noise > 0:
        raise DataError(f"data.label_noise={spec.label_noise} redraws class labels, but {ds.meta['name']} has float "
                        "targets (regression); set data.label_noise=0")
    ds = apply_corruption(ds, spec.corruption, spec.corruption_seed)
    ds = label_noise(ds, spec.label_noise, spec.corruption_seed)
    ds = hold_out(ds, spec.holdout)
    if spec.standardize:
        mean, std = ds.x.mean(0, keepdim=True), ds.x.std(0, keepdim=True).clamp_min(1e-8)
        xv = None if ds.x_val is None else (ds.x_val - mean) / std
        ds = Dataset((ds.x - mean) / std, ds.y, (ds.x_test - mean) / std, ds.y_test, dict(ds.meta, standardized=True),
                     xv, ds.y_val)
    return apply_transform(ds, spec.transform, spec.transform_arg)


def batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive (x, y) chunks of at most ``size`` examples: the fixed batch list instruments take."""
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(y), size)]
