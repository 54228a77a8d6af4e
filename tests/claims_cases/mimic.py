"""Refutation cases for mimic (Ba & Caruana 2014): the teacher and its premise, the transfer-set mimic (CIFAR-10's
setting: extra unlabeled inputs), the training-set-only mimic (TIMIT's setting, with its declared prediction at 4000
inputs), and the reported share of the gap closed."""

from claims_cases._case import Case, spread

WIDTHS = (64, 256, 1024)


def record(teacher=94.0, labels=68.0, transfer=84.0, train_only=68.5, mse=None):
    """Per-seed accuracies (%), the same at every width; ``mse``: also the logit-regression students (the full
    preset's losses)."""
    row = lambda acc: {"test_acc": spread(acc, 3, 0.5)}  # noqa: E731
    students = {"labels": {str(w): row(labels) for w in WIDTHS}}
    for loss in ("kl",) + (("mse",) if mse else ()):
        students[f"transfer/{loss}"] = {str(w): row(transfer) for w in WIDTHS}
        students[f"train-only/{loss}"] = {str(w): row(train_only) for w in WIDTHS}
    return {"teacher": {"test_acc": teacher, "correct": round(10 * teacher), "n_test": 1000, "acc_on_new": teacher},
            "transfer": {"n": {"transfer": 24000, "new": 20000, "train": 4000}},
            "widths": list(WIDTHS), "seeds": [0, 1, 2], "losses": ["kl"] + (["mse"] if mse else []),
            "students": students}


CASES = [
    Case(claim="mimic/teacher-accurate", status="PASS", results=record(),
         why="the CNN teacher has 94% (940 of 1000) and is 26 points above the labels"),
    Case(claim="mimic/teacher-accurate", status="FAIL", results=lambda: record(teacher=75.0),
         why="the teacher has 75%: below 90% and only 7 points above the label-trained student"),
    Case(claim="mimic/transfer-closes-gap", status="PASS", results=record(),
         why="the transfer-set mimic gains 16 points over the labels"),
    Case(claim="mimic/transfer-closes-gap", status="FAIL", results=lambda: record(transfer=69.0),
         why="the transfer-set mimic gains 1 point: no transfer-set effect"),
    Case(claim="mimic/training-set-only", status="PASS", results=lambda: record(train_only=74.0),
         why="mimicking on the training inputs gains 6 points, as Ba & Caruana's TIMIT mimics did"),
    Case(claim="mimic/training-set-only", status="EXPECTED-FAIL", results=record(train_only=68.3),
         why="+0.3 points: no gain, within the predicted ±2 at 4000 training inputs"),
    Case(claim="mimic/training-set-only", status="FAIL", results=lambda: record(train_only=60.0),
         why="−8 points: mimicking on the training inputs hurts, outside the predicted ±2"),
    Case(claim="mimic/gap-closed", status="PASS", results=record(),
         why="the mimic closes 16 of the 26 points between labels and teacher (62%)"),
    Case(claim="mimic/gap-closed", status="FAIL", results=lambda: record(transfer=70.0),
         why="the mimic closes 2 of 26 points (8%)"),
    Case(claim="mimic/transfer-closes-gap-logit-regression", status="PASS", results=lambda: record(mse=True), spec="full",
         why="logit regression on the transfer set gains 16 points"),
    Case(claim="mimic/transfer-closes-gap-logit-regression", status="FAIL",
         results=lambda: record(transfer=66.0, mse=True), spec="full", why="logit regression on the transfer set loses 2 points"),
    Case(claim="mimic/training-set-only-logit-regression", status="PASS",
         results=lambda: record(train_only=74.0, mse=True), spec="full", why="logit regression on the training inputs gains 6"),
    Case(claim="mimic/training-set-only-logit-regression", status="FAIL",
         results=lambda: record(train_only=60.0, mse=True), spec="full", why="logit regression on the training inputs loses 8"),
    Case(claim="mimic/training-set-only-logit-regression", status="EXPECTED-FAIL",
         results=lambda: record(train_only=68.0, mse=True), spec="full", why="no gain, within the predicted ±2"),
]
