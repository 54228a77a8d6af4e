"""A population: K same-shaped models trained as one, with ``torch.func``.

The members' parameters are stacked (``stack_module_state``) into tensors with a leading K axis and
the model runs as ``vmap(functional_call(base, ...))``, so K small models cost about one batched
matmul per layer. Autograd flows through the vmapped forward: the total loss is the SUM of the
members' losses, so each member's gradient is exactly the gradient of its own loss, and elementwise
optimizers (SGD, Adam) then update every member exactly as they would alone.

MLPs and 1-D CNNs take a fast path instead of vmap: the same function written directly as batched
matmuls on the stacked weights (convolutions by im2col), with a fused linear layer whose backward forms
the weight gradient in the weight's layout. It is tested against every member run as a plain module
(logits and gradients). Models with active dropout train through vmap, which draws each member's noise.

Any other module runs through vmap when vmap can batch it; one that it cannot (recurrent cells such as
``nn.GRU``/``nn.LSTM``, ops without a batching rule, data-dependent control flow) is detected on the first call by a
tiny forward and backward pass under vmap, and its members then run one by one through the same
``functional_call`` (``mode == "loop"``; ``vmap_error`` says why). BatchNorm members always run one by one (their
running statistics are updated in place, which vmap cannot batch); ``recalibrate_norm`` recomputes those statistics
from data for the current weights (after pruning, rewinding or re-training: dead channels otherwise keep a collapsed
running variance that amplifies any mismatch).

Randomness is explicit: member k is initialized from ``Generator().manual_seed(mix(seed_k, "init"))``,
so a member's initial weights do not depend on K or on its neighbours.
"""

from __future__ import annotations

import copy
import warnings
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

__all__ = ["Population", "mix_seed", "member_generator"]


def mix_seed(*parts: int | str) -> int:
    """A deterministic 63-bit seed from integers and labels (e.g. ``mix_seed(seed, "data", epoch)``)."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        v = int.from_bytes(p.encode(), "little") if isinstance(p, str) else int(p)
        h ^= (v + 0x9E3779B97F4A7C15 + ((h << 6) & (2**64 - 1)) + (h >> 2)) & (2**64 - 1)
        h = (h * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    return h & (2**63 - 1)


def member_generator(seed: int) -> torch.Generator:
    """The generator that initializes the member with ``seed``: the one seeding rule of every population."""
    return torch.Generator().manual_seed(mix_seed(seed, "init"))


class _StackedLinear(torch.autograd.Function):
    """K linear layers at once: h (K, B, i), w (K, o, i), b (K, o) or None -> h @ wᵀ + b (K, B, o).

    Autograd of ``baddbmm(b, h, w.transpose(1, 2))`` returns the weight gradient transposed, which
    the gradient accumulation then copies into w's layout on every step; here ∂w = gᵀh is formed in
    w's own layout by one bmm. The backward uses differentiable ops (double backward works), forward mode has
    its jvp and the vmap rule is generated, so ``torch.func`` transforms see an ordinary function.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(h, w, b):
        wt = w.transpose(-1, -2)
        return torch.matmul(h, wt) if b is None else torch.baddbmm(b.unsqueeze(-2), h, wt)

    @staticmethod
    def setup_context(ctx, inputs, output):
        h, w, b = inputs
        ctx.save_for_backward(h, w)
        ctx.save_for_forward(h, w)
        ctx.has_bias = b is not None

    @staticmethod
    def jvp(ctx, dh, dw, db):
        h, w = ctx.saved_tensors
        out = None
        if dh is not None:
            out = torch.matmul(dh, w.transpose(-1, -2))
        if dw is not None:
            term = torch.matmul(h, dw.transpose(-1, -2))
            out = term if out is None else out + term
        if db is not None:
            out = db.unsqueeze(-2).expand(*h.shape[:-1], db.shape[-1]) if out is None else out + db.unsqueeze(-2)
        return out

    @staticmethod
    def backward(ctx, g):
        h, w = ctx.saved_tensors
        gh = torch.matmul(g, w) if ctx.needs_input_grad[0] else None
        gw = torch.matmul(g.transpose(-1, -2), h) if ctx.needs_input_grad[1] else None
        gb = g.sum(-2) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gh, gw, gb


def _stacked_plan(base: nn.Module) -> tuple[list | None, bool]:
    """The fast path's layer plan for an MLP (linear layers and elementwise activations) or a CNN1d
    (Conv1d + activations, then a linear readout), and whether it has active dropout (then training
    goes through vmap, whose dropout noise is drawn per member). Rows: ("linear", weight, bias,
    weight multiplier, bias multiplier), ("conv1d", weight, bias, stride, padding), ("act", module),
    ("flatten",). Anything else: (None, False), and the population runs through vmap."""
    from whynets.models.layers import Erf, ScaledLinear
    from whynets.models.nets import CNN1d, MLP
    elementwise = (nn.ReLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.Identity, nn.Softplus, Erf)
    if type(base) is MLP:
        layers = [(f"net.{name}", m) for name, m in base.net.named_children()]
        plan = [("flatten_input",)]
    elif type(base) is CNN1d:
        layers = [(f"features.{name}", m) for name, m in base.features.named_children()]
        layers += [("flatten", None), ("readout", base.readout)]
        plan = [("channel_input",)]
    else:
        return None, False
    dropout = False
    for name, m in layers:
        bias = f"{name}.bias" if getattr(m, "bias", None) is not None else None
        if m is None:
            plan.append(("flatten",))
        elif type(m) is nn.Linear:
            plan.append(("linear", f"{name}.weight", bias, 1.0, 1.0))
        elif type(m) is ScaledLinear:
            plan.append(("linear", f"{name}.weight", bias, m.w_mult, m.b_mult))
        elif type(m) is nn.Conv1d and m.padding_mode == "zeros" and m.dilation == (1,) and m.groups == 1:
            plan.append(("conv1d", f"{name}.weight", bias, m.stride[0], m.padding[0]))
        elif type(m) in elementwise:
            plan.append(("act", m))
        elif type(m) is nn.Dropout:
            dropout |= m.p > 0  # identity in eval mode
        else:
            return None, False
    return plan, dropout


def _stacked_conv1d(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, stride: int,
                    padding: int) -> torch.Tensor:
    """K Conv1d layers at once by im2col: h (K, B, C, L), w (K, O, C, k) -> (K, B, O, L_out)."""
    k, batch, channels, _ = h.shape
    out_channels, width = w.shape[1], w.shape[3]
    cols = F.pad(h, (padding, padding)).unfold(3, width, stride)  # (K, B, C, L_out, k)
    length = cols.shape[3]
    cols = cols.permute(0, 1, 3, 2, 4).reshape(k, batch * length, channels * width)
    out = _StackedLinear.apply(cols, w.reshape(k, out_channels, channels * width), b)
    return out.view(k, batch, length, out_channels).permute(0, 1, 3, 2)


class Population:
    """K models of one architecture, stacked; ``pop(x)`` returns logits of shape (K, B, C)."""

    def __init__(self, modules: Sequence[nn.Module], seeds: Sequence[int] | None = None, vectorize: str = "auto"):
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
        self._plan, self._dropout = _stacked_plan(self.base)
        if vectorize not in ("auto", "vmap", "loop"):
            raise ValueError(f"vectorize must be auto, vmap or loop, got {vectorize!r}")
        # BatchNorm updates its running statistics in place, which vmap cannot batch: such members run one by one
        # (same function, same recipe), each with its own slice of the stacked buffers
        self.has_norm_stats = any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
                                  for m in self.base.modules())
        self.mode = ("loop" if self.has_norm_stats else "vmap") if vectorize == "auto" else vectorize
        # "auto" + vmap: checked on the first call (``_vmap_works``); an explicit "vmap" is trusted
        self._vmap_checked = vectorize != "auto" or self.mode == "loop"
        self.vmap_error: str | None = None

    @classmethod
    def build(cls, factory: Callable[[torch.Generator], nn.Module], seeds: Sequence[int],
              device: torch.device | str = "cpu", vectorize: str = "auto") -> "Population":
        """``factory(generator)`` builds one initialized model; member k gets its own generator."""
        modules = [factory(member_generator(s)).to(device) for s in seeds]
        return cls(modules, seeds, vectorize)

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

    def _forward_loop(self, x: torch.Tensor, per_member: bool) -> torch.Tensor:
        return torch.stack([self._forward_one({n: t[k] for n, t in self.params.items()},
                                              {n: t[k] for n, t in self.buffers.items()},
                                              x[k] if per_member else x) for k in range(self.size)])

    def _forward_vmap(self, params, buffers, x: torch.Tensor, per_member: bool) -> torch.Tensor:
        randomness = "different" if self.training else "error"
        fn = vmap(self._forward_one, in_dims=(0, 0, 0 if per_member else None), randomness=randomness)
        return fn(params, buffers, x)

    def _vmap_works(self, x: torch.Tensor, per_member: bool) -> bool:
        """Once per population: can vmap batch this module, forward and backward? A tiny probe (two examples, the
        buffers copied, the caller's RNG untouched) decides; if it fails, the members run one by one. An error that
        the plain member-by-member forward raises too is the model's own and is raised as it is."""
        if self._vmap_checked:
            return self.mode == "vmap"
        self._vmap_checked = True
        probe = x[:, :2] if per_member else x[:2]
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), torch.enable_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's "performance drop" notes about its own batching fallbacks
                out = self._forward_vmap(self.params, {n: t.clone() for n, t in self.buffers.items()}, probe, per_member)
                leaves = [p for p in self.params.values() if p.requires_grad]
                if leaves and out.requires_grad:
                    torch.autograd.grad(out.float().sum(), leaves, allow_unused=True)
            return True
        except Exception as err:  # noqa: BLE001 - any failure of vmap's batching: fall back, and say why
            text = str(err).strip().splitlines()[0] if str(err).strip() else ""
            self.vmap_error = f"{type(err).__name__}: {text[:200]}"
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            saved = {n: t.clone() for n, t in self.buffers.items()}
            try:
                self._forward_loop(probe, per_member)  # the model's own error, if it has one, surfaces here
            finally:
                for n, t in self.buffers.items():
                    t.copy_(saved[n])
        self.mode = "loop"
        return False

    @torch.no_grad()
    def recalibrate_norm(self, x: torch.Tensor, chunk: int = 1000, per_member: bool = False) -> bool:
        """Recompute every BatchNorm layer's running mean and variance for the current weights: reset, then the
        cumulative average over ``x`` in chunks of ``chunk`` examples (BatchNorm in training mode, every other
        layer — dropout — in eval mode; torch's ``momentum=None`` rule, as ``torch.optim.swa_utils.update_bn``).
        ``x`` is shared (n, ...) or, with ``per_member``, one set per member (K, n, ...). Returns False when the
        module has no such statistics."""
        if not self.has_norm_stats:
            return False
        norms = [m for m in self.base.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                 and m.track_running_stats]
        saved = [(m, m.momentum, m.training) for m in norms]
        was_training = self.base.training
        self.base.eval()
        for m in norms:
            m.momentum = None
            m.train()
        try:
            for name, t in self.buffers.items():
                leaf = name.rsplit(".", 1)[-1]
                if leaf == "running_mean":
                    t.zero_()
                elif leaf == "running_var":
                    t.fill_(1.0)
                elif leaf == "num_batches_tracked":
                    t.zero_()
            n = x.shape[1] if per_member else x.shape[0]
            for k in range(self.size):
                params = {name: t[k] for name, t in self.params.items()}
                buffers = {name: t[k] for name, t in self.buffers.items()}
                for i in range(0, n, chunk):
                    if min(chunk, n - i) < 2 and i > 0:
                        break  # a last chunk of one example has no variance to average
                    xb = x[k, i:i + chunk] if per_member else x[i:i + chunk]
                    self._forward_one(params, buffers, xb)
        finally:
            for m, momentum, training in saved:
                m.momentum = momentum
                m.train(training)
            self.base.train(was_training)
        return True

    def _forward_stacked(self, x: torch.Tensor, per_member: bool) -> torch.Tensor:
        """The fast path (MLP, CNN1d): batched matmuls on the stacked weights instead of vmap; the same
        function, faster on CPU (an MLP's forward and backward ~20%, a CNN1d's ~40%, and vmap's grouped
        convolution is slower than a loop over the members). A shared x (B, d) meets an MLP's first
        layer as ONE matmul against all K members' weights, (B, K·o)."""
        k = self.size
        h, fresh = x, False
        for row in self._plan:
            kind = row[0]
            if kind == "flatten_input":
                h = x.flatten(2) if per_member else x.flatten(1)
            elif kind == "channel_input":
                h = x.reshape(k, x.shape[1], 1, -1) if per_member else x.reshape(1, x.shape[0], 1, -1).expand(k, -1, -1, -1)
            elif kind == "flatten":
                h = h.reshape(k, h.shape[1], -1)
            elif kind == "act":
                # a ReLU over a linear layer's fresh output runs in place (its backward needs only its result; the
                # layer saved its input, not its output): one pass and no new tensor
                h = h.relu_() if type(row[1]) is nn.ReLU and fresh else row[1](h)
            elif kind == "conv1d":
                _, wname, bname, stride, padding = row
                h = _stacked_conv1d(h, self.params[wname], None if bname is None else self.params[bname], stride, padding)
            else:
                _, wname, bname, w_mult, b_mult = row
                w = self.params[wname] if w_mult == 1.0 else self.params[wname] * w_mult
                bias = None if bname is None else (self.params[bname] if b_mult == 1.0 else self.params[bname] * b_mult)
                if h.dim() == 2 and torch.is_grad_enabled():  # shared input (B, d): ONE matmul against all K
                    _, o, d = w.shape                               # members' weights, (B, K·o)
                    flat = w.reshape(k * o, d).t()
                    h = torch.mm(h, flat) if bias is None else torch.addmm(bias.reshape(k * o), h, flat)
                    h = h.view(len(h), k, o).transpose(0, 1)
                elif h.dim() == 2:  # evaluation: (K, B, o) laid out for the next layer's batched matmul
                    h = torch.matmul(h, w.transpose(-1, -2))
                    h = h if bias is None else h.add_(bias.unsqueeze(-2))
                else:
                    h = _StackedLinear.apply(h, w, bias)
            fresh = kind in ("linear", "conv1d")
        return h

    def __call__(self, x: torch.Tensor, per_member: bool = False) -> torch.Tensor:
        """Logits (K, B, C). ``x`` is shared (B, ...) or, with ``per_member``, one batch per member (K, B, ...)."""
        if self._plan is not None and not (self.training and self._dropout):
            return self._forward_stacked(x, per_member)
        if self.mode == "loop" or not self._vmap_works(x, per_member):
            return self._forward_loop(x, per_member)
        return self._forward_vmap(self.params, self.buffers, x, per_member)

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
