"""Built-in data sources: MNIST-1D (generated offline), scikit-learn digits, a teacher-network task.

MNIST-1D is generated with ``mnist1d.data.make_dataset`` (never ``get_dataset``, which tries the
network first) and cached as ``.npz`` under ``$WHYNETS_CACHE`` (default ``~/.cache/whynets``), keyed
by the generation seed, so only the first build pays its ~2 s. The cache heals itself: a cached file that is
not a complete MNIST-1D split (truncated, garbage, wrong shapes) is moved aside with one line and generated
again; a full disk is one line and leaves no temp file; temp files of killed writers are swept.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from whynets.fileio import StoreError, ensure_folder, quarantine, sweep_temp_files, temp_path, write_guard
from whynets.resources import check_memory

from .dataset import Dataset, DataError

__all__ = ["mnist1d", "digits", "teacher", "cache_dir", "bits12", "tabular", "linreg", "TABULAR"]


LOG = logging.getLogger("whynets")
_LEGACY_TMP = re.compile(r"^mnist1d-.*\.tmp(\d+)\.npz$")  # the cache's temp names before whynets.fileio


def cache_dir() -> Path:
    path = Path(os.environ.get("WHYNETS_CACHE", Path.home() / ".cache" / "whynets"))
    ensure_folder(path, "the data cache (WHYNETS_CACHE)")
    return path


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """An .npz written atomically; a full disk is one line that names the cache, and leaves no temp file."""
    tmp = temp_path(path)
    with write_guard(tmp, path, remedy="point WHYNETS_CACHE at another folder (the data cache)"):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _read_mnist1d(path: Path, samples: int) -> dict[str, np.ndarray] | None:
    """The cached split, checked (fields, shapes, dtypes, finite); None, after moving it aside, if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
        for x, y in ((arrays["x"], arrays["y"]), (arrays["x_test"], arrays["y_test"])):
            if x.ndim != 2 or x.shape[1] != 40 or y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"shapes {x.shape} and {y.shape} ({y.dtype}) are not an MNIST-1D split")
            if not np.all(np.isfinite(x)) or y.min() < 0 or y.max() > 9:
                raise ValueError("values out of range")
        made = 10 * (samples // 10)  # MNIST-1D makes samples // 10 examples of each class: 20001 -> 20000
        if samples and len(arrays["x"]) + len(arrays["x_test"]) != made:
            raise ValueError(f"{len(arrays['x']) + len(arrays['x_test'])} examples, not {made}")
        return arrays
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        try:
            quarantine(path, LOG.warning, f"not a cached MNIST-1D split: {err}")
        except StoreError:
            raise StoreError(f"{path}: a damaged MNIST-1D cache ({err}) that cannot be moved aside; delete it, or "
                             "point WHYNETS_CACHE at a folder you can write") from None
        return None


def mnist1d(seed: int = 0, samples: int = 0) -> Dataset:
    """The MNIST-1D data set (Greydanus & Kobak): 4000 train / 1000 test signals of length 40, 10 classes.

    ``seed=0`` is the package's default configuration (its own seed 42); other seeds regenerate. ``samples`` > 0
    generates that many examples instead of 5000 (split 80/20 as the package does), e.g. a transfer set.
    """
    folder = cache_dir()
    sweep_temp_files(folder)
    sweep_temp_files(folder, _LEGACY_TMP)
    path = folder / (f"mnist1d-v1-seed{seed}.npz" if not samples else f"mnist1d-v1-seed{seed}-n{samples}.npz")
    arrays = _read_mnist1d(path, samples) if path.exists() else None
    if arrays is None:
        from mnist1d.data import get_dataset_args, make_dataset

        check_memory(3 * 40 * 8 * (samples or 5000), f"data.samples={samples} (MNIST-1D signals of 40 floats)")
        args = get_dataset_args()
        if seed:
            args.seed = int(seed)
        if samples:
            args.num_samples = int(samples)
        data = make_dataset(args)
        arrays = {k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")}
        try:
            _write_npz(path, **arrays)
        except StoreError as err:
            if err.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            LOG.warning("warning: %s: the data cache is read-only; MNIST-1D generated in memory, not cached", folder)
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
    check_memory(4 * (n_train + n_test) * (2 * dim + n_classes) + 4 * dim * width,
                 f"the teacher task (data.n_train={n_train}, data.n_test={n_test}, data.teacher_dim={dim})")
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
    check_memory(4 * (n_train + n_test) * (2 * dim + 2),
                 f"the linreg task (data.n_train={n_train}, data.n_test={n_test}, data.teacher_dim={dim})")
    g = torch.Generator().manual_seed(20_011 + seed)
    w = torch.randn(dim, generator=g) / dim ** 0.5
    x = torch.randn(n_train + n_test, dim, generator=g)
    y = x @ w + noise * torch.randn(n_train + n_test, generator=g)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                   {"name": "linreg", "n_classes": 1, "task": "regression", "w_star": w.tolist(), "noise": noise,
                    "source": f"linear regression, dim {dim}"})
