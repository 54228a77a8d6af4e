"""effective-dimensionality: the smoke run end to end; a padded member's Hessian is the narrow net's own."""

import json
from dataclasses import replace

import torch
import torch.nn.functional as F

from whynets.data import load
from whynets.engine import population_for, train
from whynets.experiments.effective_dimensionality import EXPERIMENT, lanczos_seed
from whynets.measure.effdim import effective_dimensionality
from whynets.measure.lanczos import hessian_eigenpairs


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("effective-dimensionality")
    assert {c["id"] for c in record["claims"]} == {"effective-dimensionality/test-loss-double-descent",
                                                   "effective-dimensionality/neff-tracks-test-loss",
                                                   "effective-dimensionality/params-grow-neff-falls"}
    res = record["results"]
    # a 40-h-h-10 MLP has 40h + h + h^2 + h + 10h + 10 parameters
    assert res["params"] == [h * h + 52 * h + 10 for h in res["widths"]]
    assert all(0 <= n <= 5 for n in res["n_eff"])  # at most one per eigenvalue kept (top_k = 5)
    folder = smoke.folder("effective-dimensionality") / "figures"
    assert (folder / "effective_dimensionality.png").stat().st_size > 1000
    assert json.loads((folder / "effective_dimensionality.json").read_text())["n_eff"] == res["n_eff"]


def test_padded_member_has_the_hessian_of_the_net_trained_alone(smoke):
    # padding is exact: width 4 trained inside a population padded to 8 is the width-4 net trained alone, so its
    # top Hessian eigenvalues (same Lanczos start) and N_eff agree to float rounding
    record = smoke.record("effective-dimensionality")
    spec = EXPERIMENT.preset("smoke")
    ds = load(spec.data)
    pop = population_for(replace(spec.model, width=4), ds, [0])
    train(pop, ds, spec.train)
    alone = hessian_eigenpairs(pop.member(0).eval(), F.cross_entropy, [(ds.x, ds.y)], k=spec.top_k,
                               max_steps=spec.lanczos_steps, tol=spec.lanczos_tol, criterion="eigenvalue",
                               seed=lanczos_seed(4, 0)).eigenvalues.double()
    padded = torch.tensor(record["results"]["per_seed"]["4"][0]["eigenvalues"], dtype=torch.float64)
    assert torch.allclose(padded, alone, rtol=1e-3, atol=1e-5), (padded, alone)
    assert abs(effective_dimensionality(alone, spec.z) - record["results"]["n_eff"][1]) < 1e-3
