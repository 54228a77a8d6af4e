"""File operations every floor relies on (the store, the data cache, figures, reports): atomic writes that clean up
after themselves, one clear line for a full disk, a read-only folder, a file where a folder should be or a path
too long, damaged files moved aside, and stale temp files swept.

* ``atomic_write_bytes`` / ``atomic_write_text`` / ``atomic_write_json``: a unique temp file
  (``.<name>.tmp<pid>.<8 hex>``), fsync, rename. A failed write removes its temp file; an ``OSError`` becomes a
  ``StoreError`` that names the file and what to do.
* ``quarantine``: a damaged file is renamed ``<name>.corrupt-<time>-<4 hex>`` (never deleted) and reported.
* ``sweep_temp_files``: temp files whose writer is gone (its pid no longer runs, or now names a process that
  started after the file was written: a reused pid).

    >>> from whynets.fileio import atomic_write_json, read_json   # atomic_write_json(path, obj); read_json(path)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from whynets.errors import StoreError

__all__ = ["StoreError", "explain", "write_guard", "append_line", "temp_path", "atomic_write_bytes", "atomic_write_text",
           "atomic_write_json", "json_default", "read_json", "is_writable", "quarantine", "sweep_temp_files",
           "ensure_folder", "check_folder", "TEMP_PATTERN"]


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest ancestor of ``path`` (or itself) that exists and is not a folder."""
    for p in [path, *path.parents]:
        if p.exists():
            return None if p.is_dir() else p
    return None


OUT_REMEDY = "choose another --out, then run again: finished cells are kept"


def explain(err: OSError, path: Path, remedy: str = OUT_REMEDY) -> StoreError:
    """An ``OSError`` met while writing ``path`` as one line: what, where, what would be right (``remedy``: what to
    do about a full disk)."""
    path = Path(path)
    code = err.errno or 0
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return StoreError(code, f"no space left on {path.parent} (writing {path.name}); free some space or {remedy}")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError(code, f"cannot write {path}: {os.strerror(code)}; choose a folder you can write for --out")
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = _file_in_the_way(path.parent if code == errno.ENOTDIR else path)
        where = f"{blocker} is a file, not a folder" if blocker else f"{path.parent} is not a folder"
        return StoreError(code, f"cannot write {path}: {where}; give --out a folder (it is created if missing)")
    if code == errno.ENAMETOOLONG:
        longest = max((len(part.encode()) for part in path.parts), default=0)
        return StoreError(code, f"cannot write {str(path)[:60]}…: the path is too long ({len(str(path))} characters, "
                          f"longest name {longest} bytes; this filesystem allows 255 per name); choose a shorter --out")
    if code == errno.EISDIR:
        return StoreError(code, f"cannot write {path}: a folder is in the way of the file; move it aside")
    return StoreError(code, f"cannot write {path}: {os.strerror(code) if code else err}")


def _limits(folder: Path) -> tuple[int, int]:
    """(longest name, longest path) the filesystem holding ``folder`` allows."""
    for p in [folder, *folder.parents]:
        try:
            if p.is_dir():
                return os.pathconf(p, "PC_NAME_MAX"), os.pathconf(p, "PC_PATH_MAX")
        except (OSError, ValueError):
            continue
    return 255, 4096


def check_folder(folder: Path, what: str = "--out") -> None:
    """Could ``folder`` be a folder (it, or its nearest existing parent, is one; no name or path too long)? A
    ``StoreError`` saying what is wrong and what would be right if not; nothing is created."""
    folder = Path(folder)
    name_max, path_max = _limits(folder.absolute())
    longest = max(folder.absolute().parts, key=lambda part: len(part.encode()), default="")
    if len(longest.encode()) > name_max or len(str(folder.absolute()).encode()) >= path_max:
        raise StoreError(errno.ENAMETOOLONG, f"{what} {str(folder)[:60]}…: the path is too long "
                         f"({len(str(folder.absolute()))} characters, a name of {len(longest.encode())} bytes; this "
                         f"filesystem allows {name_max} per name, {path_max} in all); choose a shorter path")
    for p in [folder, *folder.parents]:
        try:
            exists, is_dir = p.exists(), p.is_dir()
        except OSError as err:
            raise StoreError(err.errno or 0, f"{what} {folder}: {os.strerror(err.errno or 0)}") from None
        if exists and not is_dir:
            which = "" if p == folder else f"{p} is "
            raise StoreError(errno.ENOTDIR, f"{what} {folder}: {which}a file, not a folder; give a folder (it is "
                             "created if missing)")
        if exists:
            return


def ensure_folder(folder: Path, what: str = "--out") -> None:
    """``folder`` exists as a folder (created if missing) or a ``StoreError`` says why not."""
    folder = Path(folder)
    check_folder(folder, what)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        code = err.errno or 0
        if code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG):
            raise explain(err, folder) from None
        raise StoreError(code, f"{what} {folder}: cannot create this folder ({os.strerror(code) if code else err}); "
                         "give another folder") from None


def _nearly_full(folder: Path, margin: int = 1 << 20) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < margin


@contextlib.contextmanager
def write_guard(tmp: Path, path: Path, remedy: str = OUT_REMEDY) -> Iterator[None]:
    """Remove ``tmp`` if the block fails; turn OS errors into a ``StoreError`` that names ``path``."""
    try:
        yield
    except BaseException as err:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        if isinstance(err, StoreError):
            raise
        if isinstance(err, OSError):
            raise explain(err, Path(path), remedy) from None
        if isinstance(err, Exception) and _nearly_full(Path(path).parent):  # a C/Rust writer's error on a full disk
            raise StoreError(errno.ENOSPC, f"no space left on {Path(path).parent} (writing {Path(path).name}: {err}); "
                             f"free some space or {remedy}") from None
        raise


def append_line(path: Path, line: str) -> None:
    """Append one line (a metrics row); a failure says why (full disk, read-only) and names the file."""
    try:
        with open(path, "a") as f:
            f.write(line)
    except OSError as err:
        raise explain(err, Path(path)) from None


def temp_path(path: Path) -> Path:
    """The unique temp name a write of ``path`` goes through (``sweep_temp_files`` recognizes it)."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise explain(err, path) from None
    tmp = temp_path(path)
    with write_guard(tmp, path):
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


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
    try:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return folder.is_dir() and os.access(folder, os.W_OK)
    except OSError:
        return False


def quarantine(path: Path, log: Callable[[str], None] | None = None, why: str = "", tag: str = "corrupt") -> Path | None:
    """Move a damaged (or stale) file aside (``<name>.<tag>-<unix time>-<4 hex>``), never delete it; returns the new
    path. ``log`` gets one line saying what and why."""
    path = Path(path)
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.{tag}-{int(time.time())}-{uuid.uuid4().hex[:4]}")
    try:
        os.replace(path, target)
    except FileNotFoundError:  # another process moved it aside first
        return None
    except OSError as err:
        raise explain(err, target) from None
    if log is not None:
        log(f"warning: {path} was {'damaged' if tag == 'corrupt' else tag} ({why}); moved aside to {target.name}, "
            "recomputing")
    return target


TEMP_PATTERN = re.compile(r"^\..+\.tmp(\d+)\.[0-9a-f]{8}$")


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (unix time), from /proc; None where /proc cannot say."""
    boot = _boot_time()
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK") if boot is not None else None
    except (OSError, IndexError, ValueError):
        return None


def _writer_alive(pid: int, written: float) -> bool:
    """Is the process that wrote a temp file (at ``written``) still running? A live pid whose process started after
    the file was written is another process that reused the pid: the writer is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _process_start(pid)
    return started is None or started <= written + 2.0  # /proc's boot time has 1 s resolution


def sweep_temp_files(folder: Path, pattern: re.Pattern = TEMP_PATTERN) -> list[Path]:
    """Remove temp files in ``folder`` (not below it) whose writer is gone: a kill or a crash left them. ``pattern``
    captures the writer's pid as its first group."""
    removed: list[Path] = []
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = pattern.match(p.name)
        if not m:
            continue
        try:
            written = p.stat().st_mtime
        except OSError:
            continue
        if not _writer_alive(int(m.group(1)), written):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed
