"""Loaders for a user's own data: ``.npz`` files and IDX files (the MNIST file format).

``.npz`` keys: ``x`` and ``y`` (required), ``x_test`` and ``y_test`` (optional; without them the last
20% of ``x``/``y`` is held out). IDX: give a folder holding ``train-images-idx3-ubyte`` /
``train-labels-idx1-ubyte`` / ``t10k-...`` (optionally ``.gz``), or an explicit prefix.
Every check names the file and the field at fault.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset, DataError

__all__ = ["load_npz", "load_idx", "read_idx", "validate"]


def validate(x: np.ndarray, y: np.ndarray, where: str, xname: str = "x", yname: str = "y") -> None:
    """Shapes agree, values finite, labels are non-negative integers."""
    if x.ndim < 2:
        raise DataError(f"{where}: field {xname!r} must have shape (n_examples, features...), got shape {x.shape}")
    if y.ndim != 1:
        raise DataError(f"{where}: field {yname!r} must be 1-D (one label per example), got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{where}: {xname!r} has {x.shape[0]} examples but {yname!r} has {y.shape[0]}")
    if x.shape[0] == 0:
        raise DataError(f"{where}: field {xname!r} holds no examples")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{where}: field {xname!r} must be numeric, got dtype {x.dtype}")
    bad = ~np.isfinite(x.astype(np.float64, copy=False))
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise DataError(f"{where}: field {xname!r} has {int(bad.sum())} NaN/Inf values (first at index {first})")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            pass
        else:
            raise DataError(f"{where}: field {yname!r} must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0:
        raise DataError(f"{where}: field {yname!r} has negative labels (min {y.min()}); labels must be 0..C-1")


def _to_dataset(x, y, xt, yt, name: str, source: str) -> Dataset:
    n_classes = int(max(y.max(), yt.max())) + 1
    return Dataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y.astype(np.int64)),
                   torch.as_tensor(xt, dtype=torch.float32), torch.as_tensor(yt.astype(np.int64)),
                   {"name": name, "n_classes": n_classes, "source": source})


def load_npz(path: str | Path, n_classes: int | None = None) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (expected an .npz with fields x, y[, x_test, y_test])")
    try:
        f = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err})") from None
    with f:
        missing = [k for k in ("x", "y") if k not in f.files]
        if missing:
            raise DataError(f"{path}: missing field(s) {missing}; found {sorted(f.files)}; need x, y[, x_test, y_test]")
        if ("x_test" in f.files) != ("y_test" in f.files):
            raise DataError(f"{path}: give both x_test and y_test or neither (found {sorted(f.files)})")
        x, y = f["x"], f["y"]
        validate(x, y, str(path))
        if "x_test" in f.files:
            xt, yt = f["x_test"], f["y_test"]
            validate(xt, yt, str(path), "x_test", "y_test")
            if xt.shape[1:] != x.shape[1:]:
                raise DataError(f"{path}: x_test has example shape {xt.shape[1:]} but x has {x.shape[1:]}")
        else:
            cut = int(round(0.8 * len(x)))
            if cut in (0, len(x)):
                raise DataError(f"{path}: too few examples ({len(x)}) to hold out a test split; add x_test, y_test")
            x, y, xt, yt = x[:cut], y[:cut], x[cut:], y[cut:]
    ds = _to_dataset(x, y, xt, yt, "npz", str(path))
    if n_classes is not None:
        check_labels(ds, n_classes, str(path))
    return ds


def check_labels(ds: Dataset, n_classes: int, where: str) -> None:
    for field, y in (("y", ds.y), ("y_test", ds.y_test)):
        if int(y.max()) >= n_classes:
            raise DataError(f"{where}: field {field!r} has label {int(y.max())}, out of range for {n_classes} classes (0..{n_classes - 1})")


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped): magic 0x0000 TT DD, then DD big-endian int32 dims, then data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    body = raw[4 + 4 * ndim:]
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(body) != expected:
        raise DataError(f"{path}: header says shape {dims} ({expected} bytes) but the file holds {len(body)} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise DataError(f"{folder}: no IDX file {stem}[.gz] found")


def load_idx(path: str | Path) -> Dataset:
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...")
    parts = {}
    for key, stem in (("x", "train-images-idx3-ubyte"), ("y", "train-labels-idx1-ubyte"),
                      ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte")):
        parts[key] = read_idx(_find(folder, stem))
    x = parts["x"].astype(np.float32)
    xt = parts["x_test"].astype(np.float32)
    if parts["x"].dtype == np.uint8:
        x, xt = x / 255.0, xt / 255.0
    if x.ndim == 3:  # (n, h, w) images -> (n, 1, h, w)
        x, xt = x[:, None], xt[:, None]
    validate(x, parts["y"], str(folder), "train-images", "train-labels")
    validate(xt, parts["y_test"], str(folder), "t10k-images", "t10k-labels")
    return _to_dataset(x, parts["y"], xt, parts["y_test"], "idx", str(folder))
