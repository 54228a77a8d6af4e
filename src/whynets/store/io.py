"""File operations the store relies on: atomic writes that clean up after themselves, clear errors for a
full disk or a read-only store, per-cell locks between processes, and damaged files moved aside.

* ``atomic_write_text`` / ``atomic_write_json``: a unique temp file (pid + random suffix), fsync, rename. A
  failed write removes its temp file; ENOSPC becomes ``StoreError("no space left on <path> …")``.
* ``cell_lock``: an exclusive ``fcntl.flock`` on ``<cell>/.lock``; a second process computing the same cell
  waits for the first, then reads its result instead of computing it again.
* ``quarantine``: a damaged file is renamed ``<name>.corrupt-<time>`` (never deleted) and reported.
* ``sweep_temp_files``: temp files left by a killed process (``.<name>.tmp<pid>.*`` whose pid is gone).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from whynets.errors import WhynetsError

__all__ = ["StoreError", "atomic_write_text", "atomic_write_json", "read_json", "write_guard", "cell_lock", "append_line",
           "quarantine", "sweep_temp_files", "is_writable", "json_default"]


class StoreError(WhynetsError, OSError):
    """The store could not be written (full disk, read-only, permissions): the message says where and what to do."""


def _explain(err: OSError, path: Path) -> StoreError:
    if err.errno == errno.ENOSPC:
        return StoreError(errno.ENOSPC, f"no space left on {path.parent} (writing {path.name}); free some space or "
                          "choose another --out, then run again: finished cells are kept")
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError(err.errno, f"cannot write {path}: the store is read-only ({os.strerror(err.errno)}); "
                          "choose a writable --out to compute, or read the finished results with `whynets report`")
    return StoreError(err.errno or 0, f"cannot write {path}: {err}")


@contextlib.contextmanager
def write_guard(tmp: Path, path: Path) -> Iterator[None]:
    """Remove ``tmp`` if the block fails; turn OS errors into a ``StoreError`` that names ``path``."""
    try:
        yield
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, StoreError):
            raise
        if isinstance(err, OSError):
            raise _explain(err, path) from None
        if isinstance(err, Exception) and _nearly_full(path.parent):  # a C/Rust writer's error on a full disk
            raise StoreError(errno.ENOSPC, f"no space left on {path.parent} (writing {path.name}: {err}); free some "
                             "space or choose another --out, then run again: finished cells are kept") from None
        raise


def _nearly_full(folder: Path, margin: int = 1 << 20) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < margin


def append_line(path: Path, line: str) -> None:
    """Append one line (a metrics row); a failure says why (full disk, read-only) and names the file."""
    try:
        with open(path, "a") as f:
            f.write(line)
    except OSError as err:
        raise _explain(err, Path(path)) from None


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}")


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _explain(err, path) from None
    tmp = _tmp(path)
    with write_guard(tmp, path):
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def json_default(o: Any) -> Any:
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot store a {type(o).__name__} as JSON")


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, default=json_default, allow_nan=True) + "\n")


def read_json(path: Path) -> Any:
    with open(path) as f:
        return json.load(f)


def is_writable(folder: Path) -> bool:
    """Can files be created in ``folder`` (or in its nearest existing parent)?"""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)


def quarantine(path: Path, log: Callable[[str], None] | None = None, why: str = "", tag: str = "corrupt") -> Path | None:
    """Move a damaged (or stale) file aside (``<name>.<tag>-<unix time>``), never delete it; returns the new path."""
    path = Path(path)
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.{tag}-{int(time.time())}-{uuid.uuid4().hex[:4]}")
    os.replace(path, target)
    if log is not None:
        log(f"warning: {path} was {'damaged' if tag == 'corrupt' else tag} ({why}); moved aside to {target.name}, "
            "recomputing")
    return target


@contextlib.contextmanager
def cell_lock(folder: Path, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``folder/.lock`` (created if needed) for the block; say so if it has to wait."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "a")
    except OSError as err:
        raise _explain(err, folder / ".lock") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log is not None:
                log(f"{folder.name}: another whynets process is computing this cell; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


_TMP = re.compile(r"^\..+\.tmp(\d+)\.[0-9a-f]{8}$")


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove temp files in ``folder`` whose writing process no longer runs (a kill or a crash left them)."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if not m:
            continue
        pid = int(m.group(1))
        alive = True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed
