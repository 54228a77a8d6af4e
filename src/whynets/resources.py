"""Limits that protect the machine: a memory budget checked BEFORE anything large is allocated (a data file's
declared shapes, a generated data set, a population of models), refused with one line naming what, the size and
the limit.

The budget is half of this machine's memory (the smaller of its RAM and the container's cgroup limit) or, on a GPU,
90% of the device's; ``WHYNETS_MEMORY_BUDGET`` (or ``--memory-budget`` on ``run``/``reproduce``) sets it: bytes
with a unit (``12G``, ``800M``, ``1.5T``; powers of 1024) or a share of the machine (``80%``).

    >>> from whynets.resources import check_memory, memory_budget
    >>> check_memory(10 * 2**20, "a 10 MiB array")        # passes quietly; past the budget: ResourceError
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from whynets.errors import ResourceError

__all__ = ["ENV", "DEFAULT_SHARE", "machine_memory", "parse_size", "memory_budget", "check_memory", "fmt_bytes"]

ENV = "WHYNETS_MEMORY_BUDGET"
DEFAULT_SHARE = 0.5  # of this machine's memory: room for the OS, other processes and what no estimate counts
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; sizes past any machine stay readable ('3.6e+06 TiB')."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB" if abs(n) < 1e5 else f"{n:.2g} TiB"


def machine_memory() -> int:
    """This machine's memory in bytes: physical RAM, or the container's cgroup limit where that is smaller."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        total = 8 * 2**30
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def parse_size(text: str, what: str = ENV) -> int:
    """'12G' / '800M' / '1.5T' / '123456' (bytes) / '80%' (of this machine's memory) -> bytes."""
    value = str(text).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", value)
    if m:
        share = float(m.group(1)) / 100
        if not 0 < share <= 1:
            raise ResourceError(f"{what}={text!r}: a share of this machine's memory must lie in (0%, 100%]")
        return int(share * machine_memory())
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGTPB]?)(?:I?B)?", value.upper())
    if not m or float(m.group(1)) <= 0:
        raise ResourceError(f"{what}={text!r} is not a memory size; give e.g. 12G, 800M, 1.5T or 80% (of this "
                            "machine's memory)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def memory_budget(device: str = "cpu") -> tuple[int, str]:
    """(bytes, how it was set) for allocations on ``device`` (a torch device string)."""
    if os.environ.get(ENV, "").strip():
        return parse_size(os.environ[ENV]), f"set by {ENV}={os.environ[ENV].strip()}"
    if str(device).startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            dev = torch.device(device)
            total = torch.cuda.get_device_properties(dev.index or 0).total_memory
            return int(0.9 * total), f"90% of the GPU's {fmt_bytes(total)}"
    total = machine_memory()
    return int(DEFAULT_SHARE * total), f"{DEFAULT_SHARE:.0%} of this machine's {fmt_bytes(total)}"


def check_memory(nbytes: int, what: str, device: str = "cpu") -> None:
    """Refuse (``ResourceError``) an allocation of about ``nbytes`` for ``what`` (which names the file or field and
    the shape) past the memory budget; nothing is allocated either way."""
    budget, how = memory_budget(device)
    if nbytes > budget:
        raise ResourceError(f"{what} needs about {fmt_bytes(nbytes)}, more than the memory budget of "
                            f"{fmt_bytes(budget)} ({how}); make it smaller, or raise the budget with --memory-budget "
                            f"or {ENV}=… (e.g. 80%)")
