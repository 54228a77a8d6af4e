"""mode-connectivity: the smoke run end to end; a convex model has no loss barrier; spawned copies share their start."""

import json

import whynets as wn
from whynets.experiments.mode_connectivity import child_seeds, onset


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("mode-connectivity")
    ids = {c["id"] for c in record["claims"]}
    assert {"mode-connectivity/unstable-at-init", "mode-connectivity/stable-early",
            "mode-connectivity/independent-inits-not-connected", "mode-connectivity/mlp-stable-at-init"} == ids
    folder = smoke.folder("mode-connectivity") / "figures"
    assert (folder / "mode_connectivity.png").stat().st_size > 1000
    data = json.loads((folder / "mode_connectivity.json").read_text())
    assert data["spawn_steps"] == [0, 10] and len(data["t"]) == 5
    # every path starts and ends at the two children: the barrier is measured from the end points' chord, so >= 0
    assert all(b >= 0 for row in record["results"]["barrier"] for b in row)


def test_convex_model_has_no_loss_barrier(tmp_path):
    # the loss of multinomial logistic regression is convex in its parameters: along the straight line between any
    # two solutions it stays below the chord, so the loss barrier is exactly 0 (the maximum is at the end points)
    record = wn.run("mode-connectivity", preset="smoke", out=tmp_path, device="cpu",
                    overrides=["model.kind=logistic", "control_lr=0"], escalate=False)
    barriers = [b for row in record["results"]["loss_barrier"] for b in row]
    assert len(barriers) == 4 and max(barriers) <= 1e-6
    assert "control" not in record["results"]


def test_children_get_distinct_data_orders_and_onset_reads_the_first_stable_k():
    seeds = [s for p in (0, 1, 2) for s in child_seeds(p)]
    assert len(set(seeds)) == 6 and not {0, 1, 2} & set(seeds)
    results = {"spawn_steps": [0, 10, 30, 100], "mean_barrier": [5.0, 1.0, 3.0, 0.5]}
    assert onset(results, 2.0) == 100  # a dip below the line at k = 10 that comes back up does not count
    assert onset(dict(results, mean_barrier=[0.1, 0.2, 0.0, 0.0]), 2.0) == 0
    assert onset(dict(results, mean_barrier=[5.0, 5.0, 5.0, 5.0]), 2.0) is None
