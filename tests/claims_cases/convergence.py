"""Refutation cases for convergence (Du et al. 2019): the step against λ_max, the log-linear fit of the loss, its slope
against −η·λ_min of the kernel, and λ_min at the end. The record holds only what ``claims()`` reads, per member."""

from claims_cases._case import Case


def member(k, r2=0.9993, ratio=2.2, eta_lmax=0.87, lam_min=0.038, kept=0.99, fitted=True):
    slope = -ratio * 0.4 * lam_min
    return {"fit": {"slope": slope, "r2": r2 - 0.0001 * k, "points": 60} if fitted else None,
            "rate_ratio": ratio + 0.05 * k if fitted else None, "eta_lambda_max": eta_lmax, "lambda_min": lam_min,
            "linearized_slope": -0.034, "final_over_initial": 1e-16,
            "end": {"lambda_min": kept * lam_min, "lambda_max": 2.0, "change": 0.8 * lam_min}}


def record(**kw):
    return {"members": [member(k, **kw) for k in range(3)], "analytic": [0.042, 1.86], "lr": 0.4}


CASES = [
    Case(claim="convergence/step-below-one-over-lambda-max", status="PASS", results=record(),
         why="η·λ_max(Θ(0)) = 0.87: every mode decays monotonically"),
    Case(claim="convergence/step-below-one-over-lambda-max", status="FAIL", results=lambda: record(eta_lmax=1.6),
         why="η·λ_max = 1.6: the top mode overshoots, the premise of a monotone linear rate fails"),
    Case(claim="convergence/linear-rate", status="PASS", results=record(), why="R² = .999 in the fit window"),
    Case(claim="convergence/linear-rate", status="FAIL", results=lambda: record(r2=0.9),
         why="R² = .9: log L bends (a plateau or a slowing rate), not a straight line"),
    Case(claim="convergence/linear-rate", status="FAIL", results=lambda: record(fitted=False),
         why="the loss never entered the fit window: no linear convergence to speak of"),
    Case(claim="convergence/rate-set-by-lambda-min", status="PASS", results=record(),
         why="slope = 2.2 × (−ηλ_min): as fast as the linearized kernel dynamics predict"),
    Case(claim="convergence/rate-set-by-lambda-min", status="FAIL", results=lambda: record(ratio=0.4),
         why="slope = 0.4 × (−ηλ_min): slower than the kernel's smallest eigenvalue allows"),
    Case(claim="convergence/kernel-stays-near-init", status="PASS", results=record(),
         why="λ_min keeps 99% of its initial value"),
    Case(claim="convergence/kernel-stays-near-init", status="FAIL", results=lambda: record(kept=0.2),
         why="λ_min falls to 20% of its start: the kernel moved, the initial rate no longer holds"),
]
