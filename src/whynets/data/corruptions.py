"""Corruptions and input transforms, each named by a ``DataSpec`` field (so it enters every cell key).

Corruptions of Zhang et al. 2017 ("Understanding deep learning requires rethinking generalization").

* label noise p: each training label is, with probability p, replaced by a uniformly random class
  (test labels stay clean, so test accuracy measures what was learned about the true labels);
* shuffled pixels: ONE fixed permutation of the input coordinates, applied to train and test;
* random pixels: an independent permutation per example (train and test);
* gaussian: inputs replaced by Gaussian noise with the training set's per-coordinate mean and variance.

Transforms (``DataSpec.transform``), applied to every split's inputs:

* blur (Achille et al. 2019's deficit): block-average a 1-D signal by a factor, then upsample back (linear);
* flip: the signal reversed (a deficit that keeps the information);
* pca-whiten: the first k principal components of the training inputs, scaled to unit variance (float64 SVD);
* ``hold_out``: the last N training examples become a validation split (``Dataset.x_val``).
"""

from __future__ import annotations

import torch

import torch.nn.functional as F

from .dataset import Dataset, DataError

__all__ = ["label_noise", "shuffle_pixels", "random_pixels", "gaussian_inputs", "apply_corruption", "CORRUPTIONS",
           "blur", "flip", "whitened_pca", "apply_transform", "hold_out", "TRANSFORMS"]


def _gen(seed: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + salt)


def label_noise(ds: Dataset, p: float, seed: int = 0) -> Dataset:
    if not 0.0 <= p <= 1.0:
        raise DataError(f"label_noise must be in [0, 1], got {p}")
    if p == 0.0:
        return ds
    if ds.y.is_floating_point():
        raise DataError(f"label_noise needs class labels, but {ds.meta.get('name')} has float (regression) targets")
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


def blur(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Block-average a batch of 1-D signals (N, L) by ``factor`` and upsample back to L (linear)."""
    if factor < 1 or factor > x.shape[-1]:
        raise DataError(f"blur factor must be in [1, {x.shape[-1]}], got {factor}")
    flat = x.reshape(len(x), 1, -1)
    low = F.avg_pool1d(flat, factor, factor)
    return F.interpolate(low, size=flat.shape[-1], mode="linear", align_corners=False).reshape(x.shape)


def flip(x: torch.Tensor) -> torch.Tensor:
    """The signal reversed (for images: the flattened pixels reversed, a 180° rotation)."""
    return x.flatten(1).flip(-1).reshape(x.shape)


def whitened_pca(ds: Dataset, dims: int) -> Dataset:
    """The first ``dims`` principal components of the training inputs, scaled to unit variance (float64 SVD)."""
    x = ds.x.flatten(1).double()
    if not 1 <= dims <= min(x.shape):
        raise DataError(f"pca-whiten: transform_arg={dims} components, but the inputs have {x.shape[1]} features and "
                        f"{x.shape[0]} examples")
    center = x.mean(0)
    _, s, vt = torch.linalg.svd(x - center, full_matrices=False)
    proj = vt[:dims].T / (s[:dims] / (len(x) - 1) ** 0.5)

    def to(a):
        return None if a is None else ((a.flatten(1).double() - center) @ proj).float()
    return Dataset(to(ds.x), ds.y, to(ds.x_test), ds.y_test, dict(ds.meta, pca_dims=dims), to(ds.x_val), ds.y_val)


def _map_inputs(ds: Dataset, fn, note: str) -> Dataset:
    xv = None if ds.x_val is None else fn(ds.x_val)
    return Dataset(fn(ds.x), ds.y, fn(ds.x_test), ds.y_test, dict(ds.meta, transform=note), xv, ds.y_val)


TRANSFORMS = ("none", "blur", "flip", "pca-whiten")


def apply_transform(ds: Dataset, name: str, arg: int = 0) -> Dataset:
    if name not in TRANSFORMS:
        raise DataError(f"unknown transform {name!r}; choose one of {', '.join(TRANSFORMS)}")
    if name == "blur":
        return _map_inputs(ds, lambda x: blur(x, arg), f"blur x{arg}")
    if name == "flip":
        return _map_inputs(ds, flip, "flip")
    if name == "pca-whiten":
        return whitened_pca(ds, arg)
    return ds


def hold_out(ds: Dataset, n_val: int) -> Dataset:
    """The last ``n_val`` training examples become the validation split."""
    if n_val == 0:
        return ds
    if not 0 < n_val < len(ds.y):
        raise DataError(f"data.holdout={n_val} must be less than the {len(ds.y)} training examples")
    return Dataset(ds.x[:-n_val], ds.y[:-n_val], ds.x_test, ds.y_test, dict(ds.meta, holdout=n_val),
                   ds.x[-n_val:], ds.y[-n_val:])
