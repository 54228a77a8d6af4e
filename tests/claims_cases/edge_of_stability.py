"""Refutation cases for edge-of-stability (Cohen et al. 2021; Lewkowycz et al. 2020). The record holds only what
``claims()`` reads: per 2/η, each member's initial sharpness, the step where λ_max first reached 2/η, the median of
λ_max after it (in units of 2/η) and the loss ratio; per catapult step (η·λ₀), each run's peak/initial loss,
λ_max(end)·η/2, final/initial loss and divergence."""

from claims_cases._case import Case

LIMITS = (20.0, 30.0, 60.0)
BUDGETS = (1500, 2100, 4500)


def record(lam0=13.0, edge_at=0.3, median=1.05, loss_ratio=0.12, peak=19.0, lazy_peak=1.0, end=0.65, final=0.003,
           diverged=False):
    """``edge_at``: share of the budget at which λ_max first reached 2/η (None: never)."""
    edge = {}
    for limit, steps in zip(LIMITS, BUDGETS):
        members = [{"lambda0": lam0 + k, "edge_step": None if edge_at is None else int(edge_at * steps) + 10 * k,
                    "median_ratio": None if edge_at is None else median + 0.005 * k,
                    "loss_ratio": None if edge_at is None else loss_ratio + 0.01 * k} for k in range(3)]
        edge[str(limit)] = {"limit": limit, "steps": steps, "members": members}
    runs = {"1.0": {"factor": 1.0, "members": [{"peak_ratio": lazy_peak, "end_over_limit": 0.49, "diverged": False,
                                               "final_loss": 0.3, "final_ratio": 0.02} for _ in range(3)]},
            "3.0": {"factor": 3.0, "members": [{"peak_ratio": peak * (1 + 0.1 * k), "end_over_limit": end + 0.02 * k,
                                               "diverged": diverged, "final_loss": final * 16,
                                               "final_ratio": final * (1 + 0.1 * k)} for k in range(3)]}}
    return {"edge": edge, "catapult": {"lambda0": [1.6, 1.55, 1.62], "runs": runs}}


CASES = [
    Case(claim="edge-of-stability/progressive-sharpening", status="PASS", results=record(),
         why="λ_max starts at 13 and reaches every 2/η within a third of the run"),
    Case(claim="edge-of-stability/progressive-sharpening", status="FAIL", results=lambda: record(lam0=25.0),
         why="λ_max starts above 2/η = 20: nothing sharpens, GD starts unstable"),
    Case(claim="edge-of-stability/progressive-sharpening", status="FAIL", results=lambda: record(edge_at=None),
         why="λ_max never reaches 2/η within the budget"),
    Case(claim="edge-of-stability/progressive-sharpening", status="FAIL", results=lambda: record(edge_at=0.9),
         why="λ_max reaches 2/η only in the last tenth: no edge phase to speak of"),
    Case(claim="edge-of-stability/hovers-at-2-over-eta", status="PASS", results=record(),
         why="median λ_max after the crossing = 1.05 × 2/η"),
    Case(claim="edge-of-stability/hovers-at-2-over-eta", status="FAIL", results=lambda: record(median=1.6),
         why="λ_max overshoots to 1.6 × 2/η and stays: not held at the edge"),
    Case(claim="edge-of-stability/hovers-at-2-over-eta", status="FAIL", results=lambda: record(median=0.6),
         why="λ_max touches 2/η then falls back to 0.6 × 2/η: no hovering"),
    Case(claim="edge-of-stability/hovers-at-2-over-eta", status="FAIL", results=lambda: record(edge_at=None),
         why="never at the edge: the premise of the claim fails"),
    Case(claim="edge-of-stability/loss-keeps-falling", status="PASS", results=record(),
         why="the loss falls to 12% of its value at the crossing"),
    Case(claim="edge-of-stability/loss-keeps-falling", status="FAIL", results=lambda: record(loss_ratio=0.9),
         why="the loss stalls at the edge (90% of its value at the crossing)"),
    Case(claim="edge-of-stability/catapult-spike", status="PASS", results=record(),
         why="the loss grows 19-fold above 2/λ₀ and never grows below it"),
    Case(claim="edge-of-stability/catapult-spike", status="FAIL", results=lambda: record(peak=1.0),
         why="above 2/λ₀ the loss falls from the first step: no catapult"),
    Case(claim="edge-of-stability/catapult-spike", status="FAIL", results=lambda: record(lazy_peak=3.0),
         why="the lazy control (η = 1/λ₀) spikes too: the threshold 2/λ₀ means nothing"),
    Case(claim="edge-of-stability/catapult-flatter", status="PASS", results=record(),
         why="the catapult ends at λ_max = 0.65 × 2/η"),
    Case(claim="edge-of-stability/catapult-flatter", status="FAIL", results=lambda: record(end=1.3),
         why="it ends with λ_max 30% above its own stability limit 2/η"),
    Case(claim="edge-of-stability/catapult-converges", status="PASS", results=record(),
         why="final loss 0.3% of the initial"),
    Case(claim="edge-of-stability/catapult-converges", status="FAIL", results=lambda: record(diverged=True),
         why="the catapult run diverged"),
    Case(claim="edge-of-stability/catapult-converges", status="FAIL", results=lambda: record(final=0.5),
         why="after the spike the loss only returns to half its start"),
]
