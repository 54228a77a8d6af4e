"""The placeholder a submitted cell returns until its task finishes, and the signal that stops a pass.

``CellPending`` derives from ``BaseException`` (as ``KeyboardInterrupt`` does), so an experiment's
``except Exception`` never swallows it into a wrong number.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CellPending", "Pending"]


class CellPending(BaseException):
    """A pass read a cell that is still being computed elsewhere; the driver waits for a task, then replays."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class Pending(dict):
    """A cell's result that is not there yet: any read raises ``CellPending``. A ``dict`` so that code which only
    passes results along (into a list, to a merge it calls later) keeps going and submits the next cells."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key

    def _stop(self, *_: Any, **__: Any) -> Any:
        raise CellPending(self.key)

    __getitem__ = __contains__ = __iter__ = __len__ = __bool__ = get = keys = values = items = copy = _stop
    __eq__ = __ne__ = _stop  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Pending({self.key!r})"

    def __reduce__(self):
        raise CellPending(self.key)
