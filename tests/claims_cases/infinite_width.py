"""Refutation cases for infinite-width: kernel convergence, lazy training, trained nets against the NTK prediction,
and the finite-width kurtosis. The record holds only what ``claims()`` reads: per-width readings that follow a
power law width^slope with a small, known per-seed scatter."""

from claims_cases._case import Case

KERNEL_WIDTHS = [64, 256, 1024, 4096]
WIDTHS = [64, 128, 256, 512, 1024, 2048]
KURTOSIS = [(1, 32), (2, 32), (2, 64), (4, 64)]  # (L, n)


def _law(widths, start, slope, jitter):
    """start·(w/w0)^slope, times (1 + jitter) on every other width (a seed's scatter)."""
    return [start * (w / widths[0]) ** slope * (1 + (jitter if i % 2 else -jitter)) for i, w in enumerate(widths)]


def record(ntk_slope=-0.5, nngp_slope=-0.5, lazy_slope=-0.5, disagree=(0.53, 0.16), linear=6.0, relu=15.0):
    """``disagree``: class disagreement with the NTK prediction at the narrowest and widest width (geometric in
    between); ``linear``/``relu``: the measured excess kurtosis is this constant × L/n, with a 2% standard error."""
    conv = []
    for seed in range(6):
        jit = 0.02 * (seed % 3)
        ntk = _law(KERNEL_WIDTHS, 0.3, ntk_slope, jit)
        nngp = _law(KERNEL_WIDTHS, 0.35, nngp_slope, jit)
        conv += [{"width": w, "seed": seed, "ntk_error": a, "nngp_error": b} for w, a, b in zip(KERNEL_WIDTHS, ntk, nngp)]
    trained = {str(w): [] for w in WIDTHS}
    ratio = (disagree[1] / disagree[0]) ** (1 / (len(WIDTHS) - 1))
    for seed in range(3):
        change = _law(WIDTHS, 0.33, lazy_slope, 0.01 * seed)
        for i, w in enumerate(WIDTHS):
            d = disagree[0] * ratio**i + 0.01 * (seed - 1)
            trained[str(w)].append({"seed": seed, "weight_change": change[i], "disagreement": d, "net_acc": 0.2,
                                    "lin_acc": 0.2, "output_discrepancy": 0.1, "train_loss": 0.3})
    kurt = []
    for act, k in (("linear", linear), ("relu", relu)):
        kappa = 2 if act == "linear" else 5
        for depth, width in KURTOSIS:
            lead = 3 * kappa * depth / width
            kurt.append({"activation": act, "depth": depth, "width": width, "nets": 12000,
                         "excess_kurtosis": k * depth / width, "se": 0.02 * lead, "exact": lead, "leading": lead})
    return {"kernel_convergence": conv, "trained": trained, "widths": WIDTHS, "kernel_widths": KERNEL_WIDTHS,
            "ensemble": {str(w): {"net_acc": 0.25, "lin_acc": 0.25} for w in WIDTHS},
            "kernel_accuracy": {"nngp_acc": 0.3, "ntk_acc_end": 0.31, "ntk_acc_inf": 0.32, "n_test": 1000},
            "kurtosis": kurt}


CASES = [
    Case(claim="infinite-width/ntk-converges", status="PASS", results=record(),
         why="eNTK error falls as width^-1/2 in every seed"),
    Case(claim="infinite-width/ntk-converges", status="FAIL", results=lambda: record(ntk_slope=-0.05),
         why="eNTK error stays flat with width: the analytic kernel is not the limit"),
    Case(claim="infinite-width/nngp-converges", status="PASS", results=record(),
         why="empirical NNGP error falls as width^-1/2"),
    Case(claim="infinite-width/nngp-converges", status="FAIL", results=lambda: record(nngp_slope=-0.1),
         why="empirical NNGP error barely falls: a biased kernel"),
    Case(claim="infinite-width/lazy-training", status="PASS", results=record(),
         why="relative weight change ∝ width^-1/2"),
    Case(claim="infinite-width/lazy-training", status="FAIL", results=lambda: record(lazy_slope=0.0),
         why="weights move as much at every width: no lazy regime (feature learning)"),
    Case(claim="infinite-width/trained-net-follows-ntk", status="PASS", results=record(),
         why="class disagreement with the NTK prediction falls from 53% to 16%"),
    Case(claim="infinite-width/trained-net-follows-ntk", status="FAIL", results=lambda: record(disagree=(0.5, 0.45)),
         why="wide nets disagree with the NTK prediction as often as narrow ones"),
    Case(claim="infinite-width/kurtosis-linear", status="PASS", results=record(),
         why="deep linear nets' excess kurtosis is 6L/n"),
    Case(claim="infinite-width/kurtosis-linear", status="FAIL", results=lambda: record(linear=0.0),
         why="Gaussian outputs at finite width: no kurtosis"),
    Case(claim="infinite-width/kurtosis-relu", status="PASS", results=record(),
         why="ReLU nets' excess kurtosis is 15L/n"),
    Case(claim="infinite-width/kurtosis-relu", status="FAIL", results=lambda: record(relu=6.0),
         why="ReLU nets as non-Gaussian as linear ones only (6L/n, 40% of 15L/n)"),
]
