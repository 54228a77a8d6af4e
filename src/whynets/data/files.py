"""Loaders for a user's own data: ``.npz`` and safetensors files (IDX files: ``data/idx.py``).

Fields ``x`` and ``y`` (required), ``x_test`` and ``y_test`` (optional; without them the last 20% of ``x``/``y`` is
held out). The task follows the targets' dtype, in every loader: integer ``y`` are class labels 0..C-1
(classification); float ``y`` are regression targets, one per example (n,) or C per example (n, C); float rows for
training with integer test labels are a teacher's soft targets (distillation). Every check names the file and the
field at fault, and nothing is read before its declared size is checked against the memory budget
(``whynets.resources``).
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from whynets.resources import check_memory

from .dataset import Dataset, DataError

__all__ = ["load_npz", "validate", "check_inputs", "check_targets", "split_task", "to_dataset", "MAX_CLASSES",
           "load_tensors_file", "save_tensors_file", "check_labels"]

MAX_CLASSES = 100_000  # labels are class indices 0..C-1; a larger label is almost surely not one


def check_inputs(x: np.ndarray, where: str, name: str = "x") -> None:
    """Inputs: (n_examples, features...), real numbers, finite, at least one example."""
    if x.ndim < 2:
        raise DataError(f"{where}: field {name!r} must have shape (n_examples, features...), got shape {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"{where}: field {name!r} holds no examples")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{where}: field {name!r} is complex ({x.dtype}); give real inputs (e.g. stack the real and "
                        "imaginary parts as features) — whynets will not drop the imaginary part silently")
    if not np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_:
        raise DataError(f"{where}: field {name!r} must be numeric, got dtype {x.dtype}")
    _finite(x, where, name)


def _finite(a: np.ndarray, where: str, name: str) -> None:
    if np.issubdtype(a.dtype, np.integer):
        return
    bad = ~np.isfinite(a.astype(np.float64, copy=False))
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise DataError(f"{where}: field {name!r} has {int(bad.sum())} NaN/Inf values (first at index {first})")


def check_targets(y: np.ndarray, where: str, name: str = "y") -> str:
    """What the targets are, by dtype: ``labels`` (integers, 1-D, 0..C-1) or ``float`` ((n,) or (n, C), finite)."""
    if np.issubdtype(y.dtype, np.complexfloating) or not np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_:
        raise DataError(f"{where}: field {name!r} must hold integer class labels or float regression targets, got "
                        f"dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.integer):
        if y.ndim != 1:
            raise DataError(f"{where}: field {name!r} must be 1-D (one label per example), got shape {y.shape}")
        if y.size and y.min() < 0:
            raise DataError(f"{where}: field {name!r} has negative labels (min {y.min()}); labels must be 0..C-1")
        top = int(y.max()) if y.size else 0  # a Python int: no wrap-around for uint64 labels
        if top >= MAX_CLASSES:
            raise DataError(f"{where}: field {name!r} has label {top}, which would make {top + 1} classes (at most "
                            f"{MAX_CLASSES}); labels must be 0..C-1 — relabel with np.unique(y, return_inverse=True)")
        return "labels"
    if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
        raise DataError(f"{where}: field {name!r} holds float targets of shape {y.shape}; give one per example (n,) "
                        "or C per example (n, C)")
    _finite(y, where, name)
    return "float"


def validate(x: np.ndarray, y: np.ndarray, where: str, xname: str = "x", yname: str = "y") -> str:
    """One split: inputs and targets checked, and as many of each. Returns the targets' kind (``check_targets``)."""
    check_inputs(x, where, xname)
    kind = check_targets(y, where, yname)
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{where}: {xname!r} has {x.shape[0]} examples but {yname!r} has {y.shape[0]}")
    return kind


def split_task(y: np.ndarray, yt: np.ndarray, kinds: tuple[str, str], where: str,
               names: tuple[str, str] = ("y", "y_test")) -> tuple[str, int]:
    """(task, outputs) of a train/test pair of targets: classification (labels, C = largest label + 1), regression
    (floats on both sides, 1 or C outputs), soft (float rows (n, C) for training, labels < C for testing)."""
    if kinds == ("labels", "labels"):
        return "classification", int(max(y.max(), yt.max())) + 1
    if kinds == ("float", "float"):
        if y.shape[1:] != yt.shape[1:]:
            raise DataError(f"{where}: {names[0]!r} has target shape {y.shape[1:]} but {names[1]!r} has "
                            f"{yt.shape[1:]}; give both the same number of outputs")
        return "regression", 1 if y.ndim == 1 else int(y.shape[1])
    if kinds == ("float", "labels") and y.ndim == 2:
        if int(yt.max()) >= y.shape[1]:
            raise DataError(f"{where}: {names[1]!r} has label {int(yt.max())}, but {names[0]!r} holds soft targets for "
                            f"{y.shape[1]} classes")
        return "soft", int(y.shape[1])
    float_name, int_name = (names[0], names[1]) if kinds[0] == "float" else (names[1], names[0])
    raise DataError(f"{where}: {float_name!r} holds float targets (regression) but {int_name!r} holds integer class "
                    "labels; give both as floats (regression) or both as integers (classification)")


def to_dataset(x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, task: str, outputs: int, name: str,
               source: str) -> Dataset:
    as_y = lambda a: torch.as_tensor(a.astype(np.int64) if np.issubdtype(a.dtype, np.integer)  # noqa: E731
                                     else a.astype(np.float32))
    as_x = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    return Dataset(as_x(x), as_y(y), as_x(xt), as_y(yt), {"name": name, "n_classes": outputs, "source": source,
                                                          "task": task})


def _holdout(x, y, where: str):
    """The last 20% of (x, y) as the test split."""
    cut = int(round(0.8 * len(x)))
    if cut in (0, len(x)):
        raise DataError(f"{where}: too few examples ({len(x)}) to hold out a test split; add x_test, y_test")
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _assemble(fields: dict[str, np.ndarray], where: str, name: str) -> Dataset:
    """A Dataset from the named arrays of a file: checked, split if needed, its task from the targets' dtype."""
    x, y = fields["x"], fields["y"]
    kind = validate(x, y, where)
    if "x_test" in fields:
        xt, yt = fields["x_test"], fields["y_test"]
        test_kind = validate(xt, yt, where, "x_test", "y_test")
        if xt.shape[1:] != x.shape[1:]:
            raise DataError(f"{where}: x_test has example shape {xt.shape[1:]} but x has {x.shape[1:]}")
    else:
        x, y, xt, yt = _holdout(x, y, where)
        test_kind = kind
    task, outputs = split_task(y, yt, (kind, test_kind), where)
    return to_dataset(x, y, xt, yt, task, outputs, name, where)


def _check_fields(found: list[str], where: str, kind: str = "field") -> None:
    missing = [k for k in ("x", "y") if k not in found]
    if missing:
        raise DataError(f"{where}: missing {kind}(s) {missing}; found {sorted(found)}; need x, y[, x_test, y_test]")
    if ("x_test" in found) != ("y_test" in found):
        raise DataError(f"{where}: give both x_test and y_test or neither (found {sorted(found)})")


def load_npz(path: str | Path, n_classes: int | None = None) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (expected an .npz with fields x, y[, x_test, y_test])")
    if path.is_dir():
        raise DataError(f"{path}: a folder, not an .npz file (data.name=idx reads a folder of IDX files)")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK"):
        what = ("a single .npy array" if head.startswith(b"\x93NUMPY") else "a pickle (whynets never unpickles data)"
                if head[:1] == b"\x80" else f"a file starting with {head!r}")
        raise DataError(f"{path}: not an .npz archive (a zip of .npy arrays) but {what}; save one with "
                        "np.savez(path, x=..., y=...)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err}); save one with np.savez(path, x=..., y=...)") from None
    with archive:
        members = {info.filename[:-4]: info for info in archive.infolist() if info.filename.endswith(".npy")}
        _check_fields(list(members), str(path))
        names = [k for k in ("x", "y", "x_test", "y_test") if k in members]
        headers = {k: _npy_header(archive, members[k], path, k) for k in names}
        check_memory(sum(2 * n for _, _, n in headers.values()),  # the arrays, and their float32 copies
                     f"{path}: fields {', '.join(f'{k} {tuple(s)} {d}' for k, (s, d, _) in headers.items())}")
        fields = {k: _read_npy(archive, members[k], path, k) for k in names}
    ds = _assemble(fields, str(path), "npz")
    if n_classes is not None:
        check_labels(ds, n_classes, str(path))
    return ds


def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, name: str):
    """(shape, dtype, bytes) an .npy member declares, read from its header alone; object arrays (which only
    unpickling could read) and arrays larger than the member holds are refused."""
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = reader(f)
            offset = f.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError) as err:
        raise DataError(f"{path}: field {name!r} is damaged ({err})") from None
    if dtype.hasobject:
        raise DataError(f"{path}: field {name!r} holds Python objects (an object array, which only unpickling "
                        "could read; whynets never unpickles data): save it as a numeric array")
    nbytes = math.prod(shape) * dtype.itemsize  # Python integers: no overflow for any declared shape
    if offset + nbytes > info.file_size:
        raise DataError(f"{path}: field {name!r} declares shape {tuple(shape)} {dtype} ({nbytes} bytes) but holds "
                        f"{info.file_size - offset} bytes (truncated or damaged)")
    return shape, dtype, nbytes


def _read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, name: str) -> np.ndarray:
    try:
        with archive.open(info) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
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


_ST_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
             "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}


def load_tensors_file(path: str | Path) -> Dataset:
    """A data set saved as safetensors: tensors ``x``, ``y`` (required), ``x_test``, ``y_test`` (optional; else the
    last 20% is held out). Integer ``y``: class labels; float ``y`` of shape (n,) or (n, C): regression targets;
    float (n, C) with integer ``y_test``: soft targets (e.g. a teacher's logits, for distillation)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (expected a .safetensors file with tensors x, y[, x_test, y_test])")
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a safetensors file")
    try:
        with safe_open(str(path), framework="numpy") as f:
            shapes = {k: (f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()}
        _check_fields(list(shapes), str(path), "tensor")
        wanted = {k: v for k, v in shapes.items() if k in ("x", "y", "x_test", "y_test")}
        check_memory(sum(2 * math.prod(s) * _ST_BYTES.get(d, 8) for s, d in wanted.values()),
                     f"{path}: tensors {', '.join(f'{k} {tuple(s)} {d}' for k, (s, d) in wanted.items())}")
        arrays = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable safetensors file ({err}); write one with "
                        "safetensors.numpy.save_file({'x': ..., 'y': ...}, path)") from None
    return _assemble({k: arrays[k] for k in ("x", "y", "x_test", "y_test") if k in arrays}, str(path), "safetensors")


def save_tensors_file(path: str | Path, **arrays) -> None:
    """Write tensors as a safetensors data file (atomically), e.g. a transfer set with its teacher's logits."""
    from safetensors.numpy import save_file

    from whynets.fileio import temp_path, write_guard

    path = Path(path)
    tmp = temp_path(path)
    with write_guard(tmp, path):
        save_file({k: np.ascontiguousarray(np.asarray(v)) for k, v in arrays.items()}, str(tmp))
        os.replace(tmp, path)
