"""Built-in data sources: MNIST-1D (generated offline), scikit-learn digits, a teacher-network task.

MNIST-1D is generated with ``mnist1d.data.make_dataset`` (never ``get_dataset``, which tries the
network first) and cached as ``.npz`` under ``$WHYNETS_CACHE`` (default ``~/.cache/whynets``), keyed
by the generation seed, so only the first build pays its ~2 s.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset, DataError

__all__ = ["mnist1d", "digits", "teacher", "cache_dir", "bits12", "tabular", "linreg", "TABULAR"]


def cache_dir() -> Path:
    path = Path(os.environ.get("WHYNETS_CACHE", Path.home() / ".cache" / "whynets"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def mnist1d(seed: int = 0, samples: int = 0) -> Dataset:
    """The MNIST-1D data set (Greydanus & Kobak): 4000 train / 1000 test signals of length 40, 10 classes.

    ``seed=0`` is the package's default configuration (its own seed 42); other seeds regenerate. ``samples`` > 0
    generates that many examples instead of 5000 (split 80/20 as the package does), e.g. a transfer set.
    """
    path = cache_dir() / (f"mnist1d-v1-seed{seed}.npz" if not samples else f"mnist1d-v1-seed{seed}-n{samples}.npz")
    if not path.exists():
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        if seed:
            args.seed = int(seed)
        if samples:
            args.num_samples = int(samples)
        data = make_dataset(args)
        _atomic_savez(path, x=data["x"], y=data["y"], x_test=data["x_test"], y_test=data["y_test"])
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
    return Dataset(torch.as_tensor(arrays["x"], dtype=torch.float32), torch.as_tensor(arrays["y"], dtype=torch.long),
                   torch.as_tensor(arrays["x_test"], dtype=torch.float32), torch.as_tensor(arrays["y_test"], dtype=torch.long),
                   {"name": "mnist1d", "n_classes": 10, "source": f"mnist1d.make_dataset (seed {seed or 'default'})"})


def digits(seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images), split 1297 train / 500 test by a seeded shuffle.

    Pixels are scaled to [0, 1]; images keep their 2-D shape (1, 8, 8).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.as_tensor(bunch.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    return Dataset(x[:1297], y[:1297], x[1297:], y[1297:],
                   {"name": "digits", "n_classes": 10, "source": "sklearn.datasets.load_digits"})


def teacher(seed: int = 0, dim: int = 20, width: int = 32, n_classes: int = 10,
            n_train: int = 2000, n_test: int = 1000) -> Dataset:
    """A synthetic task: Gaussian inputs labelled by the argmax of a random one-hidden-layer tanh teacher."""
    if dim < 1 or width < 1 or n_classes < 2:
        raise DataError(f"teacher task needs dim >= 1, width >= 1, n_classes >= 2 (got {dim}, {width}, {n_classes})")
    g = torch.Generator().manual_seed(10_007 + seed)
    w1 = torch.randn(dim, width, generator=g) / dim ** 0.5
    w2 = torch.randn(width, n_classes, generator=g) / width ** 0.5
    x = torch.randn(n_train + n_test, dim, generator=g)
    y = (torch.tanh(x @ w1) @ w2).argmax(1)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                   {"name": "teacher", "n_classes": n_classes, "source": f"random tanh teacher (seed {seed})"})


def bits12(seed: int = 0) -> Dataset:
    """The information-plane task of Shwartz-Ziv & Tishby 2017, rebuilt from its description: 12 binary inputs, one
    per point of 12 points spread evenly on the unit sphere (an icosahedron's vertices), and a spherically
    symmetric rule: y = 1 when the norm of the sum of the selected points exceeds its median over all 4096 inputs
    (two balanced classes; their var_u.mat file is not distributed with any package, so the rule is ours). All 4096
    inputs, split 80/20 by a seeded shuffle; ``x`` in {-1, 1}."""
    phi = (1 + 5 ** 0.5) / 2
    v = torch.tensor([[-1, phi, 0], [1, phi, 0], [-1, -phi, 0], [1, -phi, 0], [0, -1, phi], [0, 1, phi],
                      [0, -1, -phi], [0, 1, -phi], [phi, 0, -1], [phi, 0, 1], [-phi, 0, -1], [-phi, 0, 1]],
                     dtype=torch.float64)
    v = v / v.norm(dim=1, keepdim=True)
    bits = ((torch.arange(4096).unsqueeze(1) >> torch.arange(12)) & 1).double()
    f = (bits @ v).norm(dim=1)
    y = (f > f.median()).long()
    x = (2 * bits - 1).float()
    perm = torch.randperm(4096, generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    cut = int(0.8 * 4096)
    return Dataset(x[:cut], y[:cut], x[cut:], y[cut:], {"name": "bits12", "n_classes": 2,
                                                       "source": "12 binary inputs on an icosahedron, spherical rule"})


TABULAR = {"wine": "load_wine", "breast_cancer": "load_breast_cancer", "diabetes": "load_diabetes"}


def tabular(name: str, seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """A scikit-learn bundled table (wine, breast_cancer: classification; diabetes: regression, float targets),
    split by a seeded (stratified, for classification) random split; features as they come (set standardize)."""
    import sklearn.datasets as sets
    from sklearn.model_selection import train_test_split

    bunch = getattr(sets, TABULAR[name])()
    x, y = bunch.data.astype(np.float32), bunch.target
    regression = name == "diabetes"
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                          stratify=None if regression else y)
    as_y = (lambda a: torch.as_tensor(a, dtype=torch.float32)) if regression else (
        lambda a: torch.as_tensor(a, dtype=torch.long))
    return Dataset(torch.as_tensor(xtr), as_y(ytr), torch.as_tensor(xte), as_y(yte),
                   {"name": name, "n_classes": 1 if regression else int(y.max()) + 1, "source": f"sklearn {name}",
                    "task": "regression" if regression else "classification"})


def linreg(seed: int = 0, dim: int = 10, n_train: int = 1000, n_test: int = 1000, noise: float = 0.5) -> Dataset:
    """Linear regression: x ~ N(0, I_dim), y = x·w* + noise·ε with w* ~ N(0, I/dim) (float targets, one output)."""
    g = torch.Generator().manual_seed(20_011 + seed)
    w = torch.randn(dim, generator=g) / dim ** 0.5
    x = torch.randn(n_train + n_test, dim, generator=g)
    y = x @ w + noise * torch.randn(n_train + n_test, generator=g)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                   {"name": "linreg", "n_classes": 1, "task": "regression", "w_star": w.tolist(), "noise": noise,
                    "source": f"linear regression, dim {dim}"})
