"""lottery-ticket: the smoke run end to end; IMP's masks keep exactly the scheduled counts and are nested; the
random-mask control keeps the ticket's counts; pruned weights stay zero; and the oracle — a "ticket" with an
all-ones mask rewound to step 0 IS the dense net, bit for bit (so every difference the experiment reports comes
from the mask and the rewind point, nothing else)."""

import json
import math

import torch

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.engine.state import load_state, load_tensors
from whynets.experiments.context import Context
from whynets.experiments.lottery_ticket import ArmSpec, control_masks, retrain, rewind_points
from whynets.models import ModelSpec
from whynets.store import RunStore

NAME = "lottery-ticket"


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record(NAME)
    ids = {c["id"] for c in record["claims"]}
    assert ids == {f"{NAME}/{arm}-{what}" for arm in ("mlp", "cnn") for what in
                   ("ticket-matches-dense", "ticket-beats-random-mask", "ticket-beats-fresh-init")} | {
        f"{NAME}/mlp-rewinding-not-needed", f"{NAME}/cnn-late-rewinding-helps", f"{NAME}/cnn-unstable-at-init"}
    res = record["results"]
    for arm in ("mlp", "cnn"):
        a = res["arms"][arm]
        assert set(a["tickets"]) == {"0", "5"} and all(len(v) == 2 for v in a["tickets"].values())  # 2 rounds each
        assert set(a["random_mask"]) == set(a["fresh_init"]) == {"1", "2"}  # controls="all" in the smoke preset
        assert len(a["dense"]) == len(a["random_mask"]["2"]) == 2  # one value per seed
        assert a["remaining"][0] == 1.0 and a["remaining"] == sorted(a["remaining"], reverse=True)
    folder = smoke.folder(NAME)
    assert (folder / "figures" / "lottery_ticket.png").stat().st_size > 1000
    assert set(json.loads((folder / "figures" / "lottery_ticket.json").read_text())) == {"mlp", "cnn"}
    # the dense run continues the rewind chain 0 -> 5 (lineage), and round 1's masks are one cell for both chains
    lineage = {c["cell"]: c["parent"] for c in json.loads((folder / "cells.json").read_text())}
    dense = [k for k in lineage if k.startswith("arm=mlp,net=dense")]
    assert len(dense) == 1 and lineage[dense[0]].startswith("arm=mlp,rewind_point=5")
    assert res["arms"]["mlp"]["masks"]["0"][0] == res["arms"]["mlp"]["masks"]["5"][0]


def test_masks_keep_the_scheduled_counts_are_nested_and_stay_zero(smoke):
    record, spec = smoke.record(NAME), smoke.record(NAME)["spec"]
    cells = smoke.out / NAME / "cells"
    for arm, a in record["results"]["arms"].items():
        for k, keys in a["masks"].items():
            previous = None
            for r, key in enumerate(keys, start=1):
                tensors, _ = load_tensors(cells / key / "masks.safetensors")
                names = list(a["size"])
                for i, n in enumerate(names):
                    m = tensors[n].bool()
                    # sparsity after r rounds of rate p: 1 − (1 − p)^r, the output layer at p·output_factor; each
                    # member keeps exactly round((1 − s)·n) weights (halves up): integers, no tolerance
                    p = spec[arm]["rate"] * (spec[arm]["output_factor"] if i == len(names) - 1 else 1.0)
                    want = math.floor((1 - p) ** r * a["size"][n] + 0.5)
                    assert m.flatten(1).sum(1).tolist() == [want] * m.shape[0], (arm, k, r, n)
                    assert a["kept"][r - 1][n] == [want] * m.shape[0]
                    if previous is not None:
                        assert not (m & ~previous[n]).any()  # nested: a pruned weight never comes back
                previous = {n: tensors[n].bool() for n in names}
                # the random-mask control keeps every member's per-layer count, drawn independently of neighbours
                seeds = record["results"]["seeds"]
                rnd = control_masks(previous, seeds, r)
                alone = control_masks({n: t[:1] for n, t in previous.items()}, seeds[:1], r)
                for n in names:
                    assert torch.equal(rnd[n].flatten(1).sum(1), previous[n].flatten(1).sum(1))
                    assert torch.equal(alone[n][0], rnd[n][0])
                    assert not torch.equal(rnd[n], previous[n]) or bool(previous[n].all())
    # the engine keeps the pruned weights at exactly zero through training (round 1's ticket keeps its state)
    folder = smoke.folder(NAME)
    lineage = [c["cell"] for c in json.loads((folder / "cells.json").read_text())]
    key = next(k for k in lineage if k.startswith("arm=mlp,rewind=0,round=1,net=ticket"))
    state = load_state(cells / key / "state.safetensors")
    tensors, _ = load_tensors(cells / record["results"]["arms"]["mlp"]["masks"]["0"][0] / "masks.safetensors")
    for n, m in tensors.items():
        assert torch.count_nonzero(state.params[n][~m.bool()]) == 0
        assert torch.count_nonzero(state.params[n][m.bool()]) > 0.99 * int(m.sum())  # the survivors did train


def test_all_ones_ticket_rewound_to_zero_is_the_dense_net(tmp_path):
    """Oracle: with nothing pruned and the rewind at step 0, IMP's retraining is the dense run itself — same init,
    data order, schedule, and (at step 0) an empty optimizer state — so weights and accuracies agree bit for bit;
    and the dense run continued from the rewind chain (0 -> 7 -> T) is the run from scratch, bit for bit."""
    data = DataSpec(n_train=120, n_test=60)
    for arm in (ArmSpec(model=ModelSpec(kind="mlp", width=12), rewind_step=7,
                        train=TrainSpec(lr=3e-3, batch_size=40, steps=15, eval_points=3)),
                ArmSpec(model=ModelSpec(kind="cnn1d", width=4), rewind_step=7, ticket="late",
                        train=TrainSpec(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=40, steps=15,
                                        eval_points=3))):
        ctx = Context(RunStore(tmp_path, NAME, arm), "cpu")
        seeds = [3, 4]
        points, dense = rewind_points(ctx, arm.model.kind, arm, data, seeds)
        scratch = ctx.train({"from": "scratch"}, arm.model, data, arm.train, seeds, keep_state=True)
        ones = {n: torch.ones_like(p, dtype=torch.bool) for n, p in ctx.state(dense).params.items() if p.dim() > 2}
        ticket = retrain(ctx, {"ticket": "all-ones"}, arm, data, seeds, points[0], ones, keep_state=True)
        a, b, c = ctx.state(dense).params, ctx.state(scratch).params, ctx.state(ticket).params
        for n in a:
            assert torch.equal(a[n], b[n]) and torch.equal(a[n], c[n]), (arm.model.kind, n)
        assert dense["final"]["test_acc"] == scratch["final"]["test_acc"] == ticket["final"]["test_acc"]
        # and the rewind is real: the same all-ones net rewound to step 7 with fresh moments is a different run
        late = retrain(ctx, {"ticket": "all-ones", "k": 7}, arm, data, seeds, points[7], ones, keep_state=True)
        assert not torch.equal(ctx.state(late).params[next(iter(ones))], a[next(iter(ones))])
