"""Corruptions of Zhang et al. 2017 ("Understanding deep learning requires rethinking generalization").

* label noise p: each training label is, with probability p, replaced by a uniformly random class
  (test labels stay clean, so test accuracy measures what was learned about the true labels);
* shuffled pixels: ONE fixed permutation of the input coordinates, applied to train and test;
* random pixels: an independent permutation per example (train and test);
* gaussian: inputs replaced by Gaussian noise with the training set's per-coordinate mean and variance.
"""

from __future__ import annotations

import torch

from .dataset import Dataset, DataError

__all__ = ["label_noise", "shuffle_pixels", "random_pixels", "gaussian_inputs", "apply_corruption", "CORRUPTIONS"]


def _gen(seed: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + salt)


def label_noise(ds: Dataset, p: float, seed: int = 0) -> Dataset:
    if not 0.0 <= p <= 1.0:
        raise DataError(f"label_noise must be in [0, 1], got {p}")
    if p == 0.0:
        return ds
    g = _gen(seed, 1)
    n = ds.y.shape[0]
    flip = torch.rand(n, generator=g) < p
    random_labels = torch.randint(0, ds.n_classes, (n,), generator=g)
    y = torch.where(flip, random_labels, ds.y)
    meta = dict(ds.meta, label_noise=p, labels_changed=int((y != ds.y).sum()))
    return Dataset(ds.x, y, ds.x_test, ds.y_test, meta)


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def shuffle_pixels(ds: Dataset, seed: int = 0) -> Dataset:
    d = _flat(ds.x).shape[1]
    perm = torch.randperm(d, generator=_gen(seed, 2))
    x = _flat(ds.x)[:, perm].reshape(ds.x.shape)
    xt = _flat(ds.x_test)[:, perm].reshape(ds.x_test.shape)
    return Dataset(x, ds.y, xt, ds.y_test, dict(ds.meta, corruption="shuffled-pixels"))


def _permute_each(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    flat = _flat(x)
    idx = torch.argsort(torch.rand(flat.shape, generator=g), dim=1)
    return torch.gather(flat, 1, idx).reshape(x.shape)


def random_pixels(ds: Dataset, seed: int = 0) -> Dataset:
    g = _gen(seed, 3)
    return Dataset(_permute_each(ds.x, g), ds.y, _permute_each(ds.x_test, g), ds.y_test,
                   dict(ds.meta, corruption="random-pixels"))


def gaussian_inputs(ds: Dataset, seed: int = 0) -> Dataset:
    g = _gen(seed, 4)
    mean, std = ds.x.mean(0), ds.x.std(0)
    x = mean + std * torch.randn(ds.x.shape, generator=g, dtype=ds.x.dtype)
    xt = mean + std * torch.randn(ds.x_test.shape, generator=g, dtype=ds.x.dtype)
    return Dataset(x, ds.y, xt, ds.y_test, dict(ds.meta, corruption="gaussian"))


CORRUPTIONS = {"none": None, "shuffled-pixels": shuffle_pixels, "random-pixels": random_pixels, "gaussian": gaussian_inputs}


def apply_corruption(ds: Dataset, name: str, seed: int = 0) -> Dataset:
    if name not in CORRUPTIONS:
        raise DataError(f"unknown corruption {name!r}; choose one of {sorted(CORRUPTIONS)}")
    fn = CORRUPTIONS[name]
    return ds if fn is None else fn(ds, seed)
