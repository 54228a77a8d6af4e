"""The errors a user can act on. Every one derives from ``WhynetsError``; the CLI prints its message as one line
and exits with status 2 (``--debug`` shows the traceback). Anything else that escapes is a bug in whynets.

The message always says what was wrong, where (file, field, shape) and what would be right.
"""

from __future__ import annotations

__all__ = ["WhynetsError", "StoreError", "ResourceError"]


class WhynetsError(Exception):
    """Base of every error caused by input (a spec, a file, the environment) rather than by a bug."""


class StoreError(WhynetsError, OSError):
    """A file could not be written or read back (full disk, read-only, not a folder, a damaged file on a read-only
    store): the message says where and what to do."""


class ResourceError(WhynetsError, MemoryError):
    """A request that would outgrow this machine (memory) was refused before anything was allocated: the message
    names the file or field, the size, the limit and how to raise it."""
