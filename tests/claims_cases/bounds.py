"""Refutation cases for bounds (Dziugaite & Roy 2017; Lotfi et al. 2022; Langford 2005): non-vacuous certified
bounds that hold on true labels, bounds >= 0.5 (guessing) on random labels, the test-set bound tightest, and the
classical reference bounds vacuous. Two seeds, widths 16 and 600; test sets of 5000."""

from claims_cases._case import Case

WIDTHS = (16, 600)
N, N_TEST = 20000, 5000


def _pb(seed, bound, test_err, tsb):
    return {"seed": seed, "bound": bound, "kl": 3000.0, "n": N, "delta": 0.0125, "mc_error": bound - 0.1,
            "mc_bound": bound - 0.08, "mc_samples": 10000, "snn_test_errors": round(test_err * N_TEST),
            "n_test": N_TEST, "test_set_bound": tsb}


def _cb(seed, bound, test_err, tsb):
    return {"seed": seed, "bound": bound, "levels": 8, "bits": 4000.0, "extra_bits": 2.3, "train_errors": 5000,
            "n": N, "test_errors": round(test_err * N_TEST), "n_test": N_TEST, "test_set_bound": tsb}


def _labels(pb=0.45, cb=0.47, test_err=0.28, tsb=0.30, reference=3.5):
    """One label condition: certified PAC-Bayes / compression bounds, their classifiers' test errors, test-set bounds
    and the smallest reference (VC, spectral, path-norm) bound."""
    rows = {"pac_bayes": [_pb(s, pb, test_err, tsb) for s in (0, 1)],
            "compression": [_cb(s, cb, test_err, tsb) for s in (0, 1)]}
    ref = [{"seed": s, "train_errors": 4000, "n": N, "test_errors": round(test_err * N_TEST), "n_test": N_TEST}
           for s in (0, 1)]
    widths = {str(w): {"pac_bayes": {"members": rows["pac_bayes"]}, "compression": {"members": rows["compression"]},
                       "reference": {"members": ref}} for w in WIDTHS}
    return {"widths": widths, "certified": {k: [dict(r, width=16) for r in v] for k, v in rows.items()},
            "reference": {k: [reference, reference * 2] for k in ("vc", "spectral_margin", "path_norm")}}


def record(true=None, random=None):
    return {"widths": list(WIDTHS), "seeds": [0, 1], "labels": {"true": _labels(**(true or {})),
                                                                 "random": _labels(**(random or {}))}}


RANDOM_OK = {"pb": 0.55, "cb": 0.63, "test_err": 0.5, "tsb": 0.52}
CASES = [
    Case(claim="bounds/pac-bayes-nonvacuous", status="PASS", results=record(random=RANDOM_OK),
         why="PAC-Bayes bounds .45 (< .5) above the stochastic net's test error .28"),
    Case(claim="bounds/pac-bayes-nonvacuous", status="FAIL", results=lambda: record(true={"pb": 0.67}),
         why="the PAC-Bayes bound is .67: vacuous for a binary task"),
    Case(claim="bounds/pac-bayes-nonvacuous", status="FAIL", results=lambda: record(true={"pb": 0.2}),
         why="a PAC-Bayes bound of .2 below the test error .28: it does not hold"),
    Case(claim="bounds/compression-nonvacuous", status="PASS", results=record(random=RANDOM_OK),
         why="compression bounds .47 above the quantized net's test error"),
    Case(claim="bounds/compression-nonvacuous", status="FAIL", results=lambda: record(true={"cb": 0.8}),
         why="the compression bound is .8: vacuous"),
    Case(claim="bounds/random-labels-vacuous", status="PASS", results=record(random=RANDOM_OK),
         why="random labels: bounds .55 and .63, both >= .5 and above the test error .5"),
    Case(claim="bounds/random-labels-vacuous", status="FAIL",
         results=lambda: record(random={"pb": 0.3, "cb": 0.63, "test_err": 0.5, "tsb": 0.52}),
         why="a PAC-Bayes bound of .3 on random labels 'certifies' better than guessing: the certificate is fooled"),
    Case(claim="bounds/test-set-tightest-true", status="PASS", results=record(random=RANDOM_OK),
         why="test-set bound .30 below every certificate (.45, .47)"),
    Case(claim="bounds/test-set-tightest-true", status="FAIL", results=lambda: record(true={"tsb": 0.5}),
         why="the test-set bound .5 is looser than the certificates"),
    Case(claim="bounds/test-set-tightest-random", status="PASS", results=record(random=RANDOM_OK),
         why="random labels: test-set bound .52 below the certificates"),
    Case(claim="bounds/test-set-tightest-random", status="FAIL",
         results=lambda: record(random={**RANDOM_OK, "tsb": 0.7}), why="random labels: test-set bound .7 is looser"),
    Case(claim="bounds/reference-vacuous-true", status="PASS", results=record(random=RANDOM_OK),
         why="VC, spectral and path-norm bounds all >= 3.5"),
    Case(claim="bounds/reference-vacuous-true", status="FAIL", results=lambda: record(true={"reference": 0.4}),
         why="a reference bound of .4 is non-vacuous"),
    Case(claim="bounds/reference-vacuous-random", status="PASS", results=record(random=RANDOM_OK),
         why="random labels: reference bounds >= 3.5"),
    Case(claim="bounds/reference-vacuous-random", status="FAIL",
         results=lambda: record(random={**RANDOM_OK, "reference": 0.8}), why="random labels: a reference bound .8"),
]
