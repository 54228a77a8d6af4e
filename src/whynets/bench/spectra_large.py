"""``whynets bench spectra --large``: the parameters question's instruments on a GPT-2-small-shaped transformer.

The model is built here from ``torch.nn`` and randomly initialized (seeded; nothing downloaded): vocabulary 50257,
context 1024, width 768, 12 pre-norm blocks of 12 heads (``nn.TransformerEncoderLayer``, GELU, feed-forward 3072),
a final LayerNorm and an LM head tied to the token embedding — 124.4M parameters, GPT-2 small's shapes. Two
smaller siblings (width 384 / 6 blocks, 512 / 8 blocks, the same vocabulary) give the growth with parameter count.

Timed, one thread, each in a fresh process (its peak resident memory, VmHWM, is the process's own):
- our weight spectra of every matrix (``model_spectra`` without intervals: alpha, xmin, norms, stable rank, MP soft
  rank, spikes of the randomized copy — the metrics WeightWatcher's ``analyze(randomize=True, mp_fit=True)``
  computes) beside WeightWatcher on the same model when it is installed (``pip install "whynets[bench]"``), and
  our layer alphas against WW's where both fit a layer;
- the same spectra with ``diagnose``'s intervals and verdicts (200 bootstrap resamples, 100 synthetic sets);
- ``whynets diagnose --questions parameters`` as a user types it, on the model read at its last position (the next
  token of 48 random 64-token contexts, one label each), under ``--memory-budget 4G``: wall, peak memory, the
  estimate it printed, and what the budget left out (question 4 plans its curvature against the budget);
- the Hessian's top eigenvalue of the language-model loss on 4 random sequences of 128 tokens (float32, Lanczos
  from the gradient, residual 1e-2·λ): its Hessian-vector products, wall and peak memory.
The last line is ``speedup <ratio>``: WeightWatcher's time over ours on the 124M model (nan without WW).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["run", "gpt", "SIZES"]

SIZES = {"gpt2-small": (768, 12, 12), "gpt-512": (512, 8, 8), "gpt-384": (384, 6, 6)}  # width, blocks, heads
VOCAB, CONTEXT = 50257, 1024
HVP_CAP = 6  # Hessian-vector products the top-1 may use here (the 30M model needs ~17 for a 1e-2 residual)


class GPT(nn.Module):
    """A decoder-only transformer of GPT-2's shape from torch.nn blocks (causal self-attention, pre-norm)."""

    def __init__(self, width: int, blocks: int, heads: int, vocab: int = VOCAB, context: int = CONTEXT):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, activation="gelu",
                                                                batch_first=True, norm_first=True)
                                     for _ in range(blocks)])
        self.norm = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        h = self.tokens(ids) + self.positions(torch.arange(t, device=ids.device))
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=ids.device)
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return F.linear(self.norm(h), self.tokens.weight)  # the LM head tied to the token embedding


def gpt(size: str = "gpt2-small", seed: int = 0) -> GPT:
    """A randomly initialized model of ``size`` (GPT-2's init: N(0, 0.02) weights, zero biases), seeded."""
    width, blocks, heads = SIZES[size]
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # torch.nn builds its layers from the global RNG: forked, so the caller's is untouched
        model = GPT(width, blocks, heads)
        gen = torch.Generator().manual_seed(seed)
        for name, p in model.named_parameters():
            with torch.no_grad():
                if p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
                elif name.endswith("bias"):
                    p.zero_()
    return model.eval()


class NextToken(GPT):
    """The same transformer read at its last position: the logits of the token that follows each context, one label
    per example — the shape ``diagnose`` takes (token ids arrive as floats, as every loader gives inputs)."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return super().forward(ids.long())[:, -1]


def next_token(size: str = "gpt2-small", context: int = 64) -> NextToken:
    """``diagnose``'s factory: a ``size`` model with GPT-2's init drawn from the global generator (diagnose seeds it
    for its controls)."""
    width, blocks, heads = SIZES[size]
    model = NextToken(width, blocks, heads, context=context)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.02)
            elif name.endswith("bias"):
                p.zero_()
    return model


DIAGNOSE_BUDGET = "4G"
DIAGNOSE_SETTINGS = ("train.steps=20", "train.batch_size=8", "train.eval_points=1", "seeds=0", "curvature_examples=8",
                     "top_k=1", "trace_matvecs=6")


def _diagnose(size: str, budget: str = DIAGNOSE_BUDGET) -> dict:
    """``whynets diagnose --questions parameters`` on a ``size`` model, as a user types it, in a child process: its
    wall, its peak resident memory (the child's VmHWM, from getrusage) and what question 4 ran or left out."""
    import resource
    import tempfile
    from pathlib import Path

    import numpy as np
    from safetensors.torch import save_file

    folder = Path(tempfile.mkdtemp(prefix="whynets-large-"))
    try:
        ids = np.random.default_rng(0).integers(0, VOCAB, size=(64, 65))  # 48 contexts to train on, 16 to test
        np.savez(folder / "tokens.npz", x=ids[:48, :-1], y=ids[:48, -1], x_test=ids[48:, :-1], y_test=ids[48:, -1])
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = next_token(size)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "net.safetensors"))
        params = sum(p.numel() for p in model.parameters())
        del model
        cmd = [sys.executable, "-W", "ignore", "-m", "whynets.cli.main", "diagnose", "--model",
               "whynets.bench.spectra_large:next_token", "--model-arg", f"size={size}", "--weights",
               str(folder / "net.safetensors"), "--data", str(folder / "tokens.npz"), "--questions", "parameters",
               "--memory-budget", budget, "--out", str(folder / "diag")]
        for setting in DIAGNOSE_SETTINGS:
            cmd += ["--set", setting]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux; the largest child this
        # process has waited for, so run it from a fresh process (``_fresh(size, "diagnose")``)
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:300]}
        record = json.loads((folder / "diag" / "diagnosis.json").read_text())
        q = record["answers"]["parameters"]
        text = " ".join((done.stdout + done.stderr).split())  # rich wraps its lines
        found = re.search(r"expected to take about ([^(]+)\(", text)
        own = re.search(r"\((\d+) s; every number", text)
        estimate = (f"estimated {found.group(1).strip()}" if found else "no estimate printed") + (
            f" for its own {own.group(1)} s after start-up" if own else "")
        return {"params": params, "wall_s": wall, "peak_mb": peak, "model_mb": 4 * params / 2**20,
                "curvature": q["curvature"].get("skipped") or q["curvature"].get("plan"),
                "control": q["spectra"].get("control_skipped") or "trained",
                "estimate": estimate}
    finally:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024


def _child(size: str, task: str) -> dict:
    """One task in this (fresh) process: its wall, its result and its peak RSS."""
    if task == "diagnose":  # its own child: getrusage(RUSAGE_CHILDREN) then sees the diagnosis and nothing before it
        return _diagnose(size)
    torch.set_num_threads(1)
    model = gpt(size)
    base = _peak_mb()
    start = time.perf_counter()
    out: dict = {"params": sum(p.numel() for p in model.parameters())}
    if task == "ours":
        from whynets.measure.spectra import model_spectra
        layers, summary = model_spectra(model, seed=0, n_boot=0, n_reps=0)
        out["alphas"] = {l["name"]: l.get("alpha") for l in layers}
        out["layers"] = len(layers)
    elif task == "ours-intervals":
        from whynets.measure.spectra import model_spectra
        layers, _ = model_spectra(model, seed=0, n_boot=200, n_reps=100)
        out["intervals"] = {l["name"]: l.get("alpha_ci") for l in layers}
        out["layers"] = len(layers)
    elif task == "ww":
        import logging

        import weightwatcher as ww
        logging.getLogger("weightwatcher").setLevel(logging.ERROR)
        frame = ww.WeightWatcher(model=model).analyze(plot=False, randomize=True, mp_fit=True)
        out["alphas"] = {str(n): (float(a) if math.isfinite(a) else None)
                         for n, a in zip(frame["longname"].tolist(), frame["alpha"].tolist())}
        out["layers"] = len(frame)
    elif task == "hessian":
        from whynets.measure.hvp import hessian_operator
        from whynets.measure.lanczos import gradient_start, lanczos_eigenpairs
        gen = torch.Generator().manual_seed(0)
        ids = torch.randint(0, VOCAB, (4, 129), generator=gen)
        x, y = ids[:, :-1], ids[:, 1:]
        loss = lambda logits, target: F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))  # noqa: E731
        op = hessian_operator(model, loss, [(x, y)])
        first = time.perf_counter()
        op.gradient()  # the first-order graph, kept for every product
        out["graph_s"] = time.perf_counter() - first
        top = lanczos_eigenpairs(op, 1, tol=1e-2, max_steps=HVP_CAP, start=gradient_start(op, gen))
        out.update(lambda_max=float(top.eigenvalues[0]), hvps=top.num_matvecs, converged=top.converged,
                   residual=float(top.residuals[0] / abs(top.eigenvalues[0])))
    out["wall_s"] = time.perf_counter() - start
    out["peak_mb"], out["model_mb"] = _peak_mb(), base
    return out


def _fresh(size: str, task: str) -> dict:
    code = f"import json; from whynets.bench.spectra_large import _child; print(json.dumps(_child({size!r}, {task!r})))"
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(say: Callable[[str], None] = print, quick: bool = False) -> float:
    try:
        import weightwatcher  # noqa: F401
        have_ww = True
    except ImportError:
        have_ww = False
    sizes = ["gpt-384"] if quick else ["gpt-384", "gpt-512", "gpt2-small"]
    ww_text = "installed" if have_ww else 'NOT INSTALLED (pip install "whynets[bench]")'
    say(f"spectra --large: GPT-2-shaped transformers from torch.nn, random init, one thread, each task in a fresh "
        f"process; WeightWatcher {ww_text}")
    ratio = math.nan
    for size in sizes:
        ours = _fresh(size, "ours")
        params = ours.get("params", 0)
        say(f"\n[{size}] {params / 1e6:.1f}M parameters")
        say(f"  our spectra (no intervals): {_fmt(ours)}")
        boot = _fresh(size, "ours-intervals")
        say(f"  our spectra with diagnose's intervals and verdicts: {_fmt(boot)}")
        if have_ww:
            theirs = _fresh(size, "ww")
            say(f"  WeightWatcher analyze(randomize, mp_fit): {_fmt(theirs)}")
            if "wall_s" in theirs and "wall_s" in ours:
                r = theirs["wall_s"] / ours["wall_s"]
                common = [n for n, a in theirs["alphas"].items() if a is not None and ours["alphas"].get(n) is not None]
                inside = [n for n in common if (boot.get("intervals") or {}).get(n)
                          and boot["intervals"][n][0] <= theirs["alphas"][n] <= boot["intervals"][n][1]]
                gap = max((abs(theirs["alphas"][n] - ours["alphas"][n]) for n in common), default=math.nan)
                say(f"  ratio {r:.2f} (WW / ours); WW fits {len(theirs['alphas'])} layers (its Linear and Embedding modules, "
                    f"not the attention's packed q/k/v), we fit {len(ours['alphas'])} matrices; on the {len(common)} layers both fit, "
                    f"WW's alpha lies inside our 95% bootstrap interval on {len(inside)}, largest |difference| "
                    f"{gap:.3g}")
                if size == sizes[-1]:
                    ratio = r
        d = _fresh(size, "diagnose")
        left_out = [f"{what}: {why}" for what, why in (("curvature", d.get("curvature")), ("random-label control",
                    d.get("control"))) if isinstance(why, str) and why != "trained"]
        say(f"  whynets diagnose --questions parameters --memory-budget {DIAGNOSE_BUDGET} ({', '.join(DIAGNOSE_SETTINGS)}):"
            f" {_fmt(d)}" + ("" if "error" in d else
                             f"; {d['estimate']}" + (f"; left out by the budget — {'; '.join(left_out)}" if left_out
                                                     else "; every instrument ran")))
        h = _fresh(size, "hessian")
        say(f"  Hessian top-1 (LM loss, 4x128 tokens, float32, Lanczos from the gradient, at most {HVP_CAP} HVPs): "
            f"{_fmt(h)}" + (f", lambda_max {h['lambda_max']:.4g} after {h['hvps']} HVPs (first-order graph "
                            f"{h['graph_s']:.0f} s, then {(h['wall_s'] - h['graph_s']) / h['hvps']:.0f} s per HVP), "
                            f"residual {h['residual']:.1e}·λ" + ("" if h["converged"] else
                            f" — not converged: each HVP holds the double-backward graph of the whole model, and the "
                            f"Lanczos basis grows by {4 * params / 2**20:.0f} MB a step") if "hvps" in h else ""))
    say(f"speedup {ratio:.2f}")
    return ratio


def _fmt(r: dict) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    return f"{r['wall_s']:.1f} s, peak {r['peak_mb']:.0f} MB (model alone {r['model_mb']:.0f} MB)"
