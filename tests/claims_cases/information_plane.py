"""Refutation cases for information-plane (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018): tanh compresses after the
fit, ReLU does not (both measured against the no-trend null), both keep I(T;Y); the estimator panel is reported."""

from claims_cases._case import Case, spread


def _net(drops, ity=1.0):
    """Per-seed compression of the last hidden layer (bits, against the null) and final I(T;Y)."""
    k = len(drops)
    return {"compression": {"layer/30": drops, "fixed/30": drops, "kde": drops, "layers": [[0.0] * 4 + [d]
                                                                                           for d in drops]},
            "ity": [[[ity] * 5] for _ in range(k)], "steps": [0, 10], "fit_step": [0] * k}


def record(tanh=2.0, relu=0.0, ity=1.0):
    return {"bins": 30, "layers": [10, 7, 5, 4, 3],
            "nets": {"tanh": _net(spread(tanh, 6, 0.1), ity), "relu": _net(spread(relu, 6, 0.02), ity)}}


CASES = [
    Case(claim="information-plane/tanh-compression", status="PASS", results=record(),
         why="tanh's last layer ends 2 bits below its post-fit mean in every seed"),
    Case(claim="information-plane/tanh-compression", status="FAIL", results=lambda: record(tanh=0.0),
         why="tanh's last layer ends at its post-fit mean: no compression phase"),
    Case(claim="information-plane/relu-no-compression", status="PASS", results=record(),
         why="ReLU's last layer ends at its post-fit mean (0 ± .02 bit)"),
    Case(claim="information-plane/relu-no-compression", status="FAIL", results=lambda: record(relu=1.0),
         why="ReLU's last layer loses 1 bit against the null in every seed: it compresses"),
    Case(claim="information-plane/prediction", status="PASS", results=record(),
         why="both nets keep 1 bit of I(T;Y)"),
    Case(claim="information-plane/prediction", status="FAIL", results=lambda: record(ity=0.3),
         why="both nets keep 0.3 bit of I(T;Y): they do not predict the label"),
    Case(claim="information-plane/estimator-panel", status="PASS", results=record(),
         why="every estimator shows tanh compressing and ReLU not"),
    Case(claim="information-plane/estimator-panel", status="FAIL", results=lambda: record(relu=1.0),
         why="every estimator shows ReLU compressing (reported, not gated)"),
]
