"""Refutation cases for critical-periods (Achille, Rovere & Soatto 2019): a blur removed late leaves permanent
damage growing with the removal epoch, a flip deficit does not, and the Fisher trace rises then falls. Three seeds;
accuracies as fractions; removal epochs 0 (clean), 10, 20, 40, 60 of 80."""

from claims_cases._case import Case, spread

BLUR = {0: 0.91, 10: 0.88, 20: 0.86, 40: 0.80, 60: 0.74}


def record(blur=None, flip=0.90, fisher=(71, 104, 133, 124, 147, 103, 85, 70)):
    blur = {**BLUR, **(blur or {})}
    acc = {("clean" if e == 0 else f"blur@{e}"): spread(a, 3, 0.004) for e, a in blur.items()}
    acc["flip@40"] = spread(flip, 3, 0.004)
    epochs = [10 * i for i in range(len(fisher))]
    return {"blur_epochs": list(blur), "epochs": 80, "test_acc": acc,
            "mean_test_acc": {k: sum(v) / 3 for k, v in acc.items()},
            "fisher": {"epoch": epochs, "mean": list(fisher),
                       "per_seed": [[f * (1 + 0.02 * s) for f in fisher] for s in (-1, 0, 1)]}}


CASES = [
    Case(claim="critical-periods/blur-late-damage", status="PASS", results=record(),
         why="blur removed at epoch 40: .80 vs .91 clean"),
    Case(claim="critical-periods/blur-late-damage", status="FAIL", results=lambda: record(blur={40: 0.905}),
         why="blur removed at epoch 40 recovers to .905: no permanent damage"),
    Case(claim="critical-periods/damage-grows-with-k", status="PASS", results=record(),
         why="final accuracy falls .91 → .74 with the removal epoch"),
    Case(claim="critical-periods/damage-grows-with-k", status="FAIL",
         results=lambda: record(blur={10: 0.92, 20: 0.93, 40: 0.94, 60: 0.95}), why="later removal ends higher"),
    Case(claim="critical-periods/flip-no-damage", status="PASS", results=record(), why="flip at 40: .90 vs .91"),
    Case(claim="critical-periods/flip-no-damage", status="FAIL", results=lambda: record(flip=0.80),
         why="the flip deficit costs 11 points"),
    Case(claim="critical-periods/fisher-rises-then-falls", status="PASS", results=record(),
         why="the trace rises 71 → 147 by epoch 40, then falls to 70"),
    Case(claim="critical-periods/fisher-rises-then-falls", status="FAIL",
         results=lambda: record(fisher=(71, 80, 90, 100, 110, 120, 130, 140)), why="the trace only rises"),
]
