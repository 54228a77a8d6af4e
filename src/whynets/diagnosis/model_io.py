"""A user's model for diagnosis: its factory, its weights, its data, and the checks that they fit together.

Weights are read without running anything in the file: a ``.safetensors`` file directly; anything else with
``torch.load(..., weights_only=True)``, which only rebuilds tensors and plain containers. A file holding a whole
pickled module, or any other Python object, is refused with an error that says how to save a state dict instead.
A state dict that does not fit the factory's module is refused naming the layer and both shapes.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torch.nn as nn

from whynets.errors import WhynetsError

__all__ = ["WeightsError", "load_weights", "apply_weights", "check_output", "check_data_output", "infer_loss", "SAVE_HINT"]

SAVE_HINT = ("save a state dict instead: safetensors.torch.save_file(model.state_dict(), 'net.safetensors') or "
             "torch.save(model.state_dict(), 'net.pt')")


class WeightsError(WhynetsError, ValueError):
    """Weights that cannot be read safely, or that do not fit the model: the message says which and how to fix."""


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``: safetensors, or a ``torch.save`` file read with ``weights_only=True``."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file (give --weights net.safetensors or net.pt, a state dict)")
    if path.is_dir():
        raise WeightsError(f"{path}: is a folder; give the weights file itself (net.safetensors or net.pt, a state dict)")
    if path.suffix == ".npz":
        return _load_npz(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if path.suffix == ".safetensors" or (len(head) == 8 and int.from_bytes(head, "little") < 10**8
                                         and not head.startswith((b"PK", b"\x80"))):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            if path.suffix == ".safetensors":
                raise WeightsError(f"{path}: not a readable safetensors file ({err}); {SAVE_HINT}") from None
    from whynets.safety import check_torch_reads_pickles

    check_torch_reads_pickles(str(path))  # an older torch's weights_only can be bypassed: refused in one line
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, EOFError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if len(first) > 240:  # torch's reason, cut at a word
            first = first[:240].rsplit(" ", 1)[0] + " …"
        raise WeightsError(f"{path}: refused — it holds Python objects that only full unpickling could rebuild (for "
                           f"example a whole model saved with torch.save(model)), and unpickling can run any code "
                           f"({first}); {SAVE_HINT}") from None
    if isinstance(state, dict) and set(state) <= {"state_dict", "model", "model_state_dict", "epoch", "optimizer",
                                                  "step", "args", "config"}:
        state = state.get("state_dict") or state.get("model_state_dict") or state.get("model") or state
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise WeightsError(f"{path}: expected a state dict (parameter name -> tensor), got {type(state).__name__}; "
                           f"{SAVE_HINT}")
    return dict(state)


def _load_npz(path: Path) -> dict[str, torch.Tensor]:
    """A state dict saved as NumPy arrays (``np.savez(path, **{name: array})``), read with ``allow_pickle=False``."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in arrays.files}
    except ValueError as err:  # an object array: only unpickling could read it
        raise WeightsError(f"{path}: refused — it holds object arrays that only unpickling could read ({err}); save "
                           "numeric arrays (np.savez(path, **{name: tensor.numpy()})) or a safetensors file") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise WeightsError(f"{path}: not a readable .npz file ({type(err).__name__}: {err}); {SAVE_HINT}") from None


def apply_weights(module: nn.Module, state: dict[str, torch.Tensor], where: str = "weights") -> nn.Module:
    """Load ``state`` into ``module``, or say exactly which layer does not fit (names and both shapes)."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise WeightsError(f"{where}: the state dict does not fit the model: missing {missing[:6]}"
                           f"{' …' if len(missing) > 6 else ''}, unexpected {unexpected[:6]}"
                           f"{' …' if len(unexpected) > 6 else ''} (the model's keys: {list(own)[:6]} …)")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise WeightsError(f"{where}: layer {k!r} has shape {tuple(state[k].shape)} in the file but "
                               f"{tuple(v.shape)} in the model; build the model with the arguments it was trained "
                               "with (--model-arg)")
    module.load_state_dict({k: state[k].to(v.dtype) for k, v in own.items()})
    return module


def infer_loss(y: torch.Tensor, requested: str = "auto") -> str:
    """ce for integer labels, mse for float targets, unless the user says which."""
    if requested != "auto":
        if requested == "ce" and y.is_floating_point():
            raise WeightsError("--loss ce needs integer class labels, but the data's y is float; use --loss mse")
        return requested
    return "mse" if y.is_floating_point() else "ce"


def check_output(module: nn.Module, x: torch.Tensor, n_outputs: int, where: str = "model",
                 classes: bool = False) -> None:
    """One forward pass on two examples: the output must be (batch, n_outputs) — (batch, ≥ n_outputs) for a
    classifier (``classes``)."""
    module.eval()
    with torch.no_grad():
        try:
            out = module(x[:2])
        except Exception as err:  # noqa: BLE001 - a user's forward: say what failed, with the input shape
            raise WeightsError(f"{where}: the forward pass on inputs of shape {tuple(x[:2].shape)} failed: "
                               f"{type(err).__name__}: {err}") from None
    if torch.is_tensor(out) and out.is_floating_point() and not bool(torch.isfinite(out).all()):
        raise WeightsError(f"{where}: the model's outputs on the first training examples contain NaN or inf; check the "
                           "weights file (a diverged training run?) before diagnosing it")
    # a classifier may have more outputs than the data's labels reach (a vocabulary, classes absent from this data):
    # every label still indexes a logit; fewer outputs, or a regressor's other count, cannot be right
    fits = torch.is_tensor(out) and out.dim() == 2 and (out.shape[1] == n_outputs or (
        classes and out.shape[1] > n_outputs))
    if not fits:
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise WeightsError(f"{where}: output shape {shape} for a batch of 2, but the labels need (2, {n_outputs}{' or more' if classes else ''}) "
                           f"({'classes' if n_outputs > 1 else 'one regression output'}); make the model's last "
                           "layer match the data")


def check_data_output(module: nn.Module, ds, where: str = "--model") -> None:
    """``check_output`` against what the dataset's targets need: its classes (or more) for integer labels, one
    output per target column for float targets."""
    regression = ds.y.is_floating_point()
    check_output(module, ds.x, ds.n_classes if not regression or ds.y.dim() > 1 else 1, where, classes=not regression)
