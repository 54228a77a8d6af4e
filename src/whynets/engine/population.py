"""A population: K same-shaped models trained as one, with ``torch.func``.

The members' parameters are stacked (``stack_module_state``) into tensors with a leading K axis and
the model runs as ``vmap(functional_call(base, ...))``, so K small models cost about one batched
matmul per layer. Autograd flows through the vmapped forward: the total loss is the SUM of the
members' losses, so each member's gradient is exactly the gradient of its own loss, and elementwise
optimizers (SGD, Adam) then update every member exactly as they would alone.

Randomness is explicit: member k is initialized from ``Generator().manual_seed(mix(seed_k, "init"))``,
so a member's initial weights do not depend on K or on its neighbours.
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
import torch.nn as nn
from torch.func import functional_call, stack_module_state, vmap

__all__ = ["Population", "mix_seed"]


def mix_seed(*parts: int | str) -> int:
    """A deterministic 63-bit seed from integers and labels (e.g. ``mix_seed(seed, "data", epoch)``)."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        v = int.from_bytes(p.encode(), "little") if isinstance(p, str) else int(p)
        h ^= (v + 0x9E3779B97F4A7C15 + ((h << 6) & (2**64 - 1)) + (h >> 2)) & (2**64 - 1)
        h = (h * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    return h & (2**63 - 1)


class Population:
    """K models of one architecture, stacked; ``pop(x)`` returns logits of shape (K, B, C)."""

    def __init__(self, modules: Sequence[nn.Module], seeds: Sequence[int] | None = None):
        if not modules:
            raise ValueError("a population needs at least one model")
        shapes = [{k: tuple(v.shape) for k, v in m.state_dict().items()} for m in modules]
        if any(s != shapes[0] for s in shapes[1:]):
            raise ValueError("all members of a population must have the same parameter shapes; "
                             "pad them to a common shape or group them by shape")
        self.size = len(modules)
        self.seeds = list(seeds) if seeds is not None else list(range(self.size))
        params, buffers = stack_module_state(list(modules))
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self.buffers = {k: v.detach().clone() for k, v in buffers.items()}
        self.base = copy.deepcopy(modules[0]).to("meta")
        self.training = True

    @classmethod
    def build(cls, factory: Callable[[torch.Generator], nn.Module], seeds: Sequence[int],
              device: torch.device | str = "cpu") -> "Population":
        """``factory(generator)`` builds one initialized model; member k gets its own generator."""
        modules = [factory(torch.Generator().manual_seed(mix_seed(s, "init"))).to(device) for s in seeds]
        return cls(modules, seeds)

    @property
    def device(self) -> torch.device:
        return next(iter(self.params.values())).device

    def train(self, mode: bool = True) -> "Population":
        self.training = mode
        self.base.train(mode)
        return self

    def eval(self) -> "Population":
        return self.train(False)

    def _forward_one(self, params, buffers, x):
        return functional_call(self.base, (params, buffers), (x,))

    def __call__(self, x: torch.Tensor, per_member: bool = False) -> torch.Tensor:
        """Logits (K, B, C). ``x`` is shared (B, ...) or, with ``per_member``, one batch per member (K, B, ...)."""
        randomness = "different" if self.training else "error"
        fn = vmap(self._forward_one, in_dims=(0, 0, 0 if per_member else None), randomness=randomness)
        return fn(self.params, self.buffers, x)

    def member(self, k: int) -> nn.Module:
        """Member k as an ordinary ``nn.Module`` (a copy), for instruments and for saving."""
        module = copy.deepcopy(self.base).to_empty(device=self.device)
        state = {name: t[k].detach().clone() for name, t in {**self.params, **self.buffers}.items()}
        module.load_state_dict(state)
        return module.train(self.training)

    def member_params(self, k: int) -> dict[str, torch.Tensor]:
        return {name: t[k].detach() for name, t in self.params.items()}

    def state_dict(self) -> dict:
        return {"params": {k: v.detach().clone() for k, v in self.params.items()},
                "buffers": {k: v.clone() for k, v in self.buffers.items()}, "seeds": self.seeds}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            for k, v in state["params"].items():
                self.params[k].copy_(v)
            for k, v in state["buffers"].items():
                self.buffers[k].copy_(v)

    def n_params(self) -> int:
        """Parameters of ONE member."""
        return sum(v[0].numel() for v in self.params.values())

    def __repr__(self) -> str:
        return f"Population(K={self.size}, {type(self.base).__name__}, {self.n_params()} params each)"
