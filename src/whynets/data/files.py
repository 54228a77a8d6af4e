"""Loaders for a user's own data: ``.npz`` files and IDX files (the MNIST file format).

``.npz`` keys: ``x`` and ``y`` (required), ``x_test`` and ``y_test`` (optional; without them the last
20% of ``x``/``y`` is held out). IDX: give a folder holding ``train-images-idx3-ubyte`` /
``train-labels-idx1-ubyte`` / ``t10k-...`` (optionally ``.gz``), or an explicit prefix.
Every check names the file and the field at fault.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset, DataError

__all__ = ["load_npz", "load_idx", "read_idx", "validate", "MAX_CLASSES", "load_tensors_file", "save_tensors_file"]

MAX_CLASSES = 100_000  # labels are class indices 0..C-1; a larger label is almost surely not one


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
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{where}: field {xname!r} is complex ({x.dtype}); give real inputs (e.g. stack the real and "
                        "imaginary parts as features) — whynets will not drop the imaginary part silently")
    if not np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_:
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
    top = int(y.max())  # a Python int: no wrap-around for uint64 labels
    if top >= MAX_CLASSES:
        raise DataError(f"{where}: field {yname!r} has label {top}, which would make {top + 1} classes (at most "
                        f"{MAX_CLASSES}); labels must be 0..C-1 — relabel with np.unique(y, return_inverse=True)")


def _to_dataset(x, y, xt, yt, name: str, source: str) -> Dataset:
    n_classes = int(max(y.max(), yt.max())) + 1
    return Dataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y.astype(np.int64)),
                   torch.as_tensor(xt, dtype=torch.float32), torch.as_tensor(yt.astype(np.int64)),
                   {"name": name, "n_classes": n_classes, "source": source})


def load_npz(path: str | Path, n_classes: int | None = None) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (expected an .npz with fields x, y[, x_test, y_test])")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK"):
        what = ("a single .npy array" if head.startswith(b"\x93NUMPY") else "a pickle (whynets never unpickles data)"
                if head[:1] == b"\x80" else f"a file starting with {head!r}")
        raise DataError(f"{path}: not an .npz archive (a zip of .npy arrays) but {what}; save one with "
                        "np.savez(path, x=..., y=...)")
    try:
        f = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err}); save one with np.savez(path, x=..., y=...)") from None
    with f:
        missing = [k for k in ("x", "y") if k not in f.files]
        if missing:
            raise DataError(f"{path}: missing field(s) {missing}; found {sorted(f.files)}; need x, y[, x_test, y_test]")
        if ("x_test" in f.files) != ("y_test" in f.files):
            raise DataError(f"{path}: give both x_test and y_test or neither (found {sorted(f.files)})")
        x, y = _field(f, "x", path), _field(f, "y", path)
        validate(x, y, str(path))
        if "x_test" in f.files:
            xt, yt = _field(f, "x_test", path), _field(f, "y_test", path)
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


def _field(archive, name: str, path: Path) -> np.ndarray:
    """One array of an .npz, refusing object arrays (they would need unpickling) with an error naming the field."""
    try:
        return archive[name]
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise DataError(f"{path}: field {name!r} holds Python objects (an object array, which only unpickling "
                            "could read; whynets never unpickles data): save it as a numeric array") from None
        raise DataError(f"{path}: field {name!r} cannot be read ({err})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"{path}: field {name!r} is damaged ({err})") from None


def check_labels(ds: Dataset, n_classes: int, where: str) -> None:
    for field, y in (("y", ds.y), ("y_test", ds.y_test)):
        if int(y.max()) >= n_classes:
            raise DataError(f"{where}: field {field!r} has label {int(y.max())}, out of range for {n_classes} classes (0..{n_classes - 1})")


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped): magic 0x0000 TT DD, then DD big-endian int32 dims, then data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err}); a .gz file must be gzip-compressed IDX") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    if any(d < 0 for d in dims):
        raise DataError(f"{path}: IDX header has a negative dimension {dims}")
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


def _check_targets(y: np.ndarray, where: str, name: str) -> str:
    """The task a target array implies: classification (integer labels), soft (float rows: a teacher's logits or
    probabilities), regression (float scalars)."""
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        raise DataError(f"{where}: field {name!r} must be numeric, got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.integer):
        return "classification"
    if not np.all(np.isfinite(y)):
        raise DataError(f"{where}: field {name!r} has NaN/Inf targets")
    return "soft" if y.ndim == 2 else "regression"


def load_tensors_file(path: str | Path) -> Dataset:
    """A data set saved as safetensors: tensors ``x``, ``y`` (required), ``x_test``, ``y_test`` (optional; else the
    last 20% is held out). Integer ``y``: class labels; float ``y`` of shape (n, C): soft targets (e.g. a teacher's
    logits, for distillation; the test labels stay integers); float (n,): regression targets."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (expected a .safetensors file with tensors x, y[, x_test, y_test])")
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable safetensors file ({err}); write one with "
                        "safetensors.numpy.save_file({'x': ..., 'y': ...}, path)") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing tensor(s) {missing}; found {sorted(arrays)}; need x, y[, x_test, y_test]")
    x, y = arrays["x"], arrays["y"]
    task = _check_targets(y, str(path), "y")
    if "x_test" in arrays and "y_test" in arrays:
        xt, yt = arrays["x_test"], arrays["y_test"]
    else:
        cut = int(round(0.8 * len(x)))
        x, y, xt, yt = x[:cut], y[:cut], x[cut:], y[cut:]
    test_task = _check_targets(yt, str(path), "y_test")
    for xs, ys, names in ((x, y, ("x", "y")), (xt, yt, ("x_test", "y_test"))):
        probe = ys if ys.ndim == 1 else np.zeros(len(ys), dtype=np.int64)
        validate(xs, probe if np.issubdtype(ys.dtype, np.integer) else np.zeros(len(ys), dtype=np.int64), str(path),
                 *names)
    if task == "soft":
        n_classes = y.shape[1]
    elif task == "regression":
        n_classes = 1
    else:
        n_classes = int(max(y.max(), yt.max() if test_task == "classification" else 0)) + 1
    as_y = lambda a: torch.as_tensor(a.astype(np.int64) if np.issubdtype(a.dtype, np.integer)  # noqa: E731
                                     else a.astype(np.float32))
    return Dataset(torch.as_tensor(x, dtype=torch.float32), as_y(y), torch.as_tensor(xt, dtype=torch.float32), as_y(yt),
                   {"name": "safetensors", "n_classes": n_classes, "source": str(path), "task": task})


def save_tensors_file(path: str | Path, **arrays) -> None:
    """Write tensors as a safetensors data file (atomically), e.g. a transfer set with its teacher's logits."""
    from safetensors.numpy import save_file

    from whynets.store.io import write_guard

    import os
    import uuid
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}")
    with write_guard(tmp, path):
        save_file({k: np.ascontiguousarray(np.asarray(v)) for k, v in arrays.items()}, str(tmp))
        os.replace(tmp, path)
