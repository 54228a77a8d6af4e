"""A diagnosis' tables as plain rows (and DataFrames through ``Diagnosis.*_frame``): per-layer weight spectra,
curvature, the candidates of question 1, each estimate beside its interval.

    >>> report = wn.diagnose(model, (x, y, x_test, y_test), questions=("simpler", "parameters"))
    >>> report.spectra_frame()      # one row per (model, layer): alpha, its 95% bootstrap interval, fit verdict, …
    >>> report.curvature_frame()    # one row per curvature measure (the trace with its interval)
    >>> report.simpler_frame()      # one row per candidate: size, test score, 95% interval, within epsilon?
"""

from __future__ import annotations

from typing import Any

__all__ = ["spectra_rows", "curvature_rows", "simpler_rows"]

_LAYER = ("kind", "N", "M", "num_evals", "alpha", "alpha_weighted", "log_norm", "log_spectral_norm", "stable_rank",
          "mp_softrank", "num_spikes", "lambda_max", "xmin", "n_tail")
_MODELS = (("yours", "yours"), ("at_init", "at initialization"), ("random_labels", "trained on random labels"))


def _parameters(record: dict[str, Any]) -> dict[str, Any]:
    answer = (record.get("answers") or {}).get("parameters")
    if answer is None:
        from whynets.errors import WhynetsError

        raise WhynetsError("this diagnosis did not answer question 4 (parameters); run it with "
                           "questions=(..., 'parameters') for the per-layer spectra and curvature")
    return answer


def spectra_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Per layer of your model and of the two controls: α with its 95% bootstrap interval (``alpha_lo``,
    ``alpha_hi``), the power-law fit's verdict, norms, stable rank, spikes above the Marchenko–Pastur edge."""
    spectra = _parameters(record)["spectra"]
    rows = []
    for key, model in _MODELS:
        if not spectra.get(key):
            continue
        for layer in spectra[key]["layers"]:
            ci = layer.get("alpha_ci") or [None, None]
            verdict = layer.get("verdict")
            rows.append({"model": model, "layer": layer["name"], "shape": "x".join(str(s) for s in layer["shape"]),
                         **{k: layer.get(k) for k in _LAYER}, "alpha_lo": ci[0], "alpha_hi": ci[1],
                         "fit": verdict.get("verdict") if isinstance(verdict, dict) else verdict})
    return rows


def curvature_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per curvature measure of the training loss: value, and an interval where it has one (the trace)."""
    c = _parameters(record)["curvature"]
    notes = _parameters(record).get("notes", {})
    rows = []
    for k in ("lambda_max", "trace", "n_eff", "fisher_trace", "eps_sharpness", "l2_sharpness", "adaptive_sharpness"):
        v = c.get(k)
        if v is None:
            continue
        if isinstance(v, dict):
            lo, hi = v.get("interval") or [None, None]
            rows.append({"measure": k, "value": v.get("estimate"), "lo": lo, "hi": hi, "examples": c.get("examples"),
                         "note": notes.get(k, "")})
        else:
            rows.append({"measure": k, "value": v, "lo": None, "hi": None, "examples": c.get("examples"),
                         "note": notes.get(k, "")})
    for i, v in enumerate(c.get("top_eigenvalues") or []):
        rows.append({"measure": f"eigenvalue_{i + 1}", "value": v, "lo": None, "hi": None,
                     "examples": c.get("examples"), "note": "Lanczos top-k of the Hessian"})
    return rows


def simpler_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Question 1's candidates (tickets, controls, students, classical baselines): size, the test score's estimate
    and 95% interval, and whether it reaches your score within ε."""
    answer = (record.get("answers") or {}).get("simpler")
    if answer is None:
        from whynets.errors import WhynetsError

        raise WhynetsError("this diagnosis did not answer question 1 (simpler); run it with "
                           "questions=('simpler', ...)")
    return [{"kind": p["kind"], "name": p["name"], "size": p["size"], "size_note": p.get("size_note"),
             "estimate": p["estimate"], "lo": p["interval"][0], "hi": p["interval"][1], "within_epsilon": p["verdict"],
             "method": p.get("method")} for p in sorted(answer["points"], key=lambda p: p["size"])]
