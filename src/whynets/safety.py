"""The torch a pickle-based file may be read with. ``torch.load(..., weights_only=True)`` is whynets' only reader of
``torch.save`` files (``.pt`` weights); published advisories show the flag could be bypassed to run code before
torch 2.6 (CVE-2025-32434) and to corrupt memory before 2.10 (CVE-2026-24747, GHSA-63cw-57p8-fm3p). pyproject
requires torch >= 2.10; ``check_torch_reads_pickles`` refuses such a file, in one line, where an older torch is
installed anyway (``--no-deps``, a system torch). Safetensors files never need it.

    >>> from whynets.safety import check_torch_reads_pickles   # check_torch_reads_pickles("net.pt")
"""

from __future__ import annotations

import re

from whynets.errors import WhynetsError

__all__ = ["TORCH_FLOOR", "torch_version", "check_torch_reads_pickles", "UnsafeTorchError"]

TORCH_FLOOR = (2, 10)


class UnsafeTorchError(WhynetsError):
    """This torch cannot read a pickle-based file safely; the message says which torch would."""


def torch_version(text: str | None = None) -> tuple[int, int]:
    """(major, minor) of ``text`` (default: the installed torch's version), e.g. '2.13.0+cpu' -> (2, 13)."""
    if text is None:
        import torch

        text = torch.__version__
    m = re.match(r"(\d+)\.(\d+)", str(text))
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def check_torch_reads_pickles(path: str) -> None:
    """Refuse to read the ``torch.save`` file ``path`` with a torch older than ``TORCH_FLOOR``."""
    import torch

    if torch_version() < TORCH_FLOOR:
        floor = ".".join(map(str, TORCH_FLOOR))
        raise UnsafeTorchError(f"{path}: a torch.save file, which torch {torch.__version__} cannot read safely "
                               f"(weights_only=True can be bypassed before torch 2.6, CVE-2025-32434, and corrupt "
                               f"memory before {floor}, CVE-2026-24747); install torch >= {floor}, or save the "
                               "weights as safetensors: safetensors.torch.save_file(model.state_dict(), "
                               "'net.safetensors')")
