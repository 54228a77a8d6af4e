"""Refutation cases for stability (Hardt, Recht & Singer 2016): the convex divergence and loss-stability bounds at
every logged step, and the MLP compared across training-set sizes and step sizes at one step count."""

from claims_cases._case import Case, spread

STEPS = [0, 1, 10, 100, 1000]


def _convex(ratio=0.3, loss_ratio=0.1, at=None):
    """Per logged step, 8 pairs whose divergence is ``ratio`` × the bound (``at``: only from that step on)."""
    bound = [0.0, 0.01, 0.1, 1.0, 10.0]
    loss_bound = [0.0, 0.02, 0.2, 2.0, 20.0]
    r = lambda i, x: x if at is None or STEPS[i] >= at else 0.3  # noqa: E731
    return {"steps": STEPS, "bound": bound, "loss_bound": loss_bound, "lipschitz": 2.0, "smoothness": 4.0, "lr": 0.25,
            "divergence": [spread(r(i, ratio) * b, 8, 0.01 * b) for i, b in enumerate(bound)],
            "loss_change": [spread(r(i, loss_ratio) * b, 8, 0.01 * b) for i, b in enumerate(loss_bound)],
            "gap": [spread(0.05, 8, 0.01) for _ in STEPS]}


def _conditions(div=None, gap=None):
    """MLP conditions (n, lr) with their final divergence and gap over 16 pairs; by default both follow lr/n."""
    out = []
    for n, lr in ((250, 0.05), (500, 0.05), (1000, 0.05), (500, 0.025), (500, 0.1)):
        scale = 100 * lr / n  # 0.02 at n = 250, lr .05; 0.01 at the base
        d = (div or {}).get((n, lr), 1.0 + 50 * scale)
        g = (gap or {}).get((n, lr), 0.5 + 100 * scale)
        out.append({"n": n, "lr": lr, "steps": 1000, "seeds": list(range(16)), "divergence": spread(d, 16, 0.05),
                    "gap": spread(g, 16, 0.05)})
    return out


def record(convex=None, div=None, gap=None):
    return {"n": 500, "pairs": 8, "convex": convex or _convex(), "mlp_conditions": _conditions(div, gap)}


CASES = [
    Case(claim="stability/convex-divergence-bound", status="PASS", results=record(),
         why="the divergence is 0.3 of (2L/n)Σα at every logged step"),
    Case(claim="stability/convex-divergence-bound", status="FAIL", results=lambda: record(convex=_convex(ratio=1.5,
                                                                                                          at=100)),
         why="from step 100 the divergence is 1.5x the bound: the bound does not hold"),
    Case(claim="stability/convex-loss-stability", status="PASS", results=record(),
         why="the loss change is 0.1 of ε_stab at every logged step"),
    Case(claim="stability/convex-loss-stability", status="FAIL", results=lambda: record(convex=_convex(loss_ratio=2.0)),
         why="the loss change is twice ε_stab"),
    Case(claim="stability/mlp-divergence-grows", status="PASS", results=record(),
         why="the final divergence grows with lr/n along both axes (1.5 at n=500, lr .05; 2 at n=250)"),
    Case(claim="stability/mlp-divergence-grows", status="FAIL", results=lambda: record(div={(250, 0.05): 1.0}),
         why="the divergence at n=250 is below that at n=500: it does not fall with n"),
    Case(claim="stability/mlp-divergence-tracks-gap", status="PASS", results=record(),
         why="along n and lr the gap rises wherever the divergence does"),
    Case(claim="stability/mlp-divergence-tracks-gap", status="FAIL",
         results=lambda: record(gap={(500, 0.1): 0.6, (500, 0.025): 1.9}),
         why="a larger step drives the runs apart but the gap falls with it: the gap does not move with the "
             "divergence"),
]
