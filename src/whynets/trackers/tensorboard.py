"""TensorBoard event files of a finished run (tensorboardX: no TensorFlow, no gRPC), in ``<run folder>/tensorboard``."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from .tags import scalars

__all__ = ["write_tensorboard", "tensorboard_dir"]


def tensorboard_dir(folder: Path) -> Path:
    return Path(folder) / "tensorboard"


def write_tensorboard(folder: Path, record: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """``<folder>/tensorboard/``: one event file of every scalar (and the claims as text), written in a temp folder
    and then put in place, so a reader never sees half of it and a second log replaces the first."""
    from tensorboardX import SummaryWriter

    from whynets.report.claims import markdown_table

    target = tensorboard_dir(folder)
    tmp = folder / f".tensorboard.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        writer = SummaryWriter(logdir=str(tmp), flush_secs=3600, max_queue=1 << 16)
        wall = time.time()
        for tag, step, value in scalars(rows):
            writer.add_scalar(tag, value, global_step=step, walltime=wall)
        if record.get("claims"):
            writer.add_text("claims", markdown_table(list(record["claims"])), global_step=0, walltime=wall)
        writer.close()
        old = folder / f".tensorboard.old{os.getpid()}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
