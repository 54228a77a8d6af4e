"""Refutation cases for baselines (Greydanus & Kobak 2020, MNIST-1D): logistic ~32%, MLP ~68%, CNN > 90%, GRU ~91%
(full preset), and shuffled positions cost the CNN, not the MLP. Three seeds, accuracies in %."""

from claims_cases._case import Case, spread

DEFAULT = {"logistic": 32.0, "mlp": 67.0, "cnn1d": 93.0, "gru": 91.0}
SHUFFLED = {"logistic": 32.0, "mlp": 67.0, "cnn1d": 57.0, "gru": 57.0}


def record(clean=None, shuffled=None, gru=False):
    clean, shuffled = {**DEFAULT, **(clean or {})}, {**SHUFFLED, **(shuffled or {})}
    kinds = ["logistic", "mlp", "cnn1d"] + (["gru"] if gru else [])
    rows = {f"{k}/none": {"test_acc": spread(clean[k], 3, 0.5)} for k in kinds}
    rows |= {f"{k}/shuffled-pixels": {"test_acc": spread(shuffled[k], 3, 0.5)} for k in kinds}
    return {"rows": rows}


CASES = [
    Case(claim="baselines/logistic", status="PASS", results=record(), why="logistic regression at 32%"),
    Case(claim="baselines/logistic", status="FAIL", results=lambda: record(clean={"logistic": 45.0}),
         why="logistic regression at 45%: not the paper's linear baseline"),
    Case(claim="baselines/mlp", status="PASS", results=record(), why="the MLP at 67%"),
    Case(claim="baselines/mlp", status="FAIL", results=lambda: record(clean={"mlp": 55.0}), why="the MLP at 55%"),
    Case(claim="baselines/cnn", status="PASS", results=record(), why="the CNN at 93%"),
    Case(claim="baselines/cnn", status="FAIL", results=lambda: record(clean={"cnn1d": 80.0}), why="the CNN at 80%"),
    Case(claim="baselines/gru", status="PASS", results=lambda: record(gru=True), spec="full", why="the GRU at 91%"),
    Case(claim="baselines/gru", status="FAIL", results=lambda: record(clean={"gru": 70.0}, gru=True), spec="full",
         why="the GRU at 70%"),
    Case(claim="baselines/cnn-shuffled", status="PASS", results=record(),
         why="shuffling drops the CNN from 93% to 57%"),
    Case(claim="baselines/cnn-shuffled", status="FAIL", results=lambda: record(shuffled={"cnn1d": 90.0}),
         why="the shuffled CNN keeps 90%: no spatial prior lost"),
    Case(claim="baselines/mlp-shuffled", status="PASS", results=record(), why="the MLP at 67% either way"),
    Case(claim="baselines/mlp-shuffled", status="FAIL", results=lambda: record(shuffled={"mlp": 55.0}),
         why="the MLP loses 12 points on shuffled inputs, which a fully connected net cannot notice"),
]
