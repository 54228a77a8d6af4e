"""File operations the store relies on: the atomic writes, quarantine and temp-file sweep of ``whynets.fileio``
(re-exported here), and per-cell locks between processes.

* ``cell_lock``: an exclusive ``fcntl.flock`` on ``<cell>/.lock``; a second process computing the same cell
  waits for the first, then reads its result instead of computing it again.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Callable, Iterator

from whynets.fileio import (StoreError, append_line, atomic_write_bytes, atomic_write_json, atomic_write_text,
                            check_folder, ensure_folder, explain, is_writable, json_default, quarantine, read_json,
                            sweep_temp_files, temp_path, write_guard)

__all__ = ["StoreError", "atomic_write_text", "atomic_write_json", "atomic_write_bytes", "read_json", "write_guard",
           "cell_lock", "append_line", "quarantine", "sweep_temp_files", "is_writable", "json_default", "explain",
           "temp_path", "ensure_folder", "check_folder"]


@contextlib.contextmanager
def cell_lock(folder: Path, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``folder/.lock`` (created if needed) for the block; say so if it has to wait."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "a")
    except OSError as err:
        raise explain(err, folder / ".lock") from None
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
