"""``whynets bench spectra``: our weight-spectrum instruments against the ``powerlaw`` package and WeightWatcher.

Models (all layers measured by every tool in one run): (a) the demo's MLP (``whynets diagnose --demo``: the
factory ``whynets.diagnosis.demo:mlp``, 40-256-256-10, trained by the demo's recipe, Adam 1e-3, batch 100, 3000
steps, seed 12345), (b) a 1-D CNN (``ModelSpec(kind="cnn1d", width=32)``) trained briefly,
(c) 4-layer MLPs of width 1024 and 2048 (square layers) with i.i.d. Student-t entries, 3 degrees of freedom
(tail exponent μ = 3), seeded. ``quick=True``: widths 256 / 512 / 512 / 1024 stand-ins, a few hundred steps.

Accuracy, per layer: our alpha and xmin beside ``powerlaw.Fit`` on the same eigenvalues under the same rule
(``parameter_ranges={"alpha": [1, None]}``: powerlaw 2.0's default caps alpha at 3) and WeightWatcher's alpha;
where WW differs, the reason is found by re-running WW's own fitter (``WW_powerlaw.WWFit``) on our eigenvalues.
WW 0.7.7 skips Conv1d layers (it passes the 3-D kernel on as one matrix with M = min(out, in, k) < 8
eigenvalues), so the CNN is given to WW as its Conv2d twin (kernels (out, in, k, 1)), which WW slices exactly
as we slice Conv1d. For the Student-t layers the theory column is Martin & Mahoney's (2019, JMLR 2021 Table 1):
for 2 < μ < 4 the N → ∞ ESD tail is ρ ~ λ^-(1 + μ/2), alpha = 2.5 at μ = 3, while at finite N they report only
a phenomenological λ^-(aμ + b) with Q- and N-dependent a, b (1 + μ/2 is the finite-N law only for 0 < μ < 2).

Speed, per model, one thread everywhere (torch and, via threadpoolctl, the BLAS under numpy/scipy): our
``model_spectra`` without bootstrap and goodness-of-fit (ESD, alpha with xmin and D, alpha_weighted, norms,
stable rank, MP soft rank, spikes of the randomized layer) against ``WeightWatcher.analyze(plot=False,
randomize=True, mp_fit=True)``, the options that compute the same metrics (mp_fit: soft rank and spikes;
randomize: the randomized ESD). Our bootstrap CI (200 resamples) and verdict (100 synthetic sets) are timed
separately, and so is WW's plain ``analyze()`` (alpha and norms only) beside our same subset; for the two trained
models, also the whole ``parameters`` question of ``diagnose`` (spectra with intervals and verdicts, the two
controls — one of them a re-training on random labels — and the curvature), not counted in any ratio. Last line:
``speedup <ratio>``, the smallest full-metric ratio over the models (``nan`` without WeightWatcher).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
import warnings
from typing import Callable

import torch
from torch import nn

from whynets.measure.powerlaw_fit import bootstrap_alpha, fit_power_law, power_law_quality
from whynets.measure.spectra import esd, layer_matrices, model_spectra

__all__ = ["run", "DEVICES"]

DEVICES = ("cpu",)
MU = 3.0  # Student-t degrees of freedom = tail exponent μ of the entries


def _trained(spec, steps: int, seed: int = 0) -> nn.Module:
    import whynets as wn

    ds = wn.data.load(wn.data.DataSpec())
    pop = wn.engine.population_for(spec, ds, seeds=[seed])
    wn.engine.train(pop, ds, wn.engine.TrainSpec(lr=1e-3, batch_size=100, steps=steps, eval_points=2))
    return pop.member(0).eval()


def _parameters_question(model: nn.Module, steps: int) -> float:
    """Wall seconds of ``diagnose``'s whole parameters question on ``model`` (MNIST-1D, a fresh store)."""
    import tempfile

    import whynets as wn

    recipe = wn.engine.TrainSpec(optimizer="adam", lr=1e-3, batch_size=100, steps=steps, eval_points=2)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        wn.diagnose(model, "mnist1d", questions=("parameters",), out=tmp, train=recipe, seeds=(0,), rewind_step=0)
        return time.perf_counter() - started


def _student_mlp(width: int, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    t = torch.distributions.StudentT(MU)
    layers = [nn.Linear(width, width, bias=False) for _ in range(4)]
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=g)))  # StudentT samples the global RNG: forked
        for layer in layers:
            layer.weight.copy_(t.sample(layer.weight.shape) / math.sqrt(width))
    return nn.Sequential(*layers)


def _conv2d_twin(model: nn.Module) -> tuple[nn.Module, dict[str, str]]:
    """A parameter-only module WW can read: each Conv1d (out, in, k) as a Conv2d (out, in, k, 1), Linear copied."""
    twin, names = nn.Module(), {}
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv1d):
            new = nn.Conv2d(mod.in_channels, mod.out_channels, (mod.kernel_size[0], 1), bias=False)
            new.weight.data = mod.weight.detach().clone()[..., None]
        elif isinstance(mod, nn.Linear):
            new = nn.Linear(mod.in_features, mod.out_features, bias=False)
            new.weight.data = mod.weight.detach().clone()
        else:
            continue
        twin.add_module(name.replace(".", "_"), new)
        names[name.replace(".", "_")] = name
    return twin, names


def _weightwatcher():
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            import weightwatcher
    except ImportError:
        return None
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    return weightwatcher


def _ww_analyze(ww, model, **options):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        details = ww.WeightWatcher(model=model).analyze(plot=False, **options)
        return details, time.perf_counter() - start


def _powerlaw_alpha(evals):
    try:
        import powerlaw
    except ImportError:
        return None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(evals.numpy(), verbose=0, parameter_ranges={"alpha": [1, None]})
    return float(fit.alpha), float(fit.xmin)


def _ww_reason(ours: dict, row, evals) -> str:
    """Why WW's alpha differs from ours on this layer, found by re-running WW's fitter on our eigenvalues."""
    if row is None:
        return "WW skipped the layer"
    if abs(row["alpha"] - ours["alpha"]) < 1e-4:
        return ""
    if abs(row["lambda_max"] / ours["lambda_max"] - 1) > 1e-4:
        return f"different ESD: WW lambda_max/ours = {row['lambda_max'] / ours['lambda_max']:.4f}"
    from weightwatcher.WW_powerlaw import WWFit

    with contextlib.redirect_stdout(io.StringIO()):
        ref = WWFit(evals[evals > 1e-5].numpy())  # WW's EVALS_THRESH and its own fitter
    if abs(ref.alpha - row["alpha"]) > 1e-3 * row["alpha"]:
        return "not reproduced by WW's fitter on our ESD"
    if len(evals) < 20:
        return "WW's small-N fit (< 20 eigenvalues): (n-1)-corrected MLE, xmin minimizing D - 0.868/sqrt(n)"
    top2 = torch.unique(evals)[-2]
    if abs(ref.xmin - float(top2)) < 1e-12 * float(top2):
        return "WW's xmin is the 2nd-largest eigenvalue, a candidate powerlaw (and we) exclude"
    return f"WW's fitter picks xmin={ref.xmin:.4g} (ours {ours['xmin']:.4g}): its candidates include duplicates and " \
           "the 2nd-largest value, and D is taken over all points"


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _basic(model):
    """Our subset matching WW's plain analyze(): ESD, alpha, norms (no randomized layer, no MP fit)."""
    for lm in layer_matrices(model):
        if lm.M * lm.rf >= 8:
            ev = esd(lm)
            fit_power_law(ev)
            float(ev.sum()), float(ev[-1])


def compare(name: str, model: nn.Module, say, ww, theory: float | None = None, question_steps: int = 0) -> float:
    say(f"\n[{name}]")
    model_spectra(model, seed=0, n_boot=0, n_reps=0)  # warm-up (allocator, caches)
    (layers, summary), t_ours = _timed(lambda: model_spectra(model, seed=0, n_boot=0, n_reps=0))
    _, t_basic = _timed(lambda: _basic(model))
    rows, t_ww, t_ww_basic, skipped = {}, math.nan, math.nan, []
    if ww is not None:
        target, names = model, {n: n for n, _ in model.named_modules()}
        if any(isinstance(m, nn.Conv1d) for m in model.modules()):
            native, _ = _ww_analyze(ww, model)
            seen = set(native["longname"]) if len(native) else set()
            skipped = [lm.name for lm in layer_matrices(model) if lm.kind == "conv1d" and lm.name not in seen]
            target, names = _conv2d_twin(model)
        details, t_ww = _ww_analyze(ww, target, randomize=True, mp_fit=True)
        _, t_ww_basic = _ww_analyze(ww, target)
        rows = {names.get(r["longname"], r["longname"]): r for _, r in details.iterrows()}
    if theory:
        say(f"  theory (Martin & Mahoney 2019; JMLR 2021 Table 1): mu = {MU:g} is in 2 < mu < 4, where the N -> inf "
            f"ESD tail is lambda^-(1 + mu/2), alpha = {theory:.2f}; at finite N they give only a phenomenological "
            "lambda^-(a mu + b), a and b depending on Q and N (1 + mu/2 holds at finite N only for 0 < mu < 2)")
    if skipped:
        say(f"  WW's own Conv1d path skips {', '.join(skipped)}; WW below is run on the Conv2d twin of the model")
    say(f"  {'layer':12s} {'shape':>14s} {'evals':>5s} | {'ours a':>7s} {'xmin':>9s} {'D':>6s} {'n_tail':>6s} "
        f"{'CI95':>13s} {'verdict':>15s} | {'powerlaw':>8s} {'|diff|':>7s} | {'WW a':>7s}"
        + ("  theory" if theory else "") + "  (why WW differs)")
    mats, t_boot, t_gof = layer_matrices_by_name(model), 0.0, 0.0
    for lay in layers:
        evals = esd(mats[lay["name"]]).cpu()
        ci, dt = _timed(lambda: bootstrap_alpha(evals, 200, seed=0))
        t_boot += dt
        quality, dt = _timed(lambda: power_law_quality(evals, fit_power_law(evals), n_reps=100, seed=0))
        t_gof += dt
        pl = _powerlaw_alpha(evals)
        row = rows.get(lay["name"])
        pl_txt = f"{pl[0]:8.4f} {abs(pl[0] - lay['alpha']):7.1e}" if pl else f"{'n/a':>8s} {'':>7s}"
        if pl and abs(pl[1] - lay["xmin"]) > 1e-12 * lay["xmin"]:
            pl_txt += " (xmin differs)"
        ww_txt = f"{row['alpha']:7.3f}" if row is not None else f"{'-':>7s}"
        reason = _ww_reason(lay, row, evals) if ww is not None else ""
        say(f"  {lay['name']:12s} {str(tuple(lay['shape'])):>14s} {lay['num_evals']:5d} | {lay['alpha']:7.3f} "
            f"{lay['xmin']:9.3g} {lay['D']:6.3f} {lay['n_tail']:6d} ({ci.low:5.2f},{ci.high:5.2f}) "
            f"{quality['verdict']:>15s} | {pl_txt} | {ww_txt}" + (f"  {theory:6.2f}" if theory else "")
            + (f"  ({reason})" if reason else ""))
        if row is not None:
            say(f"  {'':12s} log_norm {lay['log_norm']:.4f} (WW {row['log_norm']:.4f}), stable rank "
                f"{lay['stable_rank']:.2f} (WW {row['stable_rank']:.2f}), spikes over the randomized layer's MP edge "
                f"{lay['num_spikes']}, mp_softrank {lay['mp_softrank']:.3f} (WW's MP edge is KDE-fitted to the "
                f"layer's own ESD: {int(row['num_spikes'])} spikes, soft rank {row['mp_softrank']:.3f}); "
                f"randomized layer's own spikes {lay['num_rand_spikes']} (WW {int(row['rand_num_spikes'])})")
    for lname, why in summary["skipped"]:
        say(f"  {lname}: skipped by both tools ({why})")
    ratio = t_ww / t_ours
    say(f"  time, same metrics: ours {t_ours:.3f} s | WW analyze(randomize=True, mp_fit=True) {t_ww:.3f} s | "
        f"ratio {ratio:.1f}")
    say(f"  time, alpha + norms only: ours {t_basic:.3f} s | WW analyze() {t_ww_basic:.3f} s | "
        f"ratio {t_ww_basic / t_basic:.1f}")
    say(f"  ours only (WW has no equivalent): bootstrap CI of alpha, 200 resamples {t_boot:.3f} s; "
        f"goodness-of-fit verdict, 100 synthetic sets + 2 likelihood-ratio tests {t_gof:.3f} s")
    if question_steps:
        say(f"  diagnose's whole parameters question (spectra with CIs and verdicts, at-init and random-label "
            f"controls — a {question_steps}-step re-training —, Hessian/Fisher/sharpness curvature): "
            f"{_parameters_question(model, question_steps):.1f} s (not in the ratio)")
    return ratio


def layer_matrices_by_name(model: nn.Module) -> dict:
    return {lm.name: lm for lm in layer_matrices(model)}


def run(out: Callable[[str], None] = print, quick: bool = False, device: str = "cpu", large: bool = False) -> float:
    if device not in DEVICES:
        raise ValueError(f"bench spectra runs on the CPU only (WeightWatcher's comparison path), got {device!r}")
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            if large:  # a GPT-2-small-shaped transformer and two smaller siblings (bench/spectra_large.py)
                from .spectra_large import run as run_large
                return run_large(out, quick)
            return _run(out, quick)
    finally:
        torch.set_num_threads(threads)


def _run(say, quick: bool) -> float:
    from whynets.models import ModelSpec

    start = time.perf_counter()
    ww = _weightwatcher()
    try:
        import powerlaw
        pl_version = powerlaw.__version__
    except ImportError:
        pl_version = "NOT INSTALLED"
    from whynets.diagnosis.demo import DEMO_WIDTH

    steps, cnn_steps, widths = (300, 100, (256, 512)) if quick else (3000, 500, (1024, 2048))
    say(f"spectra bench: 1 thread; powerlaw {pl_version}; WeightWatcher "
        f"{ww.__version__ if ww else 'NOT INSTALLED: only our side runs'}; torch {torch.__version__}")
    demo = ModelSpec(kind="factory", factory="whynets.diagnosis.demo:mlp", factory_args=f'{{"width": {DEMO_WIDTH}}}')
    models = [(f"the demo's MLP 40-{DEMO_WIDTH}-{DEMO_WIDTH}-10, MNIST-1D, {steps} Adam steps",
               _trained(demo, steps, seed=12345), None, steps),
              (f"CNN1d width 32, {cnn_steps} Adam steps", _trained(ModelSpec(kind="cnn1d", width=32), cnn_steps),
               None, cnn_steps)]
    models += [(f"4-layer MLP width {w}, Student-t(3) entries", _student_mlp(w, seed=w), 1 + MU / 2, 0) for w in widths]
    if ww is not None:  # load WW's lazy imports once, outside every timing
        _ww_analyze(ww, nn.Sequential(nn.Linear(16, 32)), randomize=True, mp_fit=True)
    ratios = [compare(name, model, say, ww, theory, q) for name, model, theory, q in models]
    speedup = min(ratios) if ww is not None else math.nan
    say(f"\nfull-metric ratios (WW time / ours): {', '.join(f'{r:.1f}' for r in ratios)}; "
        f"total bench time {time.perf_counter() - start:.0f} s")
    say(f"speedup {speedup:.2f}")
    return speedup


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv)
