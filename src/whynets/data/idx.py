"""IDX files (the MNIST file format), optionally gzipped: give a folder holding ``train-images-idx3-ubyte`` /
``train-labels-idx1-ubyte`` / ``t10k-...`` (each optionally ``.gz``).

The header is read first (magic 0x0000 TT DD, then DD big-endian int32 dimensions); the size it declares is checked
against the memory budget and against the file before the body is read, and a gzipped body is decompressed as a
stream, never past the size the header declares (a small ``.gz`` cannot inflate into gigabytes). Label files of
integers are class labels; label files of floats (types 0x0D, 0x0E) are regression targets.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from whynets.resources import check_memory

from .dataset import Dataset, DataError
from .files import split_task, to_dataset, validate

__all__ = ["read_idx", "load_idx"]

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_exactly(f, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(f"{path}: truncated IDX file ({what}: {len(data)} of {n} bytes)")
    return data


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped), checking its declared size before reading its body."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number {magic.hex()})")
            ndim = magic[3]
            dims = struct.unpack(f">{ndim}i", _read_exactly(f, 4 * ndim, path, f"header of {ndim} dimensions"))
            if any(d < 0 for d in dims):
                raise DataError(f"{path}: IDX header has a negative dimension {dims}")
            dtype = np.dtype(_IDX_DTYPES[magic[2]])
            expected = math.prod(dims) * dtype.itemsize  # Python integers: 65536**4 does not wrap around
            if opener is open:
                held = path.stat().st_size - 4 - 4 * ndim
                if held != expected:
                    raise DataError(f"{path}: header says shape {dims} ({expected} bytes) but the file holds {held} "
                                    "bytes")
            check_memory(expected * (1 + 4 // dtype.itemsize), f"{path}: IDX header declares shape {dims} {dtype}")
            body = f.read(expected)  # a stream: at most what the header declares
            if len(body) != expected:
                raise DataError(f"{path}: header says shape {dims} ({expected} bytes) but the file holds {len(body)} "
                                "bytes")
            if f.read(1):
                raise DataError(f"{path}: holds more bytes than its header's shape {dims} ({expected} bytes); damaged "
                                "or not one IDX array")
    except (gzip.BadGzipFile, EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err}); a .gz file must be gzip-compressed IDX") from None
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
    y, yt = (p if p.dtype.isnative else p.astype(p.dtype.newbyteorder("=")) for p in (parts["y"], parts["y_test"]))
    names = ("train-labels", "t10k-labels")
    kinds = (validate(x, y, str(folder), "train-images", names[0]), validate(xt, yt, str(folder), "t10k-images", names[1]))
    task, outputs = split_task(y, yt, kinds, str(folder), names)
    return to_dataset(x, y, xt, yt, task, outputs, "idx", str(folder))
