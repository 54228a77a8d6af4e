"""``whynets bench kernels``: analytic infinite-width kernels against the Monte-Carlo route, and the empirical NTK of
a CNN against a plain autograd Jacobian loop, side by side.

1. Analytic NNGP and NTK (``whynets.kernels``, float64) of 2000 MNIST-1D training signals (2000 × 2000 = 4·10⁶
   entries each): ReLU depth 3, erf depth 2 (σ_w² = 2, σ_b² = 0.1; the erf net σ_w² = 1.5).
2. The Monte-Carlo route a PyTorch user takes today: draw finite networks of width 1024 (``kernels.finite_network``,
   float32 as usual), average the readout-input Gram matrices σ_w²·φφᵀ/n + σ_b² (the NNGP estimate; the NTK estimate
   costs far more: a Jacobian per net), one net after another until the relative Frobenius error against the analytic
   kernel is at most 1% — a stopping rule only an oracle allows, so the Monte-Carlo time is a lower bound. The analytic
   kernel's own error is float64 rounding (the tests pin it against 4096-wide Monte Carlo and quadrature), so at equal
   error the ratio is larger still: the 1/√nets law would need 100× the nets for 0.1% (printed, extrapolated).
3. The empirical NTK (full, n × n × 10 × 10) of a 1-D CNN (three Conv1d(25, kernel 5, stride 2) + a linear readout,
   the MNIST-1D paper's size) on 100 examples: ``kernels.empirical_ntk`` (method chosen by its cost model) against a
   loop of ``torch.autograd.grad`` over examples and outputs followed by one contraction; both results compared.

Kernel entries per second for each; peak memory as the peak resident set size (VmHWM) of a fresh process running one
task, beside a process that only loads the data (full run only). neural-tangents is tried and, where it does not
import (it does not on current JAX), the bench says so. The last line is ``speedup <ratio>``: the smaller of the two
configurations' Monte-Carlo-to-1% time over the analytic NNGP time. ``quick=True``: 300 examples, width 256 nets to a
5% error, a CNN on 16 examples, no memory subprocesses.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from typing import Callable

import torch

from whynets.data import DataSpec, load
from whynets.kernels import architecture, empirical_ntk, finite_network, kernels
from whynets.models import CNN1d

__all__ = ["run", "CONFIGS"]

DEVICES = ("cpu",)
CONFIGS = {"relu-depth3": dict(depth=3, activation="relu", sigma_w2=2.0, sigma_b2=0.1),
           "erf-depth2": dict(depth=2, activation="erf", sigma_w2=1.5, sigma_b2=0.1)}
MAX_NETS = 400


def _inputs(n: int) -> torch.Tensor:
    return load(DataSpec(n_train=n, standardize=True)).x[:n].double()


def _best(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def monte_carlo_nngp(x: torch.Tensor, config: dict, width: int, target: float, exact: torch.Tensor,
                     max_nets: int = MAX_NETS) -> dict:
    """Average finite nets' readout Gram matrices until ‖K_mc − K‖_F/‖K‖_F <= target (or ``max_nets``)."""
    arch = architecture(**config)
    x32 = x.float()
    total = torch.zeros(len(x), len(x), dtype=torch.float64)
    start = time.perf_counter()
    error, nets = math.inf, 0
    while error > target and nets < max_nets:
        net = finite_network(arch, (x.shape[1],), width, out=1, generator=torch.Generator().manual_seed(nets))
        with torch.no_grad():
            feats = net[:-1](x32)
            total += (config["sigma_w2"] * (feats @ feats.T) / width + config["sigma_b2"]).double()
        nets += 1
        error = float((total / nets - exact).norm() / exact.norm())
    return {"seconds": time.perf_counter() - start, "nets": nets, "error": error}


class _CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = CNN1d(40, 10, channels=25, n_layers=3)

    def forward(self, x):
        return self.net(x)


def _cnn() -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):  # nn.Conv1d's default init draws from the global RNG: fork it
        torch.manual_seed(0)
        return _CNN().eval()


def autograd_loop_ntk(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The plain route: one torch.autograd.grad per example and output, then J Jᵀ: (n, n, O, O)."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(len(x)):
        out = model(x[i:i + 1]).reshape(-1)
        per = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(out[a], params, retain_graph=True)])
               for a in range(out.numel())]
        rows.append(torch.stack(per))
    jac = torch.stack(rows)
    return torch.einsum("iap,jbp->ijab", jac, jac)


def _memory_child(task: str, n: int) -> None:
    x = _inputs(n)
    if task.startswith("analytic:"):
        kernels(x, **CONFIGS[task.split(":")[1]])
    elif task.startswith("mc:"):
        name, nets = task.split(":")[1:]
        exact = kernels(x, want=("nngp",), **CONFIGS[name]).nngp  # the oracle the stopping rule reads
        monte_carlo_nngp(x, CONFIGS[name], 1024, 0.0, exact, max_nets=int(nets))
    elif task == "entk:ours":
        empirical_ntk(_cnn(), x[:100].float())
    elif task == "entk:loop":
        autograd_loop_ntk(_cnn(), x[:100].float())
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM")))


def peak_rss_mb(task: str, n: int) -> float:
    """VmHWM of a fresh process running ``task`` (``load`` runs nothing but the data)."""
    code = f"from whynets.bench.kernels import _memory_child; _memory_child({task!r}, {n})"
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess for {task} failed: {done.stderr[-2000:]}")
    return int(done.stdout.strip().splitlines()[-1].split()[1]) / 1024


def _neural_tangents() -> str:
    try:
        import neural_tangents  # noqa: F401
    except Exception as err:  # noqa: BLE001 - any import failure (no JAX, an incompatible JAX) is the finding
        return (f"not available ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}); it is "
                "JAX-only, archived, and does not import on current JAX (its issues #209, #187, #171) — not compared")
    return "installed, but this bench does not drive JAX (whynets installs no JAX); not compared"


def run(out: Callable[[str], None] = print, quick: bool = False, device: str = "cpu") -> float:
    n, width, target, repeats = (300, 256, 0.05, 1) if quick else (2000, 1024, 0.01, 3)
    m = 16 if quick else 100
    start = time.perf_counter()
    x = _inputs(n)
    out(f"kernels bench: {n} MNIST-1D signals ({n}×{n} = {n * n:.2g} entries per kernel), threads="
        f"{torch.get_num_threads()}, torch {torch.__version__}")
    speedups, mc_nets = [], {}
    for name, config in CONFIGS.items():
        t_both, both = _best(lambda: kernels(x, **config), repeats)
        t_nngp, _ = _best(lambda: kernels(x, want=("nngp",), **config), repeats)
        mc = monte_carlo_nngp(x, config, width, target, both.nngp)
        mc_nets[name] = mc["nets"]
        reached = mc["error"] <= target
        ratio = mc["seconds"] / t_nngp
        speedups.append(ratio)
        out(f"\n[{name}] analytic NNGP + NTK: {t_both:.3f} s ({2 * n * n / t_both:.3g} entries/s, float64, "
            f"{both.plan.blocks} blocks); NNGP alone {t_nngp:.3f} s ({n * n / t_nngp:.3g} entries/s)")
        out(f"[{name}] Monte Carlo NNGP, width-{width} nets: {mc['nets']} nets, {mc['seconds']:.2f} s "
            f"({n * n / mc['seconds']:.3g} entries/s) to a relative error of {mc['error']:.4f}"
            f"{'' if reached else f' (target {target} NOT reached within {MAX_NETS} nets)'}")
        out(f"[{name}] analytic vs Monte Carlo at {100 * target:g}% error: {ratio:.1f}× (the analytic kernel is exact to "
            f"float64 rounding; 0.1% would take ~{mc['seconds'] * (target / 1e-3) ** 2:.0f} s of Monte Carlo "
            f"by the 1/√nets law: ~{ratio * (target / 1e-3) ** 2:.0f}×)")
    cnn = _cnn()
    xs = x[:m].float()
    empirical_ntk(cnn, xs[:2]), autograd_loop_ntk(cnn, xs[:2])  # warm-up: torch.func's first call, the flop counter
    t_ours, ours = _best(lambda: empirical_ntk(cnn, xs), repeats)
    t_loop, loop = _best(lambda: autograd_loop_ntk(cnn, xs), repeats)
    entries = m * m * 100
    diff = float((ours - loop).abs().max() / loop.abs().max())
    out(f"\n[empirical NTK] CNN (3×Conv1d(25, 5, stride 2) + linear, {sum(p.numel() for p in cnn.parameters())} "
        f"parameters), {m} examples, full {m}×{m}×10×10: ours {t_ours:.3f} s ({entries / t_ours:.3g} entries/s), "
        f"autograd loop {t_loop:.3f} s ({entries / t_loop:.3g} entries/s): {t_loop / t_ours:.1f}×; max relative "
        f"difference {diff:.1e}")
    if not quick:
        base = peak_rss_mb("load", n)
        tasks = [f"analytic:{k}" for k in CONFIGS] + [f"mc:{k}:{mc_nets[k]}" for k in CONFIGS] + ["entk:ours",
                                                                                                 "entk:loop"]
        rss = {t: peak_rss_mb(t, n) for t in tasks}
        out("\n[memory] peak RSS of a fresh process (VmHWM): data only {:.0f} MB; ".format(base)
            + "; ".join(f"{t} {v:.0f} MB (+{v - base:.0f})" for t, v in rss.items()))
    out(f"\n[neural-tangents] {_neural_tangents()}")
    speedup = min(speedups)
    out(f"\nanalytic vs Monte-Carlo NNGP at equal (Monte-Carlo's) error, per configuration: "
        f"{', '.join(f'{s:.1f}' for s in speedups)}; total bench time {time.perf_counter() - start:.0f} s")
    out(f"speedup {speedup:.2f}")
    return speedup
