"""The training state a phase hands to the next, and its file format: safetensors, never pickle.

A ``TrainState`` is everything ``engine.train`` needs to continue exactly where it stopped: the stacked
parameters and buffers, the optimizer's state (momentum, Adam moments and step counts), the step, the
measurement history and the per-member flags (diverged, stopped, fit step, the frozen copies of stopped
members). A phase that ends at step k returns it; a child phase starts from it (``train(..., start=state)``)
with the same schedule, optimizer state and data order; a spawn (``state.select``) copies members for new
children, optimizer state included.

On disk it is ONE ``.safetensors`` file: the tensors, and the rest as JSON in the file's metadata. Loading
parses a tensor table and a JSON string, so no file can make the loader run code (unlike ``torch.load`` of a
pickle); a file that is not such a checkpoint is refused with an error that says what it is and what to do.
The metadata also holds the cell the state belongs to (by default the folder it is written in: a store cell's
folder is named by its key) and a digest of the tensors; ``load_state(path, cell=key)`` refuses a state copied from
another cell or whose tensors changed, and every field is checked (not just parsed) on load.

    >>> from whynets.engine.state import load_state, save_state   # save_state(state, path); load_state(path)
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from whynets.errors import WhynetsError

__all__ = ["TrainState", "save_state", "load_state", "CheckpointError", "save_tensors", "load_tensors", "FORMAT",
           "state_cell", "tensors_digest"]

FORMAT = "whynets-train-state-v1"


class CheckpointError(WhynetsError, ValueError):
    """A checkpoint file could not be read as one (truncated, not safetensors, or not whynets'): the message
    names the file and what to do."""


@dataclass
class TrainState:
    step: int
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    seeds: list[int]
    history: list[dict[str, Any]] = field(default_factory=list)
    diverged: list[bool] = field(default_factory=list)
    diverged_step: list[int | None] = field(default_factory=list)
    stopped: list[bool] = field(default_factory=list)
    fit_step: list[int | None] = field(default_factory=list)
    frozen: dict[str, torch.Tensor] | None = None

    @property
    def size(self) -> int:
        return len(self.seeds)

    def with_fresh_optimizer(self) -> "TrainState":
        """The same weights and step, with the optimizer state cleared (a lottery-ticket rewind: the weights go back
        to step k, the LR schedule goes on from k, the moments start afresh, as in open_lth)."""
        return TrainState(step=self.step, params=self.params, buffers=self.buffers,
                          optimizer={"state": {}, "param_groups": self.optimizer.get("param_groups", [])},
                          seeds=self.seeds, history=self.history, diverged=self.diverged,
                          diverged_step=self.diverged_step, stopped=self.stopped, fit_step=self.fit_step,
                          frozen=self.frozen)

    def select(self, members: Sequence[int], seeds: Sequence[int] | None = None) -> "TrainState":
        """A state for a population of copies: member j is a copy of member ``members[j]`` (parameters,
        buffers, optimizer moments, flags and history), with data-order seed ``seeds[j]``. Optimizer entries
        without a member axis (Adam's step count) are shared, as they are for the members of one population."""
        idx = torch.as_tensor(list(members), dtype=torch.long)
        k = self.size

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t[idx.to(t.device)].clone() if t.dim() > 0 and t.shape[0] == k else t.clone()

        opt = copy.deepcopy(self.optimizer)
        opt["state"] = {i: {n: pick(v) if torch.is_tensor(v) else v for n, v in s.items()}
                        for i, s in self.optimizer["state"].items()}
        rows = [{key: ([v[m] for m in members] if isinstance(v, list) and len(v) == k else v) for key, v in r.items()}
                for r in self.history]
        members = list(members)
        return TrainState(step=self.step, params={n: pick(t) for n, t in self.params.items()},
                          buffers={n: pick(t) for n, t in self.buffers.items()}, optimizer=opt,
                          seeds=list(seeds) if seeds is not None else [self.seeds[m] for m in members], history=rows,
                          diverged=[self.diverged[m] for m in members],
                          diverged_step=[self.diverged_step[m] for m in members],
                          stopped=[self.stopped[m] for m in members], fit_step=[self.fit_step[m] for m in members],
                          frozen=None if self.frozen is None else {n: pick(t) for n, t in self.frozen.items()})


def _atomic_replace(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write tensors (+ string metadata) as safetensors, atomically: a unique temp file, fsync, rename. A failed
    write removes its temp file and says why (``StoreError`` names a full disk)."""
    from safetensors.torch import save_file

    from whynets.fileio import write_guard

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}")
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with write_guard(tmp, path):
        save_file(cpu, str(tmp), metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _atomic_replace(tmp, path)


def load_tensors(path: Path, device: torch.device | str = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a safetensors file; anything else is refused with a ``CheckpointError``."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        head = b""
        try:
            with open(path, "rb") as fh:
                head = fh.read(2)
        except OSError:
            pass
        hint = (" (it looks like a pickle, e.g. torch.save: whynets never unpickles files)" if head[:1] == b"\x80"
                or head == b"PK" else "")
        raise CheckpointError(f"{path}: not a readable safetensors file{hint} ({err}); delete it or move it aside to "
                              "recompute") from None
    return tensors, meta


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 (16 hex digits) of named tensors: names, dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def save_state(state: TrainState, path: Path, cell: str | None = None) -> None:
    """Write ``state`` to ``path``; ``cell`` (default: the name of the folder it goes in) is recorded with a digest
    of the tensors, so a state copied into another cell or changed on disk is refused on load."""
    tensors: dict[str, torch.Tensor] = {}
    for n, t in state.params.items():
        tensors[f"params/{n}"] = t
    for n, t in state.buffers.items():
        tensors[f"buffers/{n}"] = t
    for n, t in (state.frozen or {}).items():
        tensors[f"frozen/{n}"] = t
    opt_rest: dict[str, Any] = {"param_groups": state.optimizer.get("param_groups", []), "state": {}}
    for i, s in state.optimizer.get("state", {}).items():
        opt_rest["state"][str(i)] = {}
        for n, v in s.items():
            if torch.is_tensor(v):
                tensors[f"opt/{i}/{n}"] = v
                opt_rest["state"][str(i)][n] = {"tensor": f"opt/{i}/{n}"}
            else:
                opt_rest["state"][str(i)][n] = {"value": v}
    rest = {"format": FORMAT, "step": state.step, "seeds": state.seeds, "history": state.history,
            "diverged": state.diverged, "diverged_step": state.diverged_step, "stopped": state.stopped,
            "fit_step": state.fit_step, "frozen": state.frozen is not None, "optimizer": opt_rest,
            "cell": Path(path).parent.name if cell is None else cell, "digest": tensors_digest(tensors)}
    save_tensors(tensors, path, {"whynets": json.dumps(rest, allow_nan=True)})


def _metadata(path: Path, meta: dict[str, str]) -> dict[str, Any]:
    """The state's JSON metadata, its fields checked: a damaged or foreign file is a ``CheckpointError``."""
    try:
        rest = json.loads(meta["whynets"])
        if not isinstance(rest, dict) or rest.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: a safetensors file but not a whynets training state ({FORMAT}); move it aside "
                              "to recompute") from None
    lists = ("seeds", "history", "diverged", "diverged_step", "stopped", "fit_step")
    optimizer = rest.get("optimizer")
    problems = [k for k in lists if not isinstance(rest.get(k), list)]
    problems += [] if isinstance(rest.get("step"), int) and rest["step"] >= 0 else ["step"]
    problems += [] if (isinstance(optimizer, dict) and isinstance(optimizer.get("state"), dict)
                       and isinstance(optimizer.get("param_groups"), list)) else ["optimizer"]
    if "optimizer" not in problems and not all(str(i).isdigit() for i in optimizer["state"]):
        problems.append("optimizer")
    problems += [] if isinstance(rest.get("frozen"), bool) else ["frozen"]
    if not problems and any(len(rest[k]) != len(rest["seeds"]) for k in lists[2:]):
        problems.append("per-member flags")
    if problems:
        raise CheckpointError(f"{path}: a whynets training state without valid {', '.join(problems)} (damaged or "
                              "written by another program); move it aside to recompute")
    return rest


def state_cell(path: Path) -> str | None:
    """The cell a state file says it belongs to (its metadata only; None for a state saved before states were
    bound to cells). A file that is not a state is a ``CheckpointError``."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err}); delete it or move it aside to "
                              "recompute") from None
    cell = _metadata(Path(path), meta).get("cell")
    return cell if isinstance(cell, str) else None


def load_state(path: Path, device: torch.device | str = "cpu", cell: str | None = None) -> TrainState:
    """The state in ``path``; with ``cell``, it must say it belongs to that cell. Its tensors must match the digest
    saved with them."""
    tensors, meta = load_tensors(path, device)
    rest = _metadata(Path(path), meta)
    if cell is not None and rest.get("cell") != cell:
        raise CheckpointError(f"{path}: the state of cell {rest.get('cell') or '(not recorded)'}, not of cell {cell} "
                              "(copied from another cell?); move it aside to recompute")
    if "digest" in rest and tensors_digest(tensors) != rest["digest"]:
        raise CheckpointError(f"{path}: its tensors do not match the digest saved with them (changed on disk); move "
                              "it aside to recompute")
    entries = [v for s in rest["optimizer"]["state"].values() for v in (s.values() if isinstance(s, dict) else [None])]
    missing = [str(v["tensor"]) for v in entries if isinstance(v, dict) and "tensor" in v and v["tensor"] not in tensors]
    if missing or not all(isinstance(v, dict) and ("tensor" in v or "value" in v) for v in entries):
        raise CheckpointError(f"{path}: optimizer entries without their tensors ({', '.join(missing[:3]) or 'malformed'});"
                              " move it aside to recompute")
    opt_state = {}
    for i, s in rest["optimizer"]["state"].items():
        opt_state[int(i)] = {n: tensors[v["tensor"]] if "tensor" in v else v["value"] for n, v in s.items()}
    optimizer = {"state": opt_state, "param_groups": rest["optimizer"]["param_groups"]}

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    return TrainState(step=int(rest["step"]), params=part("params/"), buffers=part("buffers/"), optimizer=optimizer,
                      seeds=list(rest["seeds"]), history=rest["history"], diverged=rest["diverged"],
                      diverged_step=rest["diverged_step"], stopped=rest["stopped"], fit_step=rest["fit_step"],
                      frozen=part("frozen/") if rest["frozen"] else None)
