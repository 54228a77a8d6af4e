"""A user's own model as a ``ModelSpec``: ``kind="factory"``, ``factory="package.module:function"`` (or
``"path/to/file.py:function"``) and ``factory_args`` (a JSON object of keyword arguments). The function returns an
``nn.Module``; whynets never unpickles a model, it imports the code the user names and calls it.

Initialization: a user's module initializes itself with PyTorch's global RNG (``nn.Linear``'s defaults), so the
factory is called inside ``torch.random.fork_rng`` with the member's seed: reproducible per member, and the
caller's RNG state is left as it was.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from whynets.spec import SpecError

__all__ = ["resolve_factory", "call_factory", "parse_factory_args", "factory_digest"]


def parse_factory_args(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        args = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"model.factory_args must be a JSON object of keyword arguments, got {text!r} ({err})") from None
    if not isinstance(args, dict):
        raise SpecError(f"model.factory_args must be a JSON object (e.g. {{\"width\": 512}}), got {text!r}")
    return args


def _split(target: str) -> tuple[str, str]:
    if ":" not in target:
        raise SpecError(f"--model {target!r}: give module:function (e.g. mypkg.nets:make_net) or file.py:function")
    where, name = target.rsplit(":", 1)
    if not where or not name.isidentifier():
        raise SpecError(f"--model {target!r}: give module:function (e.g. mypkg.nets:make_net) or file.py:function")
    return where, name


def resolve_factory(target: str) -> Callable[..., nn.Module]:
    """The function ``target`` names ("module:function" or "file.py:function"), imported (never unpickled)."""
    where, name = _split(target)
    if where.endswith(".py"):
        path = Path(where).resolve()
        if not path.exists():
            raise SpecError(f"--model {target!r}: no such file {path}")
        module_name = f"whynets_user_{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except (Exception, SystemExit) as err:
                del sys.modules[module_name]
                raise SpecError(f"--model {target!r}: importing {path} failed: {_reason(err)}") from None
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))  # like `python -m`: a package in the working directory imports
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise SpecError(f"--model {target!r}: cannot import {where!r} ({err}); run from the folder that holds it "
                            "or give file.py:function") from None
        except (Exception, SystemExit) as err:
            raise SpecError(f"--model {target!r}: importing {where!r} failed: {_reason(err)}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise SpecError(f"--model {target!r}: {where!r} has no function or class {name!r}")
    return fn


def _reason(err: BaseException) -> str:
    """A user's exception in one line: its type, its message (whole) and where in their code it was raised."""
    if isinstance(err, SystemExit):
        return f"it called sys.exit({err.code!r}) (a factory must return an nn.Module)"
    message = " ".join(str(err).split()) or "(no message)"
    tb, where, ours = err.__traceback__, "", str(Path(__file__).resolve().parent.parent)
    while tb is not None:
        if not str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(ours):
            where = f" (at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno})"
        tb = tb.tb_next
    return f"{type(err).__name__}: {message}{where}"


def call_factory(target: str, args_text: str, generator: torch.Generator | None = None) -> nn.Module:
    """Build the user's module, its initialization seeded from ``generator`` (the global RNG is restored after)."""
    fn = resolve_factory(target)
    args = parse_factory_args(args_text)
    with torch.random.fork_rng(devices=[]):
        if generator is not None:
            torch.manual_seed(generator.initial_seed())
        try:
            module = fn(**args)
        except (Exception, SystemExit) as err:  # the user's code: its failure is theirs to fix, said in one line
            raise SpecError(f"--model {target}: calling it with {args} failed: {_reason(err)}") from None
    if not isinstance(module, nn.Module):
        raise SpecError(f"--model {target}: returned a {type(module).__name__}, not a torch.nn.Module")
    return module


def factory_digest(target: str) -> str | None:
    """The content digest of a file factory's source (it enters cell keys), or None for an installed module."""
    where, _ = _split(target)
    if where.endswith(".py") and Path(where).exists():
        return hashlib.sha256(Path(where).read_bytes()).hexdigest()[:16]
    return None
