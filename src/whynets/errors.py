"""The errors a user can act on. Every one derives from ``WhynetsError``; the CLI prints its message as one line
and exits with status 2 (``--debug`` shows the traceback). Anything else that escapes is a bug in whynets.

The message always says what was wrong, where (file, field, shape) and what would be right.
"""

from __future__ import annotations

__all__ = ["WhynetsError"]


class WhynetsError(Exception):
    """Base of every error caused by input (a spec, a file, the environment) rather than by a bug."""
