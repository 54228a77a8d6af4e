"""Question 3 — what error bound can I certify?

For a classifier, each bound holds with probability >= 1 − δ on its own (δ = ``spec.delta``; where a bound searched
over choices, its own union bound or code length charges them), and states its assumptions in one line:

1. the held-out test-set bound (Langford 2005): binomial tail inversion of the test errors — the bound a practitioner
   can always certify, and the yardstick for the others;
2. PAC-Bayes, optimized (Dziugaite & Roy 2017): a Gaussian posterior around the trained weights, variances optimized
   by the bound, prior centred at ``--init`` (else at zero); the kl-inverse bound on the STOCHASTIC network with the
   Monte-Carlo error bounded separately (``measure.pac_bayes``);
3. compression (Occam / Lotfi et al. 2022), two ways: (a) YOUR weights quantized to a learned codebook and
   arithmetic-coded; (b) your ARCHITECTURE retrained in a random low-dimensional subspace around ``--init`` (else the
   factory's seeded initialization), quantized with quantization-aware training (``measure.subspace``, Lotfi et al.
   §4): a net of yours costs bits per weight, which a few thousand examples cannot pay for, while (b) costs bits per
   subspace coordinate — it certifies a sibling of your model (same architecture, other weights), whose own test
   error is printed beside it. Both: the kl-inverse bound with the code length in nats, every searched
   hyper-parameter (codebook size; subspace dimension) charged as bits;
4. reference bounds expected to be vacuous: VC (parameter count), spectrally-normalized margin (Bartlett et al. 2017),
   ℓ1 path norm (Neyshabur et al. 2015) — printed so the gap is visible.
A bound above 1 is printed as "vacuous (value)", never clipped.

Every certificate charges everything the certified predictor reads: the compression code covers every parameter
and every buffer (BatchNorm statistics) that a module built without data (``--init``, else the factory at seed 0)
does not already hold; the PAC-Bayes posterior holds every parameter and floating buffer, against a prior built
without data. The headline takes the tightest of k certificates, so each is computed at δ/k (a union bound): the
minimum holds with probability >= 1 − δ.

For a regressor: the held-out bound on the test risk of the squared error clipped at C (stated; C = 4 × the
training targets' variance rounded up to a power of 2), and a PAC-Bayes bound on the same clipped loss (C from a
fixed grid of powers of 2, the grid charged by a union bound); the compression and subspace bounds bound a 0-1
error and do not apply.
"""

from __future__ import annotations

import copy
import html
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from whynets.engine import Population
from whynets.measure.bounds import (classification_margins, path_norm_bound, spectral_margin_bound, test_set_bound,
                                    vc_bound_any)
from whynets.measure.coding import compress_model, compression_bound
from whynets.measure.pac_bayes import optimize_pac_bayes
from whynets.measure.subspace import search_steps, subspace_compress
from whynets.models import build

from whynets.store import file_digest

from .model_io import apply_weights, load_weights
from .spec import DiagnoseSpec

__all__ = ["question_bound", "bound_html", "show"]

LEVELS = (4, 8, 16, 32)  # codebook sizes searched: log2(4) = 2 bits charged for the choice


SUBSPACE = "subspace compression, your architecture (Lotfi et al. 2022)"
VACUOUS = 1 - 1e-3  # a kl-inverse bound cannot exceed 1: one at 1 (to 3 decimals) hit that ceiling and says nothing


def show(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"vacuous ({value:.4g})" if value >= VACUOUS else f"{value:.4f}"


def _plain(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4f}"


def trivial_error(y: torch.Tensor) -> float:
    """The error of always predicting the training set's most frequent class: a bound at or above it certifies no
    more than guessing does."""
    counts = torch.bincount(y.reshape(-1).long())
    return 1.0 - float(counts.max()) / float(counts.sum())


def _errors(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    with torch.no_grad():
        return int((Population([copy.deepcopy(module)]).eval()(x)[0].argmax(-1) != y).sum())


def _base(spec: DiagnoseSpec, ds) -> tuple[nn.Module, str]:
    """A module built without the data — ``--init``, else the factory at seed 0 — and what it is: the decoder's
    starting point and the PAC-Bayes prior's centre for the tensors training does not touch."""
    base = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
    if spec.init:
        apply_weights(base, load_weights(spec.init), where=spec.init)
        return base.eval(), "--init"
    return base.eval(), "the factory's initialization (seed 0)"


def _compression(module: nn.Module, ds, delta: float, base: nn.Module) -> dict[str, Any]:
    best = None
    n = len(ds.y)
    choice_bits = math.log2(len(LEVELS))
    for levels in LEVELS:
        comp = compress_model(module, levels, seed=0, base=base)
        quantized = copy.deepcopy(module)
        quantized.load_state_dict(comp.state_dict)
        errors = _errors(quantized, ds.x, ds.y)
        value = compression_bound(errors, n, comp.bits, delta, extra_bits=choice_bits)
        row = {"levels": levels, "bits": comp.bits, "bits_raw": comp.bits_raw, "raw": sorted(comp.raw),
               "train_errors_quantized": errors, "bound": value,
               "test_error_quantized": _errors(quantized, ds.x_test, ds.y_test) / len(ds.y_test)}
        if best is None or value < best["bound"]:
            best = row
    return dict(best, choice_bits=choice_bits,
                statement=f"Occam bound on the quantized net (codebook of {best['levels']} values, arithmetic-coded"
                          + (f"; {len(best['raw'])} buffer(s) your model changed from its data-independent start "
                             f"coded raw, {best['bits_raw']} bits" if best["raw"] else "")
                          + f"); {choice_bits:.0f} bits charged for choosing the codebook size among {list(LEVELS)}")


def _subspace(ctx, spec: DiagnoseSpec, ds, delta: float, key: str) -> dict[str, Any]:
    """Bound (b): the architecture trained in random subspaces around a data-independent point, quantized."""
    start = build(spec.model, ds.input_shape, ds.n_classes, torch.Generator().manual_seed(0))
    origin = "the factory's initialization (seed 0)"
    if spec.init:
        apply_weights(start, load_weights(spec.init), where=spec.init)
        origin = "--init"

    def fn(_: Path) -> dict[str, Any]:
        steps = spec.train.steps
        total = search_steps(len(spec.subspace_dims), len(spec.subspace_levels), steps)
        with ctx.bar("diagnose: subspace compression", total) as advance:
            seen = [0]

            def progress(done: int, _total: int) -> None:
                advance(done - seen[0])
                seen[0] = done

            best, rows = subspace_compress(start, ds.x, ds.y, dims=spec.subspace_dims, levels=spec.subspace_levels,
                                           steps=steps, batch_size=spec.train.batch_size, seed=0, delta=delta,
                                           x_test=ds.x_test, y_test=ds.y_test, progress=progress)
        table = [{"dim": r.dim, "levels": r.levels, "bits": r.bits, "train_error": r.train_errors / r.n,
                  "float_train_error": r.float_train_errors / r.n, "test_error": r.test_error, "bound": r.bound,
                  "seconds": r.seconds} for r in rows]
        return {"dim": best.dim, "levels": best.levels, "bits": best.bits, "choice_bits": best.extra_bits,
                "bits_codebook": best.bits_codebook, "bits_counts": best.bits_counts, "bits_symbols": best.bits_symbols,
                "train_error": best.train_errors / best.n, "test_error": best.test_error, "bound": best.bound,
                "rows": table}

    res = ctx.cell({"stage": "bounds-subspace"}, fn, model=key, data=spec.data, delta=delta,
                   init=file_digest(spec.init) if spec.init else None, dims=list(spec.subspace_dims),
                   levels=list(spec.subspace_levels), steps=spec.train.steps, batch=spec.train.batch_size)
    res = dict(res, origin=origin)
    res["statement"] = (f"Occam bound on your architecture retrained in a random {res['dim']}-dimensional subspace "
                        f"around {origin} (data-independent) and quantized to {res['levels']} values, arithmetic-coded: "
                        f"a sibling of your model, not your weights (its test error {_plain(res['test_error'])}); "
                        f"{res['choice_bits']:.2g} bits charged for choosing among dimensions "
                        f"{list(spec.subspace_dims)} × codebook sizes {list(spec.subspace_levels)}")
    return res


def _prior(module: nn.Module, base: nn.Module, spec: DiagnoseSpec) -> dict[str, torch.Tensor]:
    """The PAC-Bayes prior's centre for every tensor the posterior holds (parameters and floating buffers), built
    without data: ``--init``'s weights, else zero weights (D&R's default without an initialization); buffers from
    ``base`` (running statistics at their initial 0 and 1)."""
    state = base.state_dict()
    prior = {}
    for name, p in module.named_parameters():
        prior[name] = state[name].detach().clone() if spec.init else torch.zeros_like(p).detach()
    for name, b in module.named_buffers():
        if b.is_floating_point():
            prior[name] = state[name].detach().clone().to(b)
    return prior


def _references(module: nn.Module, ds, delta: float) -> list[dict[str, Any]]:
    with torch.no_grad():
        logits = Population([copy.deepcopy(module)]).eval()(ds.x)[0]
    margins = classification_margins(logits, ds.y)
    train_err = float((logits.argmax(-1) != ds.y).double().mean())
    out = []
    for name, fn_ in (("VC (parameter count)", lambda: vc_bound_any(copy.deepcopy(module), ds.x, train_err, len(ds.y),
                                                                    delta)),
                      ("spectral margin (Bartlett et al. 2017)",
                       lambda: spectral_margin_bound(module, ds.x.flatten(1), margins, delta)),
                      ("ℓ1 path norm (Neyshabur et al. 2015)",
                       lambda: path_norm_bound(module, ds.x.flatten(1), margins, delta))):
        try:
            b = fn_()
            out.append({"name": name, "value": b.value, "empirical": b.empirical, "statement": b.statement,
                        "reference": True})
        except (ValueError, TypeError, RuntimeError) as err:  # stated for piecewise-linear nets / MLPs only
            out.append({"name": name, "value": None, "reference": True, "statement": f"not computed: {err}"})
    return out


def question_bound(ctx, spec: DiagnoseSpec, ds, module: nn.Module, key: str, kind: str,
                   ref: dict[str, Any]) -> dict[str, Any]:
    if kind != "ce":
        from .bound_regression import regression_bounds
        return regression_bounds(ctx, spec, ds, module, key, ref)
    delta = spec.delta
    k = 4 if spec.subspace_dims else 3  # certificates the headline takes the minimum of: test set, PAC-Bayes,
    each = delta / k                    # compression (, subspace) — each at δ/k, so the minimum holds at δ
    ctx.log("diagnose: question 3 — bounds (test set, PAC-Bayes, compression, reference)")
    base, origin = _base(spec, ds)

    def fn(_: Path) -> dict[str, Any]:
        n_test, wrong = len(ds.y_test), len(ref.get("test_wrong", []))
        out: dict[str, Any] = {"bounds": []}
        out["bounds"].append({"name": "test set (Langford 2005)", "value": test_set_bound(wrong, n_test, each),
                              "empirical": wrong / n_test, "statement": f"the model was fixed before its {n_test} test "
                              f"examples were drawn i.i.d.; binomial tail inversion of its test errors, at δ/{k}"})
        prior = _prior(module, base, spec)
        pb = optimize_pac_bayes(module, F.cross_entropy, ds.x, ds.y, prior_mean=prior, n_iters=spec.pac_bayes_iters,
                                lr_std=3e-2, seed=0, delta=each / 2, delta_mc=each / 2, mc_passes=10,
                                mc_batch_size=20, x_test=ds.x_test, y_test=ds.y_test)
        charged = sorted(pb.posterior_mean)
        out["bounds"].append({"name": "PAC-Bayes, optimized (Dziugaite & Roy 2017)", "value": pb.bound,
                              "empirical": pb.mc_error, "kl": pb.kl, "stochastic_test_error": pb.stochastic_test_error,
                              "charged": charged,
                              "statement": f"for the stochastic net N(w, diag s²) over all {len(charged)} parameter and "
                              f"buffer tensors, prior centred at {'--init' if spec.init else 'zero weights'} (buffers "
                              f"at {origin}; variance from a grid, union-bounded); δ/{k} split {each / 2:.3g} "
                              f"PAC-Bayes + {each / 2:.3g} Monte-Carlo ({pb.mc_samples} sampled nets)"})
        c = _compression(module, ds, each, base)
        out["bounds"].append({"name": "compression (Occam; Lotfi et al. 2022)", "value": c["bound"],
                              "empirical": c["train_errors_quantized"] / len(ds.y), "bits": c["bits"],
                              "test_error_quantized": c["test_error_quantized"],
                              "statement": c["statement"] + f"; decoded from the code and {origin}, at δ/{k}"})
        out["bounds"] += _references(module, ds, delta)
        return out

    res = ctx.cell({"stage": "bounds"}, fn, model=key, data=spec.data, delta=delta,
                   init=file_digest(spec.init) if spec.init else None, iters=spec.pac_bayes_iters,
                   charges="every tensor", union=k)
    bounds = [dict(b) for b in res["bounds"]]
    sub = _subspace(ctx, spec, ds, each, key) if spec.subspace_dims else None
    if sub is not None:
        at = next(i for i, b in enumerate(bounds) if b.get("reference"))
        bounds.insert(at, {"name": SUBSPACE, "value": sub["bound"], "empirical": sub["train_error"], "bits": sub["bits"],
                           "test_error_quantized": sub["test_error"], "statement": sub["statement"] + f", at δ/{k}",
                           "sibling": True, "rows": sub["rows"], "dim": sub["dim"], "levels": sub["levels"]})
    certified = [b for b in bounds if b["value"] is not None and not b.get("reference")]
    tight = min(certified, key=lambda b: b["value"])
    yard = bounds[0]["value"]
    guess = trivial_error(ds.y)
    learned = [b for b in certified if b is not bounds[0] and b["value"] < VACUOUS]
    yours = [b for b in learned if not b.get("sibling")]
    n = len(ds.y)

    def against_guessing(value: float) -> str:
        return (f" — below 1, but no better than always guessing the most frequent class (error {guess:.3g}), so in "
                "effect vacuous" if value >= guess else
                f" — non-vacuous: below 1 and below the error of always guessing the most frequent class ({guess:.3g})")

    verdict = (f"with probability >= {1 - delta:g} all of the following hold at once (each of the {k} certificates at "
               f"δ/{k} = {each:.3g}, a union bound): the test error of your model is at most {show(yard)} (test-set "
               f"bound, the yardstick). ")
    if yours:
        best = min(yours, key=lambda b: b["value"])
        what = {"PAC": " (for the stochastic net around your weights)", "compression": " (for your weights quantized)"}
        verdict += (f"From the training data alone, for your weights, the tightest certificate is {best['name']}: "
                    f"{show(best['value'])}" + next((v for k_, v in what.items() if k_ in best["name"]), "")
                    + against_guessing(best["value"]) + ". ")
    else:
        pb = next((b for b in bounds if b["name"].startswith("PAC-Bayes")), {})
        comp = next((b for b in bounds if b["name"].startswith("compression")), {})
        why = []
        if pb.get("kl") is not None:
            why.append(f"the best Gaussian posterior around your weights still costs KL = {pb['kl']:.3g} nats against "
                       f"the prior {'at your --init' if spec.init else 'at zero (give --init to centre it at your initialization)'}")
        if comp.get("bits") is not None:
            why.append(f"your quantized weights take {comp['bits']:.3g} bits = {comp['bits'] * math.log(2):.3g} nats")
        verdict += ("No bound on your own weights computed from the training data alone is non-vacuous (each is at its "
                    f"ceiling of 1 or above): {'; '.join(why)}, for {n} training examples — a certificate below 1 "
                    "needs that cost well under the number of examples (more data, or weights that stay closer to "
                    "the prior). ")
    if sub is not None:
        verdict += (f"For your architecture: a sibling trained in a random {sub['dim']}-dimensional subspace around "
                    f"{sub['origin']} and quantized to {sub['levels']} values ({sub['bits']} bits; its test error "
                    f"{_plain(sub['test_error'])}, yours {_plain(len(ref.get('test_wrong', [])) / len(ds.y_test))}) is "
                    f"certified at {show(sub['bound'])}" + (against_guessing(sub["bound"]) if sub["bound"] < VACUOUS
                                                             else " — vacuous") + ".")
    return {"bounds": bounds, "tightest": tight["name"], "delta": delta, "delta_each": each, "union": k,
            "trivial_error": guess, "non_vacuous": [b["name"] for b in learned],
            "below_guessing": [b["name"] for b in learned if b["value"] < guess], "verdict": verdict.strip()}


def bound_html(q: dict[str, Any]) -> list[str]:
    e = html.escape
    parts = ["<h2>3. What error bound can I certify?</h2>", f"<div class='answer'>{e(q['verdict'])}</div>",
             "<table><tr><th>bound</th><th>value</th><th>empirical term</th><th>assumptions</th></tr>"]
    value = (lambda v: "—" if v is None else f"{v:.4g}") if q.get("regression") else show
    for b in q["bounds"]:
        parts.append(f"<tr><td>{e(b['name'])}{' (reference)' if b.get('reference') else ''}</td>"
                     f"<td>{e(value(b['value']))}</td><td>{e(_plain(b.get('empirical')))}</td>"
                     f"<td class='note'>{e(b['statement'])}</td></tr>")
    parts.append("</table>")
    sub = next((b for b in q["bounds"] if b.get("sibling") and b.get("rows")), None)
    if sub is not None:
        parts.append("<p class='note'>The subspace search (each row: the architecture trained in a random subspace of "
                     "that dimension, quantized with quantization-aware training; every bound charges the search):</p>"
                     "<table><tr><th>dimension</th><th>codebook</th><th>bits</th><th>train error (float → quantized)"
                     "</th><th>test error</th><th>bound</th></tr>")
        for r in sub["rows"]:
            chosen = r["dim"] == sub["dim"] and r["levels"] == sub["levels"]
            parts.append(f"<tr{' class=chosen' if chosen else ''}><td>{r['dim']}</td><td>{r['levels']}</td>"
                         f"<td>{r['bits']}</td><td>{_plain(r['float_train_error'])} → {_plain(r['train_error'])}</td>"
                         f"<td>{_plain(r['test_error'])}</td><td>{e(show(r['bound']))}{' ◀' if chosen else ''}</td></tr>")
        parts.append("</table>")
    return parts
