"""Refutation cases for min-norm (Zhang et al. 2017 §5): SGD's limit on least squares, exact kernel interpolation,
and how well the interpolating solutions generalize. The record holds only what ``claims()`` reads."""

from claims_cases._case import Case, spread


def record(zero=1e-14, to_pred=1e-14, to_min=7.0, train_acc=1.0, residual=1e-14, exact=True, digits_wrong=(1, 0),
           mnist1d_wrong=(600, 400), n_test=500, mlp=68.0):
    """``digits_wrong``/``mnist1d_wrong``: test errors (raw, gabor) of each fit, on ``n_test`` examples per digits
    split and 1000 MNIST-1D test examples."""
    per_batch = {"zero_to_min_norm": zero, "w0_to_predicted": to_pred, "w0_to_min_norm": to_min}
    kernels = {}
    for data, wrong, n in (("digits:0", digits_wrong, n_test), ("digits:1", digits_wrong, n_test),
                           ("mnist1d", mnist1d_wrong, 1000)):
        for kernel in ("laplace", "rbf"):
            for features, k in zip(("raw", "gabor"), wrong):
                kernels[f"{data}/{kernel}/{features}"] = {
                    "data": data, "kernel": kernel, "features": features, "train_acc": train_acc,
                    "relative_residual": residual, "exact": exact, "n_test": n,
                    "test_acc": 1 - k / n, "test_wrong": list(range(k))}
    return {"least_squares": {str(s): {"batch=1": per_batch, "batch=10": per_batch} for s in (0, 1)},
            "kernels": kernels, "mlp": {"test_acc": [a / 100 for a in spread(mlp)]}}


CASES = [
    Case(claim="min-norm/sgd-zero-init", status="PASS", results=record(), why="SGD from 0 lands on X⁺y to 1e-14"),
    Case(claim="min-norm/sgd-zero-init", status="FAIL", results=lambda: record(zero=0.3),
         why="SGD from 0 ends 30% away from the pseudo-inverse solution"),
    Case(claim="min-norm/sgd-nonzero-init", status="PASS", results=record(),
         why="from w0 it lands on X⁺y + (I − X⁺X)w0, far from X⁺y"),
    Case(claim="min-norm/sgd-nonzero-init", status="FAIL", results=lambda: record(to_pred=0.5, to_min=1e-6),
         why="from w0 it lands on X⁺y itself: the init's null-space part is forgotten"),
    Case(claim="min-norm/kernel-interpolates", status="PASS", results=record(), why="every fit exact, 100% train acc"),
    Case(claim="min-norm/kernel-interpolates", status="FAIL", results=lambda: record(train_acc=0.98, residual=0.05),
         why="the solve leaves a 5% residual and misfits 2% of the training set"),
    Case(claim="min-norm/digits-generalizes", status="PASS", results=record(digits_wrong=(2, 1)),
         why="0.4% test error on digits, under the 2% threshold"),
    Case(claim="min-norm/digits-generalizes", status="FAIL", results=lambda: record(digits_wrong=(60, 30)),
         why="12% test error on digits: the interpolant does not generalize"),
    Case(claim="min-norm/mnist1d-vs-mlp", status="PASS", results=record(mnist1d_wrong=(300, 250), mlp=68.0),
         why="kernel 70% vs MLP 68% on 1000 test examples"),
    Case(claim="min-norm/mnist1d-vs-mlp", status="FAIL", results=lambda: record(mnist1d_wrong=(600, 400), mlp=68.0),
         why="kernel 40% vs MLP 68%: 28 points behind"),
    Case(claim="min-norm/gabor-helps", status="PASS", results=record(digits_wrong=(30, 5), mnist1d_wrong=(600, 400)),
         why="Gabor features cut the errors on both sets"),
    Case(claim="min-norm/gabor-helps", status="FAIL", results=lambda: record(digits_wrong=(5, 30)),
         why="Gabor features raise the digits error from 1% to 6%"),
]
