"""Plotting helpers for experiments' figures: matplotlib (Agg) and ``save_figure``, which writes every PNG with the
data behind it as JSON beside it. Figures are drawn from stored results only, never from state in memory.

It sits below the experiments (they import it) and above the store (whose atomic writes it uses).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import sys

import matplotlib

if "ipykernel" not in sys.modules:  # in Jupyter the user's inline backend stays (save_figure closes our figures)
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from whynets.store.io import atomic_write_json, write_guard  # noqa: E402

__all__ = ["save_figure", "plt"]


def save_figure(fig: "plt.Figure", data: dict[str, Any], out: Path, name: str) -> str:
    """Write ``out/name.png`` and ``out/name.json`` (the plotted numbers); returns the PNG's file name.

    The PNG goes to a unique temp name first (two runs drawing the same figure never collide), then is renamed."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.png"
    tmp = out / f".{name}.png.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        with write_guard(tmp, target):
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
            os.replace(tmp, target)
    finally:
        plt.close(fig)
    atomic_write_json(out / f"{name}.json", data)
    return f"{name}.png"
