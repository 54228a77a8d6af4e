"""Refutation cases for measures (Jiang et al. 2020): over a zoo of fitted models, the PAC-Bayes flatness measure
ranks the generalization gap better than the spectral-norm product and the parameter count. 30 models."""

import math

from claims_cases._case import Case

P, SPEC, PARAMS = "pacbayes.mag.flatness", "log.prod.of.spec", "params"


def record(primary=1.0, spectral=-1.0, params=-1.0, n=30, fitted=30, psi=0.5):
    """Model i has gap i/n; a measure with sign s is s·gap plus a fixed wiggle (s = 1: perfect ranking, 0: none)."""
    models = []
    for i in range(n):
        gap = i / n
        wiggle = math.sin(7.0 * i)
        m = {P: primary * gap + 0.01 * wiggle, SPEC: spectral * gap + 0.5 * wiggle, PARAMS: params * gap + 0.01 * wiggle}
        models.append({"cell": {"width": i % 5, "lr": i // 5}, "fitted": i < fitted, "gap": gap, "measures": m})
    return {"models": models, "n_models": n, "n_fitted": fitted, "fit_loss": 0.01,
            "tau": {P: primary, SPEC: spectral, PARAMS: params}, "psi": {P: psi},
            "granulated": {P: {"width": psi, "lr": psi}}}


CASES = [
    Case(claim="measures/matched-fit", status="PASS", results=record(), why="30 models, all fitted to CE 0.01"),
    Case(claim="measures/matched-fit", status="FAIL", results=lambda: record(fitted=10), why="only 10 models fitted"),
    Case(claim="measures/primary-beats-norms", status="PASS", results=record(),
         why="the flatness measure ranks the gap perfectly, the spectral product and params inversely"),
    Case(claim="measures/primary-beats-norms", status="FAIL", results=lambda: record(primary=0.0, spectral=1.0),
         why="the spectral product ranks the gap and the flatness measure does not"),
    Case(claim="measures/primary-beats-norms", status="FAIL", results=lambda: record(fitted=2),
         why="2 fitted models: nothing to rank"),
    Case(claim="measures/norms-poor", status="PASS", results=record(),
         why="the spectral product and params have τ < 0.2 (reported)"),
    Case(claim="measures/norms-poor", status="FAIL", results=lambda: record(spectral=1.0, params=1.0),
         why="the spectral product and params rank the gap perfectly (reported)"),
    Case(claim="measures/granulated", status="PASS", results=record(), why="Ψ = 0.5 > 0 (reported)"),
    Case(claim="measures/granulated", status="FAIL", results=lambda: record(psi=-0.3), why="Ψ = −0.3 (reported)"),
]
