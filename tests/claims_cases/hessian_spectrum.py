"""Refutation cases for hessian-spectrum (Sagun et al. 2017/2018; Papyan 2019): about C outliers above a bulk near
zero, the bulk's share growing with width, small negative eigenvalues. C = 10; widths 8, 16, 32 with 6 seeds."""

from claims_cases._case import Case

WIDTHS = (8, 16, 32)


def record(counts=(10,) * 24, bulk=(0.41, 0.48, 0.59), neg=0.01, stopped=True):
    """``counts``: k* of each in-window measurement; ``bulk``: bulk share per width (seeds ±.01); ``neg``:
    |λ_min|/λ_max at the end of training."""
    sweep = {str(w): {"bulk_share": b, "members": [{"bulk_share": b + 0.01 * (i % 3 - 1), "train_loss": 1.4,
                                                    "stop_step": 500 if stopped else None, "neg_ratio": neg,
                                                    "init_min": -0.1, "init_max": 1.0} for i in range(6)]}
             for w, b in zip(WIDTHS, bulk)}
    return {"n_classes": 10, "outliers": {"points": [{"outliers": k} for k in counts]}, "sweep": sweep}


CASES = [
    Case(claim="hessian-spectrum/outliers-about-C", status="PASS", results=lambda: record(counts=(10,) * 20 + (9,) * 4),
         why="the eigengap falls after 10 = C outliers in most measurements"),
    Case(claim="hessian-spectrum/outliers-about-C", status="EXPECTED-FAIL", results=record(counts=(8,) * 18 + (7,) * 6),
         why="k* = 8: two of ten class outliers merge with the bulk, inside the predicted [5, 9]"),
    Case(claim="hessian-spectrum/outliers-about-C", status="FAIL", results=lambda: record(counts=(2,) * 24),
         why="k* = 2: no class structure in the outliers, outside both C ± 1 and the predicted [5, 9]"),
    Case(claim="hessian-spectrum/outliers-about-C", status="FAIL", results=lambda: record(counts=(20,) * 24),
         why="k* = 20 = 2C: more outliers than classes, outside both ranges"),
    Case(claim="hessian-spectrum/bulk-near-zero", status="PASS", results=record(),
         why="41-59% of the eigenvalues sit near zero"),
    Case(claim="hessian-spectrum/bulk-near-zero", status="FAIL", results=lambda: record(bulk=(0.1, 0.12, 0.15)),
         why="only 10-15% of the eigenvalues near zero: no bulk"),
    Case(claim="hessian-spectrum/bulk-grows-with-width", status="PASS", results=record(),
         why="the bulk share rises 41% → 59% from width 8 to 32 at a matched loss"),
    Case(claim="hessian-spectrum/bulk-grows-with-width", status="FAIL", results=lambda: record(bulk=(0.6, 0.5, 0.4)),
         why="the bulk share falls with width"),
    Case(claim="hessian-spectrum/bulk-grows-with-width", status="FAIL", results=lambda: record(stopped=False),
         why="no member reached the matched loss: the comparison's premise fails"),
    Case(claim="hessian-spectrum/small-negative", status="PASS", results=record(),
         why="|λ_min| is 1% of λ_max in every run"),
    Case(claim="hessian-spectrum/small-negative", status="FAIL", results=lambda: record(neg=0.3),
         why="|λ_min| is 30% of λ_max: large negative curvature at the end of training"),
]
