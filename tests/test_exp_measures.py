"""measures (Jiang et al. 2020): the smoke run end to end; Kendall τ against scipy; a measure equal to the gap has
τ = 1 (plain, bootstrapped and granulated); the parameter count is constant within a fixed-architecture slice;
the magnitude-aware σ' of a one-example classifier against its Gaussian closed form; the Hessian measures of a tiny
net against its exact Hessian."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import kendalltau, norm
from torch import nn

from whynets.experiments.measures import (AXES, EXPERIMENT, MEASURES, MeasureSettings, MeasuresSpec, claims,
                                          granulated_tau, grid_cells, model_measures, summarize)
from whynets.measure.sharpness import magnitude_aware_sigma
from whynets.stats import kendall_tau

IDS = {"measures/matched-fit", "measures/primary-beats-norms", "measures/norms-poor", "measures/granulated"}


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("measures")
    assert {c["id"] for c in record["claims"]} == IDS
    res = record["results"]
    spec = EXPERIMENT.preset("smoke")
    assert res["n_models"] == len(grid_cells(spec)) * len(spec.seeds) == len(res["models"])
    for m in res["models"]:
        assert set(m["measures"]) == set(MEASURES) and all(math.isfinite(v) for v in m["measures"].values())
        # the smoke MLP 40-h-10 has 40h + h + 10h + 10 parameters
        assert m["measures"]["params"] == 51 * m["cell"]["width"] + 10
        assert m["gap"] == pytest.approx(m["train_acc"] - m["test_acc"])
        if m["fitted"]:  # frozen at its first check with train cross-entropy <= fit_loss
            assert m["train_loss"] <= spec.train.fit_loss
    assert all(-1 <= t <= 1 for t in res["tau"].values())
    folder = smoke.folder("measures") / "figures"
    assert (folder / "measures.png").stat().st_size > 1000
    assert json.loads((folder / "measures.json").read_text())["tau"] == sorted(res["tau"].values())


def test_kendall_tau_is_scipys_tau_b_with_ties():
    rng = np.random.default_rng(1)
    for n in (5, 17, 40):
        a = rng.integers(0, 4, n)
        b = rng.integers(0, 6, n) + 0.5 * a  # many ties in both, some association
        assert kendall_tau(a, b) == pytest.approx(kendalltau(a, b).statistic, abs=1e-12)
    assert kendall_tau([1, 1, 1], [0.2, 0.5, 0.1]) == 0.0  # a constant measure says nothing (Jiang: 0.000)
    with pytest.raises(ValueError, match="equal length"):
        kendall_tau([1, 2], [1, 2, 3])


def _star_models(spec: MeasuresSpec, seeds: int = 2, seed: int = 0) -> list[dict]:
    """Synthetic models on the quick star grid: a random gap, ``params`` from the architecture (40-h…h-10 MLP), and
    the primary measure equal to the gap itself."""
    rng = np.random.default_rng(seed)
    models = []
    for cell in grid_cells(spec):
        h, d = cell["width"], cell["depth"]
        for s in range(seeds):
            gap = float(rng.uniform(0.3, 0.7))
            vals = {name: float(rng.normal()) for name in MEASURES}
            vals.update({"params": float(40 * h + h + (d - 1) * (h * h + h) + 10 * h + 10), spec.primary: gap})
            models.append({"cell": dict(cell), "seed": s, "measures": vals, "gap": gap, "fitted": True})
    return models


def test_a_measure_equal_to_the_gap_has_tau_one_and_params_are_flat_within_an_architecture():
    spec = EXPERIMENT.preset("quick")
    res = summarize(_star_models(spec, seeds=3), n_boot=300)
    res["fit_loss"] = spec.train.fit_loss
    p = spec.primary
    # τ_b of a variable with itself is exactly 1, also on every bootstrap resample (duplicates tie in both)
    assert res["tau"][p] == 1.0 and res["tau_interval"][p] == [1.0, 1.0]
    assert all(res["granulated"][p][a] == 1.0 for a in AXES) and res["psi"][p] == 1.0
    # the parameter count depends on width and depth only: constant where lr, batch or wd vary, so ψ = 0 there
    assert all(res["granulated"]["params"][a] == 0.0 for a in ("lr", "batch", "wd"))
    by_claim = {c.id: c for c in claims(res, spec)}
    top = by_claim["measures/primary-beats-norms"]
    corr = next(c for c in top.checks if c.name.endswith("with the gap"))
    assert (corr.interval.estimate, corr.interval.lo, corr.interval.hi) == (1.0, 1.0, 1.0) and top.verdict == "pass"
    assert by_claim["measures/matched-fit"].checks[0].interval.estimate == 33  # 11 cells × 3 seeds, all fitted
    assert by_claim["measures/matched-fit"].verdict == "pass"


def test_magnitude_aware_sigma_matches_the_gaussian_closed_form():
    # one example x = 1 of class 0, logits (w0·x + b0, w1·x + b1) with w = (2, 0), b = 0: under u_i ~ N(0, σ²w_i² +
    # ε²) the margin is N(2, σ²·4 + 4ε²), so the accuracy drop is Φ(−2 / sqrt(4σ² + 4ε²)); it equals the target
    # 0.1 at σ* = sqrt((2 / (2·z))² − ε²), z = Φ⁻¹(0.9)
    net = nn.Linear(1, 2).double()
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[2.0], [0.0]]))
        net.bias.zero_()
    x, y = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.long)
    eps, samples = 1e-3, 2000
    sigma = magnitude_aware_sigma(net, x, y, target=0.1, eps=eps, samples=samples, steps=14, seed=3)
    z = norm.ppf(0.9)
    exact = math.sqrt((1 / z) ** 2 - eps ** 2)
    # Monte-Carlo error: the drop is a mean of `samples` Bernoulli(0.1) draws, SE sqrt(.09/2000) = 0.0067, and
    # d(drop)/dσ = φ(z)·z/σ* = 0.29 at σ*, so σ has SE ≈ 0.023; 4.5 SE plus the bisection's 2/2^14
    tol = 4.5 * math.sqrt(0.09 / samples) / (norm.pdf(z) * z / exact) + 2 / 2 ** 14
    assert abs(sigma - exact) < tol, (sigma, exact)


def test_hessian_and_norm_measures_of_a_tiny_net_match_its_exact_hessian():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3)).double()
    init = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3)).double()
    init.load_state_dict(net.state_dict())
    with torch.no_grad():
        for m in init:
            if isinstance(m, nn.Linear):
                m.weight.sub_(0.1)  # every weight 0.1 from its initialization
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(30, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=gen)
    n_params = sum(p.numel() for p in net.parameters())  # 27
    s = MeasureSettings(top_k=5, lanczos_steps=n_params, lanczos_tol=1e-10, trace_matvecs=3 * n_params,
                        flatness_samples=2, flatness_steps=4)
    got = model_measures(net, init, x, y, s, seed=0)
    names = [k for k, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss(theta):
        pieces = theta.split([math.prod(sh) for sh in shapes])
        parts = {k: t.reshape(sh) for k, t, sh in zip(names, pieces, shapes)}
        return F.cross_entropy(torch.func.functional_call(net, parts, (x,)), y)

    H = torch.autograd.functional.hessian(loss, flat)
    lam = torch.linalg.eigvalsh(H).flip(0)[:5].clamp_min(0)
    # Hutch++ with a sketch as large as the space is exact; Lanczos over the whole Krylov space to 1e-10 residual
    assert got["hessian.trace"] == pytest.approx(float(torch.trace(H)), rel=1e-8, abs=1e-10)
    assert got["hessian.lambda_max"] == pytest.approx(float(lam[0]), rel=1e-7)
    assert got["n_eff"] == pytest.approx(float((lam / (lam + s.neff_z)).sum()), rel=1e-7)
    assert got["laplace.occam"] == pytest.approx(0.5 * float(torch.log1p(30 * lam / s.prior_precision).sum()), rel=1e-7)
    assert got["params"] == n_params
    assert got["dist.init"] == pytest.approx(0.01 * (12 + 9), rel=1e-12)  # Σ (0.1)² over the 21 weights
    w = [m.weight.detach() for m in net if isinstance(m, nn.Linear)]
    assert got["log.prod.of.spec"] == pytest.approx(sum(2 * math.log(float(torch.linalg.svdvals(v)[0])) for v in w))
    margins = net(x).detach()
    margins = (margins.gather(1, y[:, None])[:, 0] - margins.scatter(1, y[:, None], -math.inf).max(1).values).sort()
    assert got["inverse.margin"] == pytest.approx(1 / float(margins.values[30 // 10 - 1].abs()) ** 2)


def test_grid_designs_and_their_errors():
    quick = EXPERIMENT.preset("quick")
    star = grid_cells(quick)
    assert len(star) == 1 + 2 * len(AXES)  # the centre and two other levels of each axis
    assert all(sum(c[a] != star[0][a] for a in AXES) == 1 for c in star[1:])  # one axis changed at a time
    full = EXPERIMENT.preset("full")
    assert len(grid_cells(full)) == 2 ** len(AXES)
    with pytest.raises(Exception, match="centre's width"):
        grid_cells(replace(quick, widths=(32, 64)))
    with pytest.raises(Exception, match="design"):
        grid_cells(replace(quick, design="latin"))
    models = _star_models(quick)
    # in a star each axis has one group (the centre's other settings): ψ is that group's τ
    group = [m for m in models if all(m["cell"][a] == star[0][a] for a in AXES if a != "width")]
    assert granulated_tau(models, "width", "params") == kendall_tau([m["measures"]["params"] for m in group],
                                                                    [m["gap"] for m in group])
