"""``whynets bench population``: K = 64 MLPs (40→128→128→10) on MNIST-1D, the same number of Adam steps,
trained (a) by the population engine and (b) by a plain sequential PyTorch loop over the 64 models.

Both sides do the same work: per-model data order, batch 100, Adam 1e-3, and one evaluation on the
train and test sets at the start and the end. Printed: wall times, the speed-up, achieved GFLOP/s of
each beside this machine's measured sgemm GFLOP/s (a 2048² matmul), the floor set by the batched
matmuls alone (so the ceiling of the speed-up on this machine), a tighter floor that adds the two costs
no engine can skip (the evaluations' matmuls and a fused Adam update per step, each timed alone),
``floor-fraction <x>`` = that tight floor / the engine's time (1 = the engine does nothing but the work
no engine can skip; the same ratio in CPU time beside it, which a loaded machine disturbs less), and
last ``speedup <ratio>``.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn as nn

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, population_for, train
from whynets.engine.population import mix_seed
from whynets.engine.train import _MemberCrossEntropy

_member_ce = _MemberCrossEntropy.apply
from whynets.models import ModelSpec, build

__all__ = ["run", "sgemm_gflops"]

DEVICES = ("cpu", "cuda", "auto")  # what ``whynets bench population --device`` accepts


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sgemm_gflops(n: int = 2048, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    device = torch.device(device)
    a = torch.randn(n, n, device=device)
    a @ a
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    _sync(device)
    return repeats * 2 * n ** 3 / (time.perf_counter() - start) / 1e9


def gemm_floor_seconds(k: int, batch: int, dims: list[int], steps: int, repeats: int = 20,
                       device: torch.device | str = "cpu") -> float:
    """Seconds that ``steps`` training steps of K stacked MLPs spend in their batched matmuls ALONE
    (per layer: the forward h·Wᵀ, the weight gradient gᵀ·h and, above the first layer, the input
    gradient g·W), with no autograd, activations, loss or optimizer: the floor under any population
    engine built on torch's bmm on this machine, and so a ceiling on its speed-up."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    hs, ws = _stacked_layers(k, batch, dims, gen, device)
    gs = [torch.randn(k, batch, d, generator=gen).to(device) for d in dims[1:]]

    def one_step():
        for layer, (h, g, w) in enumerate(zip(hs, gs, ws)):
            torch.bmm(h, w.transpose(1, 2))
            torch.bmm(g.transpose(1, 2), h)
            if layer > 0:
                torch.bmm(g, w)
    return _timed(one_step, repeats, device) * steps


def _stacked_layers(k: int, rows: int, dims: list[int], gen: torch.Generator,
                    device: torch.device) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Random stand-ins for K stacked MLPs: each layer's input (K, rows, in) and weight (K, out, in)."""
    hs = [torch.randn(k, rows, d, generator=gen).to(device) for d in dims[:-1]]
    ws = [torch.randn(k, o, i, generator=gen).to(device) for i, o in zip(dims[:-1], dims[1:])]
    return hs, ws


CPU_SECONDS: list[float] = []  # the CPU seconds of each _timed call, in order (the floor-fraction's CPU-time twin)


def _timed(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Mean seconds per call of ``fn`` after one warm-up call (its mean CPU seconds appended to ``CPU_SECONDS``)."""
    fn()
    _sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    _sync(device)
    CPU_SECONDS.append((time.process_time() - cpu) / repeats)
    return (time.perf_counter() - start) / repeats


def overhead_floor_seconds(k: int, dims: list[int], steps: int, examples: int, evaluations: int,
                           device: torch.device | str = "cpu") -> tuple[float, float]:
    """Two more costs no engine can skip, timed alone: (the forward matmuls of ``evaluations`` passes
    over ``examples`` examples for all K members, ``steps`` fused Adam updates of the K members'
    parameters). Both sides of the bench do this work; the sequential loop pays them too."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(1)
    rows = 1000
    hs, ws = _stacked_layers(k, rows, dims, gen, device)

    def forward():
        for h, w in zip(hs, ws):
            torch.bmm(h, w.transpose(1, 2))
    evaluation = _timed(forward, 5, device) * evaluations * examples / rows
    params = [t for w in ws for t in (w.clone().requires_grad_(), torch.zeros(k, w.shape[1], device=device).requires_grad_())]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).to(device)
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    adam = _timed(opt.step, 20, device) * steps
    return evaluation, adam


def _sequential(models: list[nn.Module], seeds: list[int], ds, steps: int, batch: int, lr: float) -> list[float]:
    """The plain loop: one model after another, each with its own Adam and data order, the same loss function."""
    accs = []
    n = len(ds.y)
    for model, seed in zip(models, seeds):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        with torch.no_grad():
            model(ds.x).argmax(1), model(ds.x_test).argmax(1)  # evaluation at the start, as the engine does
        per_epoch = n // batch
        for step in range(steps):
            epoch, pos = divmod(step, per_epoch)
            if pos == 0:
                order = torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed, "data", epoch)))
                order = order.to(ds.x.device)
            idx = order[pos * batch:(pos + 1) * batch]
            loss = _member_ce(model(ds.x[idx])[None], ds.y[idx][None])[0]  # the engine's loss, so both sides
            # compute the same numbers (F.cross_entropy rounds differently in its last bits)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            model(ds.x).argmax(1)
            accs.append((model(ds.x_test).argmax(1) == ds.y_test).float().mean().item())
    return accs


def run(out: Callable[[str], None] = print, quick: bool = False, device: str = "cpu") -> float:
    """The bench on ``device`` (``cpu``, the target's setting, or ``cuda`` for the GPU's figures)."""
    from whynets.engine import resolve_device
    device = resolve_device(device)
    k, steps, batch, lr = (8, 30, 100, 1e-3) if quick else (64, 400, 100, 1e-3)
    ds = load(DataSpec())
    spec = ModelSpec(kind="mlp", width=128, depth=2)
    seeds = list(range(k))
    dims = [40, 128, 128, 10]
    macs = sum(i * o for i, o in zip(dims[:-1], dims[1:]))
    flops = steps * k * batch * 2 * macs * 3  # forward + backward (2 matmuls) per layer
    out(f"population bench: K={k} MLPs 40-128-128-10, {steps} Adam steps of batch {batch}, "
        f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}, "
        f"threads={torch.get_num_threads()}, torch {torch.__version__}")
    gemm = sgemm_gflops(device=device)
    out(f"machine sgemm (2048x2048): {gemm:.1f} GFLOP/s")
    dsd = ds.to(device)

    def build_at(seed: int) -> nn.Module:
        return build(spec, (40,), 10, torch.Generator().manual_seed(seed)).to(device)

    # warm-up both paths once (allocator, kernels)
    pop = population_for(spec, ds, seeds, device)
    train(pop, ds, TrainSpec(lr=lr, batch_size=batch, steps=5, eval_points=2))
    _sequential([build_at(0)], [0], dsd, 5, batch, lr)

    pop = population_for(spec, ds, seeds, device)
    _sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    result = train(pop, ds, TrainSpec(lr=lr, batch_size=batch, steps=steps, eval_points=2))
    _sync(device)
    t_pop, cpu_pop = time.perf_counter() - start, time.process_time() - cpu

    models = [build_at(mix_seed(s, "init")) for s in seeds]
    _sync(device)
    start = time.perf_counter()
    seq_acc = _sequential(models, seeds, dsd, steps, batch, lr)
    _sync(device)
    t_seq = time.perf_counter() - start

    pop_acc = result.final["test_acc"]
    agree = max(abs(a - b) for a, b in zip(pop_acc, seq_acc))
    out(f"population engine : {t_pop:8.2f} s  ({flops / t_pop / 1e9:6.1f} GFLOP/s, {t_pop / steps * 1e3:.2f} ms/step for all {k})")
    out(f"sequential loop   : {t_seq:8.2f} s  ({flops / t_seq / 1e9:6.1f} GFLOP/s, {t_seq / steps / k * 1e3:.2f} ms/step per model)")
    out(f"same models, same data order: max |test acc difference| = {agree:.4f}")
    CPU_SECONDS.clear()
    floor = gemm_floor_seconds(k, batch, dims, steps, device=device)
    out(f"batched-matmul floor: {floor:.2f} s for the same steps ({flops / floor / 1e9:.1f} GFLOP/s): "
        f"no engine built on torch.bmm beats {t_seq / floor:.1f}x here; this engine spends "
        f"{t_pop - floor:.2f} s beyond it (activations, loss, Adam, evaluation, data)")
    evaluation, adam = overhead_floor_seconds(k, dims, steps, len(ds.y) + len(ds.y_test), 2, device=device)
    tight = floor + evaluation + adam
    out(f"with the work every engine must also do, timed alone (evaluation matmuls {evaluation:.2f} s, fused Adam "
        f"{adam:.2f} s): floor {tight:.2f} s, ceiling {t_seq / tight:.1f}x; this engine spends {t_pop - tight:.2f} s "
        f"beyond it (activations, loss, bias and autograd bookkeeping, data)")
    cpu_gemm, cpu_eval, cpu_adam = CPU_SECONDS[-3:]
    cpu_tight = (cpu_gemm * steps + cpu_eval * 2 * (len(ds.y) + len(ds.y_test)) / 1000 + cpu_adam * steps)
    out(f"floor-fraction {tight / t_pop:.2f} (the tight floor / the engine's wall; in CPU time "
        f"{cpu_tight:.2f} s / {cpu_pop:.2f} s = {cpu_tight / cpu_pop:.2f}; target >= 0.9)")
    ratio = t_seq / t_pop
    out(f"speedup {ratio:.2f}")
    return ratio
