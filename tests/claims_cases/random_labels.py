"""Refutation cases for random-labels (Zhang et al. 2017): an MLP fits every corruption, test accuracy falls with
label noise to chance, fitting random labels is slower by a small factor, Gaussian inputs fit faster, and weight
decay + dropout do not prevent fitting. Three seeds; accuracies as fractions; steps to fit."""

from claims_cases._case import Case, spread

NOISE = (0.0, 0.2, 0.5, 0.8, 1.0)
TEST = {0.0: 0.66, 0.2: 0.55, 0.5: 0.37, 0.8: 0.19, 1.0: 0.10}


def _v(name, train=0.999, test=0.5, fit=800, noise=0.0, corruption="none", reg=False):
    return {"name": name, "label_noise": noise, "corruption": corruption, "reg": reg,
            "train_acc": spread(train, 3, 0.0005), "test_acc": spread(test, 3, 0.005),
            "fit_step": [None] * 3 if fit is None else [int(f) for f in spread(fit, 3, 40)]}


def record(test=None, train=None, fit=None):
    """``test``: {p: test acc}; ``train``: {variant: train acc}; ``fit``: {variant: steps to fit (None: never)}."""
    test, train, fit = {**TEST, **(test or {})}, train or {}, {"p=0": 800, "p=1": 1000, "gaussian": 700, **(fit or {})}
    v = {f"p={p:g}": _v(f"p={p:g}", train.get(f"p={p:g}", 0.999), test[p], fit.get(f"p={p:g}", 900), noise=p)
         for p in NOISE}
    v["gaussian"] = _v("gaussian", train.get("gaussian", 0.999), 0.1, fit["gaussian"], corruption="gaussian")
    v["p=1 + wd + dropout"] = _v("p=1 + wd + dropout", train.get("reg", 0.999), 0.1, 1200, noise=1.0, reg=True)
    return {"variants": v, "n_classes": 10, "max_steps": 4000}


CASES = [
    Case(claim="random-labels/fits-everything", status="PASS", results=record(), why="every variant at 99.9% train"),
    Case(claim="random-labels/fits-everything", status="FAIL", results=lambda: record(train={"p=1": 0.6}),
         why="random labels fit to 60% only"),
    Case(claim="random-labels/test-falls-with-noise", status="PASS", results=record(),
         why="test accuracy .66 → .55 → .37 → .19 → .10"),
    Case(claim="random-labels/test-falls-with-noise", status="FAIL", results=lambda: record(test={0.5: 0.6}),
         why="test accuracy rises from p = .2 to p = .5"),
    Case(claim="random-labels/chance-at-p1", status="PASS", results=record(), why="10% test accuracy at p = 1"),
    Case(claim="random-labels/chance-at-p1", status="FAIL", results=lambda: record(test={1.0: 0.3}),
         why="30% test accuracy with random labels: above chance, labels leak"),
    Case(claim="random-labels/fit-slowdown", status="PASS", results=record(),
         why="random labels fit in 1000 steps vs 800 (1.25x)"),
    Case(claim="random-labels/fit-slowdown", status="FAIL", results=lambda: record(fit={"p=0": 500, "p=1": 4000}),
         why="random labels take 8x as long"),
    Case(claim="random-labels/gaussian-fits-faster", status="PASS", results=record(),
         why="Gaussian inputs fit in 700 steps, random labels in 1000"),
    Case(claim="random-labels/gaussian-fits-faster", status="FAIL", results=lambda: record(fit={"gaussian": 1500}),
         why="Gaussian inputs take longer than random labels"),
    Case(claim="random-labels/regularized-still-fits", status="PASS", results=record(),
         why="weight decay + dropout: 99.9% train on random labels"),
    Case(claim="random-labels/regularized-still-fits", status="FAIL", results=lambda: record(train={"reg": 0.3}),
         why="the regularizers stop the fit at 30%"),
]
