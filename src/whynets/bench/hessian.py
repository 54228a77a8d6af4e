"""``whynets bench hessian``: our curvature instruments against PyHessian, side by side on the same models.

Models (briefly trained with Adam, explicit seeds) on 1000 MNIST-1D examples, full batch, float32:
a small MLP 40-16-10 (826 parameters: its exact Hessian is the oracle), an MLP 40-256-256-10
(78,858 parameters) and a 1-D CNN (three Conv1d(32, kernel 5, stride 2) + linear, 11,786
parameters). For the large models the reference is our float64 Lanczos run to a residual of
1e-9·‖H‖ (certifying those eigenvalues to ~1e-9 relative) and float64 Hutch++ with 600 products.

Tasks, each timed end to end (graph construction included) after one warm-up, fastest of 5 repeats,
one thread for both tools:
- top-1 and top-5 eigenvalues, time at equal accuracy: PyHessian's power iteration with deflation runs at its
  defaults (tol 1e-3 on the relative change, ≤ 100 iterations per eigenvalue) and its error against the reference
  is measured (the largest relative error of the k eigenvalues); our Lanczos (full re-orthogonalization, started
  from the loss gradient mixed with a random vector: ``measure.lanczos.gradient_start``) then
  stops at the first step whose k Ritz values are at least that accurate against the same reference — both
  tools stopped at the same accuracy. Our own residual stop (1e-2·‖H‖, what ``diagnose`` uses, which knows no
  reference) is timed too and printed beside it, not counted. A ratio counts only if ours is at least as accurate
  (else the line says so and the ratio is capped at 0, to be seen).
- trace: PyHessian's Hutchinson with 100 Rademacher probes against our Hutch++ (sketch of 10,
  remainder probes until its standard error is at or below PyHessian's, at most 100 products in
  all): equal accuracy, judged by each estimator's own standard error (and the error to the reference).
  The same-budget comparison (Hutch++ with the same 100 products) is printed too, for reference.
Peak memory: the peak resident set size (VmHWM from /proc/self/status) of a fresh subprocess that
loads the saved model and runs one tool's top-5 + trace, beside a subprocess that only loads (full run).
``quick=True`` runs the small and the 256-wide MLP, one repeat, no 600-product trace reference and no
memory subprocesses. The last line is ``speedup <ratio>``, the smallest equal-accuracy ratio.

PyHessian is optional (``pip install pyhessian``); without it only our side runs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from whynets.engine.state import load_tensors, save_tensors
from whynets.measure.hvp import hessian_operator
import numpy as np

from whynets.measure.lanczos import gradient_start, hessian_eigenpairs, lanczos, lanczos_eigenpairs, ritz
from whynets.measure.trace import hutchpp_trace

__all__ = ["run"]

CE = nn.functional.cross_entropy
LANCZOS_TOL = 1e-2  # residual ≤ 1e-2·‖H‖: eigenvalue error ≲ 1e-4·λ₁²/gap; at 3e-2 Lanczos could stop before a close 5th eigenvalue emerged
SKETCH = 10  # Hutch++ sketch: the ~C = 10 outlier eigenvalues of a C-class cross-entropy Hessian (Papyan 2019)
PROBES = 100  # PyHessian's trace probes (its default maxIter)
DEVICES = ("cpu",)  # the comparison runs PyHessian with cuda=False


class CNN(nn.Module):
    def __init__(self, channels: int = 32):
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(1, channels, 5, 2, 1), nn.ReLU(), nn.Conv1d(channels, channels, 5, 2, 1),
                                      nn.ReLU(), nn.Conv1d(channels, channels, 5, 2, 1), nn.ReLU())
        self.readout = nn.Linear(channels * 4, 10)  # 40 → 19 → 9 → 4 positions

    def forward(self, x):
        return self.readout(self.features(x.reshape(len(x), 1, -1)).flatten(1))


def build(arch: str) -> nn.Module:
    if arch == "mlp16":
        return nn.Sequential(nn.Linear(40, 16), nn.ReLU(), nn.Linear(16, 10))
    if arch == "mlp256":
        return nn.Sequential(nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    if arch == "cnn":
        return CNN()
    raise ValueError(f"unknown architecture {arch!r}; expected mlp16, mlp256 or cnn")


def mnist1d(n: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    from mnist1d.data import get_dataset_args, make_dataset
    d = make_dataset(get_dataset_args())
    return torch.tensor(d["x"][:n], dtype=torch.float32), torch.tensor(d["y"][:n], dtype=torch.int64)


def trained(arch: str, x, y, steps: int, seed: int = 0) -> nn.Module:
    """``steps`` Adam steps (lr 1e-3, batches of 100 drawn with an explicit generator)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # nn init reads the global RNG; forked so the caller's stream is untouched
        model = build(arch)
    opt, gen = torch.optim.Adam(model.parameters(), lr=1e-3), torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (100,), generator=gen)
        loss = CE(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def pyhessian_module():
    """PyHessian's module (``pyhessian.hessian`` the attribute is the class, shadowing the module)."""
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        return None
    return sys.modules["pyhessian.hessian"]


# --- the two tools, one task each: fn(model, x, y, rep) -> result --------------------------------------------

def ours_top(model, x, y, k, rep):
    e = hessian_eigenpairs(model, CE, [(x, y)], k, tol=LANCZOS_TOL, seed=rep)  # a random start, what users get
    return e.eigenvalues.double(), e.num_matvecs


def ours_top_at(model, x, y, k, rep, ref, error):
    """Lanczos stopped at the first step whose top-k Ritz values are within relative ``error`` of ``ref``."""
    op = hessian_operator(model, CE, [(x, y)])
    gen = torch.Generator().manual_seed(rep)

    def accurate(alpha, beta) -> bool:
        if alpha.shape[1] < k:
            return False
        theta = ritz(alpha[0], beta[0])[0][::-1][:k]
        return bool((np.abs(theta - ref[:k]) / np.abs(ref[:k])).max() <= error)

    alpha, beta, _ = lanczos(op, gradient_start(op, gen), 300, generator=gen, callback=accurate)
    theta = ritz(alpha[0], beta[0])[0][::-1][:k].copy()
    return torch.as_tensor(theta, dtype=torch.float64), op.num_matvecs


def ours_trace(model, x, y, rep, target=None, budget=PROBES):
    t = hutchpp_trace(hessian_operator(model, CE, [(x, y)]), budget, sketch_size=SKETCH, target_stderr=target,
                      seed=rep)
    return t.estimate, t.stderr, t.num_matvecs


def _theirs(model, x, y, rep, call):
    ph = pyhessian_module()
    count = [0]
    original = ph.hessian_vector_product

    def counted(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    ph.hessian_vector_product = counted
    try:
        with torch.random.fork_rng():
            torch.manual_seed(rep)  # PyHessian draws from the global RNG; forked, seeded per repeat
            out = call(ph.hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False))
    finally:
        ph.hessian_vector_product = original
        for p in model.parameters():
            p.grad = None  # PyHessian leaves its create_graph gradients on the model
    return out, count[0]


def theirs_top(model, x, y, k, rep):
    (values, _), calls = _theirs(model, x, y, rep, lambda h: h.eigenvalues(top_n=k))
    return torch.tensor(values, dtype=torch.float64), calls


def theirs_trace(model, x, y, rep):
    samples, calls = _theirs(model, x, y, rep, lambda h: h.trace(maxIter=PROBES, tol=float("-inf")))
    s = torch.tensor(samples, dtype=torch.float64)
    return float(s.mean()), float(s.std()) / math.sqrt(len(s)), calls


def timed(fn, repeats: int):
    """Warm up once, then the fastest of ``repeats`` calls (repeat r uses seed r; the minimum is the least
    disturbed by other processes on a shared machine) and THAT call's result, so the operator count and
    the accuracy printed belong to the run that was timed."""
    fn(0)
    best = None
    for r in range(repeats):
        start = time.perf_counter()
        out = fn(r)
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best[0]:
            best = (elapsed, out)
    return best


def reference(model, x, y, exact: bool, trace_reference: bool):
    """(top-5 eigenvalues, trace or NaN, what it is) in float64."""
    if exact:
        from whynets.measure.hvp import ModelLoss
        ml = ModelLoss(model, CE, [(x, y)], dtype=torch.float64)
        H = torch.func.hessian(lambda t: ml.batch_loss(t, 0))(ml.theta)
        return torch.linalg.eigvalsh(H).flip(0)[:5], float(H.trace()), "exact Hessian (float64 eigvalsh)"
    op = hessian_operator(model, CE, [(x, y)], dtype=torch.float64)
    top = lanczos_eigenpairs(op, 5, tol=1e-9, max_steps=300)  # a random start: independent of ours
    trace = hutchpp_trace(op, 600, seed=12345).estimate if trace_reference else math.nan
    return top.eigenvalues, trace, f"float64 Lanczos (residual 1e-9·‖H‖, converged={top.converged}), Hutch++ 600"


def compare_model(name, model, x, y, exact, quick, say) -> list[float]:
    repeats = 1 if quick else 5
    ref_top, ref_trace, what = reference(model, x, y, exact, trace_reference=not quick)
    n = sum(p.numel() for p in model.parameters())
    say(f"\n[{name}] {n} parameters; reference: {what}")
    say(f"  reference top-5 {[round(float(v), 4) for v in ref_top]}, trace {ref_trace:.4f}")
    have = pyhessian_module() is not None
    ratios = []
    ref_np = ref_top.double().numpy()
    for k in (1, 5):
        t_res, (vals, hv_res) = timed(lambda r: ours_top(model, x, y, k, r), repeats)
        err_res = float(((vals[:k] - ref_top[:k]).abs() / ref_top[:k].abs()).max())
        if have:
            t_th, (tvals, hv_th) = timed(lambda r: theirs_top(model, x, y, k, r), repeats)
            err_th = float(((tvals[:k] - ref_top[:k]).abs() / ref_top[:k].abs()).max())
            t_ours, (vals, hv_ours) = timed(lambda r: ours_top_at(model, x, y, k, r, ref_np, err_th), repeats)
            err_ours = float(((vals[:k] - ref_top[:k]).abs() / ref_top[:k].abs()).max())
            ratio = t_th / t_ours if err_ours <= err_th else 0.0
            ratios.append(ratio)
            line = (f"  top-{k} at PyHessian's accuracy: ours {t_ours * 1e3:7.1f} ms ({hv_ours:3d} HVPs, rel. err "
                    f"{err_ours:.1e}) | PyHessian {t_th * 1e3:7.1f} ms ({hv_th:3d} HVPs, rel. err {err_th:.1e})"
                    f" | ratio {t_th / t_ours:.2f} = {hv_th / hv_ours:.2f} (HVP counts) x "
                    f"{t_th / hv_th / (t_ours / hv_ours):.2f} (time per HVP, setup included)"
                    + ("" if err_ours <= err_th else "  ACCURACY NOT MATCHED"))
            say(line)
        say(f"  top-{k}, our residual stop (1e-2·‖H‖, no reference): {t_res * 1e3:7.1f} ms ({hv_res:3d} HVPs, rel. err "
            f"{err_res:.1e})" + (f" | ratio {t_th / t_res:.2f} (not counted)" if have else ""))
    ref_txt = lambda est: "" if math.isnan(ref_trace) else f", err {abs(est - ref_trace) / abs(ref_trace):.1%}"  # noqa: E731
    if have:
        t_th, (est_th, se_th, hv_th) = timed(lambda r: theirs_trace(model, x, y, r), repeats)
        t_ours, (est, se, hv) = timed(lambda r: ours_trace(model, x, y, r, target=se_th), repeats)
        matched = se <= se_th * (1 + 1e-9)
        ratios.append(t_th / t_ours if matched else 0.0)
        say(f"  trace, equal accuracy: ours Hutch++ {t_ours * 1e3:7.1f} ms ({hv} HVPs, {est:.3f} ± {se:.3f}{ref_txt(est)})"
            f" | PyHessian Hutchinson {t_th * 1e3:7.1f} ms ({hv_th} HVPs, {est_th:.3f} ± {se_th:.3f}{ref_txt(est_th)})"
            f" | ratio {t_th / t_ours:.2f}" + ("" if matched else "  ACCURACY NOT MATCHED"))
    t_same, (est, se, hv) = timed(lambda r: ours_trace(model, x, y, r), repeats)
    say(f"  trace, same {hv} HVPs: ours Hutch++ {t_same * 1e3:7.1f} ms ({est:.3f} ± {se:.3f}{ref_txt(est)})"
        + (f" | ratio {t_th / t_same:.2f} (not counted: more accurate, not faster)" if have else ""))
    return ratios


def _memory_child(path: str, tool: str) -> None:
    """Subprocess body: load the saved model and data, run ``tool``'s top-5 and trace (or nothing)."""
    torch.set_num_threads(1)
    tensors, meta = load_tensors(Path(path))  # safetensors: nothing in the file can run code
    info = json.loads(meta["bench"])
    saved = {"target": info["target"]}
    model = build(info["arch"])
    model.load_state_dict({k[len("state/"):]: v for k, v in tensors.items() if k.startswith("state/")})
    model.eval()
    x, y = tensors["x"], tensors["y"]
    if tool == "ours":
        ours_top(model, x, y, 5, 0)
        ours_trace(model, x, y, 0, target=saved["target"])
    elif tool == "pyhessian":
        theirs_top(model, x, y, 5, 0)
        theirs_trace(model, x, y, 0)
    with open("/proc/self/status") as status:  # VmHWM: this process's peak RSS since exec
        print(next(line for line in status if line.startswith("VmHWM")))


def peak_rss_mb(path: str, tool: str) -> float:
    """Peak resident set size (VmHWM, Linux) of a fresh process running ``tool``. Not ru_maxrss: Linux
    carries the forking parent's high-water mark across exec into it."""
    code = f"from whynets.bench.hessian import _memory_child; _memory_child({path!r}, {tool!r})"
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess for {tool} failed: {done.stderr[-2000:]}")
    return int(done.stdout.strip().splitlines()[-1].split()[1]) / 1024  # "VmHWM:  123456 kB"


def density_check(model, x, y, say) -> None:
    ph = pyhessian_module()
    try:
        h = ph.hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
        h.density(iter=10, n_v=1)
        say("  PyHessian density(): ran")
    except Exception as exc:  # reported, not hidden: this is the finding
        say(f"  PyHessian density(): fails with {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        for p in model.parameters():
            p.grad = None


def run(console_print: Callable[[str], None] = print, quick: bool = False, device: str = "cpu") -> float:
    if device not in DEVICES:
        raise ValueError(f"bench hessian runs on the CPU only, got device {device!r}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(console_print, quick)
    finally:
        torch.set_num_threads(threads)


def _run(say, quick: bool) -> float:
    start = time.perf_counter()
    x, y = mnist1d()
    steps = 100 if quick else 300
    ph = pyhessian_module()
    say(f"Hessian bench: 1000 MNIST-1D examples, full batch, float32, 1 thread, {steps} Adam steps per model; "
        f"PyHessian {'0.1 (PyPI)' if ph else 'NOT INSTALLED: only our side runs'}")
    archs = [("MLP 40-16-10", "mlp16", True), ("MLP 40-256-256-10", "mlp256", False)]
    if not quick:
        archs.append(("CNN 3x Conv1d(32)", "cnn", False))
    ratios, models = [], {}
    for name, arch, exact in archs:
        models[arch] = trained(arch, x, y, steps)
        ratios += compare_model(name, models[arch], x, y, exact, quick, say)
    if ph is not None:
        say("\n[density]")
        density_check(models["mlp16"], x, y, say)
    if not quick and ph is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.safetensors")
            _, se_th, _ = theirs_trace(models["mlp256"], x, y, 0)
            save_tensors({**{f"state/{k}": v for k, v in models["mlp256"].state_dict().items()}, "x": x, "y": y},
                         Path(path), {"bench": json.dumps({"arch": "mlp256", "target": se_th})})
            base, ours, theirs = (peak_rss_mb(path, t) for t in ("none", "ours", "pyhessian"))
        say(f"\n[memory] MLP 40-256-256-10, top-5 + trace, peak RSS of a fresh process (VmHWM): "
            f"load only {base:.0f} MB, ours {ours:.0f} MB (+{ours - base:.0f}), PyHessian {theirs:.0f} MB (+{theirs - base:.0f})")
    speedup = min(ratios) if ratios else math.nan
    say(f"\n{len(ratios)} equal-accuracy ratios (PyHessian time / ours): {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"total bench time {time.perf_counter() - start:.0f} s")
    say(f"speedup {speedup:.2f}")
    return speedup


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
