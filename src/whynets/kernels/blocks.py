"""Memory planning for kernel matrices: how big a block of input pairs fits a stated budget.

A kernel call first estimates what it will hold at once — the output matrices (n1 × n2 entries each) plus the
workspace of one block (``bytes_per_pair`` for each pair of the block) — and picks the largest block (rows of x1 ×
columns of x2) that keeps the total under ``budget`` bytes. If even the output cannot fit, it refuses with one line
saying how much it would need. A progress callback ``progress(done_pairs, total_pairs)`` is called after each block;
``progress=True`` draws a bar on stderr when the work is long (more than a few blocks).

    >>> plan = plan_blocks(10_000, 10_000, outputs=2, bytes_per_pair=64, budget=2 * 2**30)
    >>> plan.peak_bytes <= 2 * 2**30
    True
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from whynets.errors import WhynetsError

__all__ = ["BlockPlan", "plan_blocks", "KernelMemoryError", "DEFAULT_BUDGET", "gib", "Progress"]

DEFAULT_BUDGET = 2 * 2**30  # 2 GiB


class KernelMemoryError(WhynetsError, MemoryError):
    """The kernel's output alone would exceed the memory budget."""


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


@dataclass(frozen=True)
class BlockPlan:
    n1: int
    n2: int
    rows: int  # x1 rows per block
    cols: int  # x2 rows per block
    output_bytes: int
    block_bytes: int  # workspace of one block
    budget: int

    @property
    def peak_bytes(self) -> int:
        return self.output_bytes + self.block_bytes

    @property
    def blocks(self) -> int:
        return math.ceil(self.n1 / self.rows) * math.ceil(self.n2 / self.cols)

    def tiles(self) -> Iterator[tuple[slice, slice]]:
        for i in range(0, self.n1, self.rows):
            for j in range(0, self.n2, self.cols):
                yield slice(i, min(i + self.rows, self.n1)), slice(j, min(j + self.cols, self.n2))


def plan_blocks(n1: int, n2: int, *, outputs: int, bytes_per_pair: int, budget: int = DEFAULT_BUDGET,
                itemsize: int = 8, fixed_bytes: int = 0, what: str = "kernel", max_pairs: int | None = None) -> BlockPlan:
    """The largest block (whole rows of x2 first, then fewer columns) whose workspace fits next to the outputs.

    ``outputs``: n1 × n2 matrices returned (NNGP and NTK: 2); ``bytes_per_pair``: workspace per input pair of a block;
    ``fixed_bytes``: anything held regardless of the block (per-input diagonals, the inputs themselves);
    ``max_pairs``: a cap on the block (a CPU runs the elementwise layer steps ~5× faster on cache-sized blocks)."""
    if budget <= 0:
        raise KernelMemoryError(f"{what}: memory_budget must be > 0 bytes, got {budget}")
    output_bytes = int(outputs) * n1 * n2 * itemsize + int(fixed_bytes)
    free = budget - output_bytes
    if free < bytes_per_pair:
        raise KernelMemoryError(
            f"{what}: the {n1}×{n2} output ({outputs} matri{'ces' if outputs > 1 else 'x'}, {itemsize * 8}-bit) alone "
            f"needs {gib(output_bytes)}, over the memory budget of {gib(budget)}; raise memory_budget or split the "
            f"inputs")
    pairs = free // bytes_per_pair
    if max_pairs is not None:
        pairs = min(pairs, max(int(max_pairs), 1))
    if pairs >= n2:
        cols = n2
        rows = int(min(n1, pairs // max(n2, 1)))
    else:
        rows, cols = 1, int(pairs)
    return BlockPlan(n1=n1, n2=n2, rows=max(rows, 1), cols=max(cols, 1), output_bytes=output_bytes,
                     block_bytes=max(rows, 1) * max(cols, 1) * bytes_per_pair, budget=budget)


class Progress:
    """Calls ``callback(done, total)`` after each block; ``True`` draws a text bar on stderr for long work."""

    def __init__(self, progress: bool | Callable[[int, int], None] | None, total: int, blocks: int, what: str):
        self.total, self.done, self.what = total, 0, what
        self.callback = progress if callable(progress) else None
        self.bar = progress is True and blocks > 4
        self.start = time.perf_counter()

    def advance(self, pairs: int) -> None:
        self.done += pairs
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar:
            frac = self.done / max(self.total, 1)
            elapsed = time.perf_counter() - self.start
            eta = elapsed / frac - elapsed if frac > 0 else float("nan")
            filled = int(30 * frac)
            sys.stderr.write(f"\r{self.what} [{'#' * filled}{'.' * (30 - filled)}] {100 * frac:5.1f}%  "
                             f"{elapsed:6.1f}s elapsed, ~{eta:6.1f}s left")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
