"""double-descent — Belkin et al. 2019; Nakkiran et al. 2019; Neyshabur et al. 2015.

Three panels, one figure each:

* random features (Belkin et al. 2019, Fig. 2): min-norm least squares on N random Fourier features
  of n = 1000 MNIST-1D points, N from n/10 to 10n. The test risk peaks at the interpolation
  threshold N = n and falls again beyond it; a ridge of 1e-2 removes the peak (negative control).
* model-wise (Nakkiran et al. 2019; the MNIST-1D notebook): MLPs 40-h-h-10, h from 2 to 300, SGD to
  (near) zero training error with 15% label noise, no weight decay, no early stopping. Test error
  peaks where the training error first reaches ~0 and falls again for wider nets; without label
  noise the peak (nearly) vanishes and test error keeps falling past the width that first fits the
  data (Neyshabur et al. 2015), while the ℓ2 path norm does not grow like the parameter count.
  All widths of one seed train as ~3 populations, each padded to its widest member
  (``whynets.models.padding``): padding is exact, so each member is the unpadded net.
* epoch-wise: test error against SGD step for the widest noisy net (and the net at the peak).

    whynets run double-descent --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.spec import Spec

from . import _double_descent_panels as panels
from whynets.stats import Interval, contrast_interval, simulated_interval

from .base import (Check, Claim, Experiment, Prediction, direction_check, exact_check, fact_check, mean,
                   paired_check)

BELKIN = "Belkin et al. 2019, Reconciling modern ML practice and the bias-variance trade-off, Fig. 2"
NAKKIRAN = "Nakkiran et al. 2019, Deep double descent, Figs. 1-2; MNIST-1D double-descent notebook"
NEYSHABUR = "Neyshabur et al. 2015, In search of the real inductive bias, Fig. 1; 2017, Exploring generalization, Fig. 3"
WIDTHS = (2, 4, 5, 8, 11, 17, 24, 35, 50, 71, 102, 146, 209, 300)  # unique(int(geomspace(2, 300, 15)))


@dataclass(frozen=True)
class DoubleDescentSpec(Spec):
    # random features
    rf_data: DataSpec = field(default_factory=lambda: DataSpec(n_train=1000))
    rf_kind: str = field(default="fourier", metadata={"help": "random feature map: fourier | relu"})
    rf_ratios: tuple[float, ...] = field(
        default=(0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0),
        metadata={"help": "feature counts N as multiples of n (must include .5, 1, 2, 8)"})
    rf_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "independent feature draws"})
    rf_ridge: float = field(default=1e-2, metadata={"help": "ridge of the negative control (sum-of-squares convention)"})
    # model-wise / epoch-wise
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", depth=2))
    widths: tuple[int, ...] = field(default=WIDTHS, metadata={"help": "hidden units h of the MLP 40-h-h-10"})
    noise: tuple[float, ...] = field(default=(0.15, 0.0), metadata={"help": "label noise levels (noisy first)"})
    seeds: tuple[int, ...] = field(default=(0, 1), metadata={"help": "one padded sweep of all widths per seed"})
    buckets: int = field(default=3, metadata={"help": "populations per sweep, each padded to its widest member"})
    fit_threshold: float = field(default=0.01, metadata={"help": "train error counted as ~0 (interpolation)"})
    bump: float = field(default=0.02, metadata={"help": "min rise and fall (error) of an epoch-wise bump"})
    # the ensemble panel: its own members on the noisiest data, the widths up to the peak region only (the widest
    # buckets cost most and hold no peak), so it can have more members than the sweep's seeds
    ensemble_seeds: tuple[int, ...] = field(default=(100, 101, 102, 103, 104, 105),
                                            metadata={"help": "members of the ensemble panel (one sweep each)"})
    ensemble_max_width: int = field(default=102, metadata={"help": "the ensemble panel's widest width"})
    ensemble_boot: int = field(default=1000, metadata={"help": "bootstrap resamples of the ensemble's members"})
    # the notebook's recipe: SGD lr .01, momentum .9, batch 100, 500 epochs (= 20000 steps of 4000 points)
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=1e-2, momentum=0.9,
                                                               batch_size=100, steps=12000, eval_points=30))


def run(spec: DoubleDescentSpec, ctx) -> dict[str, Any]:
    rf = panels.random_features(spec, ctx)
    ctx.log(f"double-descent: random features: {rf['wall_s']:.0f} s of solves")
    mw = panels.model_wise(spec, ctx)
    noisy = mw["noise"][f"{max(spec.noise):g}"]
    peak, _ = panels.rise_peak(noisy["test_err"])
    show = sorted({len(mw["widths"]) - 1} | ({peak} if peak is not None else set()))
    ew = {"noise": max(spec.noise), "step": noisy["step"], "width": mw["widths"][-1],
          "curves": {str(mw["widths"][i]): {"test": noisy["curve_test"][i], "train": noisy["curve_train"][i]}
                     for i in show}}
    ens = panels.ensemble_panel(spec, ctx)
    wall = rf["wall_s"] + sum(v["wall_s"] for v in mw["noise"].values()) + ens["wall_s"]
    return {"random_features": rf, "model_wise": mw, "ensemble": ens, "epoch_wise": ew, "compute_s": wall}


def _index(rf: dict[str, Any], ratio: float) -> int:
    n, grid = rf["n"], rf["grid"]
    return grid.index(min(grid, key=lambda g: abs(g - ratio * n)))


def _per_draw(rf: dict[str, Any], curve: str, ratio: float, name: str = "ridgeless") -> list[float]:
    """One value per feature draw (seed): ``curve`` at N ≈ ratio·n."""
    i = _index(rf, ratio)
    return [c[curve][i] for c in rf[name]["per_seed"]]


def _rf_claims(rf: dict[str, Any]) -> list[Claim]:
    """Over the feature draws (seeds): paired t-intervals of differences between points of the same curve."""
    n, grid = rf["n"], rf["grid"]
    draws = rf["ridgeless"]["per_seed"]
    argmax = [grid[c["test_mse"].index(max(c["test_mse"]))] for c in draws]
    e = {r: _per_draw(rf, "test_error", r) for r in (0.5, 1.0, 2.0, 8.0)}
    small = [i for i, g in enumerate(grid) if g < n / 2]
    first = [min(c["test_error"][i] for i in small) for c in draws]
    last = [c["test_error"][-1] for c in draws]
    ridge = {r: _per_draw(rf, "test_error", r, "ridge") for r in (0.5, 1.0)}
    below = paired_check("best_{N < n/2} err − err(10n)", first, last, ">", 0.0)
    margin = 2 * (0.65 * 0.35 / rf["n_test"]) ** 0.5
    cid = "double-descent/rf-"
    out = [
        Claim(id=cid + "peak-at-n", source=BELKIN, paper=f"N = n ({n})",
              statement="min-norm random-feature regression: test risk peaks at the interpolation threshold N = n",
              measured={"per_draw_argmax_N": argmax},
              checks=[direction_check(f"argmax_N test MSE == n ({n}) in every feature draw", [a == n for a in argmax])]),
        Claim(id=cid + "peak-height", source=BELKIN, statement="the test error at N = n stands above both neighbours",
              paper={"Belkin et al. Fig. 2": "a peak at N = n",
                     "our calibration (PHENOMENA pilot)": ".89-.92 at n vs .63-.72 at the first minimum"},
              checks=[paired_check("err(n) − err(n/2) (0-1 test error)", e[1.0], e[0.5], ">=", 0.05),
                      paired_check("err(n) − err(2n)", e[1.0], e[2.0], ">=", 0.10),
                      direction_check("peak above both neighbours in every draw",
                                      [a > b and a > c for a, b, c in zip(e[1.0], e[0.5], e[2.0])])]),
        Claim(id=cid + "second-descent", source=BELKIN,
              paper={"Belkin et al. Fig. 2": "descends again for N > n", "our calibration (PHENOMENA pilot)":
                     ".60-.72 at 8n"},
              statement="over-parameterized (N >> n) the test error descends again",
              checks=[paired_check("err(n) − err(8n)", e[1.0], e[8.0], ">=", 0.2)]),
        Claim(id=cid + "below-first-minimum", source=BELKIN, paper="lower (Fig. 2, MNIST n = 10^4)",
              statement="the second descent goes below the best under-parameterized model", checks=[below],
              measured={"err(10n)": mean(last), "best_err(N<n/2)": mean(first),
                        "test_mse(10n)": rf["ridgeless"]["mean"]["test_mse"][-1],
                        "best_test_mse(N<n/2)": min(rf["ridgeless"]["mean"]["test_mse"][i] for i in small)},
              expected=Prediction(
                  outcome=f"the second descent comes back to the best under-parameterized error, not below it, by N = "
                          f"{grid[-1] // n}n: the two within ±{margin:.3f} (two binomial standard errors of a test "
                          "error near .65)",
                  why=f"n = {n} training points and N <= {grid[-1] // n}n features; Belkin et al. show the second "
                      "descent below the first minimum on MNIST with n = 10^4 and far more features",
                  checks=[paired_check("best_{N < n/2} err − err(10n)", first, last, "within", (-margin, margin))])),
        Claim(id=cid + "ridge-removes-peak", source=BELKIN + " (regularized control)", paper="no peak",
              statement=f"a ridge of {rf['ridge_value']:g} removes the peak (negative control)",
              checks=[paired_check("with ridge: err(n) − err(n/2) (the peak criterion must fail)", ridge[1.0],
                                   ridge[0.5], "<", 0.05)]),
    ]
    return out


def _pick(values: list, i: int | None) -> Any:
    return None if i is None else values[i]


def _argmax_rise(curve) -> float:
    peak, _ = panels.rise_peak(list(curve))
    return -1.0 if peak is None else float(peak)


def _rise(curve) -> float:
    return panels.rise_peak(list(curve))[1]


def _contrast(table, i: int, j: int):
    w = [0.0] * len(table[0])
    w[i], w[j] = 1.0, -1.0
    return contrast_interval(table, w)


def _noisy_claims(mw: dict[str, Any], noisy: dict[str, Any], clean: dict[str, Any] | None, thr: float) -> list[Claim]:
    """Seeds × widths tables with the seed noise pooled over the widths (``stats.contrast_interval``); the peak's
    location by a parametric bootstrap of the same noise (``stats.simulated_interval``). The peak width is picked
    from the same data, which biases its test error upward (stated in the interval's method)."""
    widths, test, table = mw["widths"], noisy["test_err"], noisy["test_err_seeds"]
    peak, rise = panels.rise_peak(test)
    fit = panels.first_below(noisy["train_err"], thr)
    claims = []
    if peak is None or fit is None:
        why = "no rise in the mean test-error curve" if peak is None else f"no width reached train error <= {thr:g}"
        checks = [fact_check(why, False)]
        claims.append(Claim(id="double-descent/mw-peak-at-interpolation", source=NAKKIRAN,
                            statement="the test error peaks where the training error first reaches ~0",
                            paper="peak 54% at h = 47, where train error reaches ~0", checks=checks))
        claims.append(Claim(id="double-descent/mw-wide-beats-peak", source=NAKKIRAN, paper="54% - 45.5% = 8.5 points",
                            statement="the widest net beats the peak", checks=checks))
    else:
        low = min(range(peak), key=lambda i: test[i])  # the running minimum the peak rises from
        location = Check(name="peak index (max rise above the running min) − first-fit index", op="within",
                         threshold=(-1.0, 1.0),
                         interval=simulated_interval(lambda c: _argmax_rise(c) - fit, table))
        claims.append(Claim(
            id="double-descent/mw-peak-at-interpolation", source=NAKKIRAN,
            statement=f"with {noisy['label_noise']:.0%} label noise the test error is non-monotone in width, peaking "
                      "where the training error first reaches ~0",
            paper="peak 54% at h = 47, where train error reaches ~0",
            measured={"peak_width": widths[peak], "peak_test_err": test[peak], "rise": rise,
                      "first_fit_width": widths[fit]},
            checks=[Check(name=f"test err(h={widths[peak]}) − test err(h={widths[low]}) (the rise)", op=">",
                          threshold=0.0, interval=_contrast(table, peak, low)), location]))
        claims.append(Claim(id="double-descent/mw-wide-beats-peak", source=NAKKIRAN,
                            statement="the widest net beats the peak", paper="54% - 45.5% = 8.5 points",
                            checks=[Check(name=f"test err(peak h={widths[peak]}) − test err(widest)", op=">=",
                                          threshold=0.05, interval=_contrast(table, peak, len(widths) - 1))]))
    if clean is not None:
        claims.append(Claim(id="double-descent/mw-noise-enlarges-peak", source=NAKKIRAN,
                            statement="the peak is smaller without label noise", paper="label noise amplifies the peak",
                            measured={"rise_noisy": rise, "rise_clean": panels.rise_peak(clean["test_err"])[1]},
                            checks=[Check(name="max rise of test error above its running min: noisy − clean", op=">",
                                          threshold=0.0, interval=simulated_interval(
                                              lambda a, b: _rise(a) - _rise(b), table, clean["test_err_seeds"]))]))
    return claims


def _clean_claims(mw: dict[str, Any], clean: dict[str, Any], thr: float) -> list[Claim]:
    widths, params = mw["widths"], mw["params"]
    fit = panels.first_below(clean["train_err"], thr)
    falls = (Check(name=f"test err(first width with train err <= {thr:g}, h={widths[fit]}) − test err(widest)", op=">",
                   threshold=0.0, interval=_contrast(clean["test_err_seeds"], fit, len(widths) - 1))
             if fit is not None else fact_check(f"some width reaches train error <= {thr:g}", False))
    slopes = [] if fit is None else [panels.loglog_slope(params[fit:], s[fit:]) for s in clean["path_norm_seeds"]]
    return [
        Claim(id="double-descent/mw-clean-keeps-falling", source=NEYSHABUR, paper="keeps decreasing (Neyshabur 2015, Fig. 1)",
              statement="with clean labels the test error keeps falling past the width that first fits the data",
              measured={"first_fit_width": _pick(widths, fit)}, checks=[falls]),
        Claim(id="double-descent/mw-path-norm-not-params", source=NEYSHABUR, paper="flat or decreasing (Neyshabur 2017, Fig. 3)",
              statement="a norm-based capacity (l2 path norm) does not grow like the parameter count as width grows",
              measured={"slope_per_seed": slopes, "param_growth": None if fit is None else params[-1] / params[fit]},
              checks=[direction_check("log-log slope of path norm vs parameter count over widths >= first fit "
                                      "<= .5 (1 = proportional), every seed", [s is not None and s <= 0.5 for s in slopes]
                                      or [False])]),
    ]


def _epoch_claim(ew: dict[str, Any], spec: DoubleDescentSpec) -> Claim:
    curve, delta = ew["curves"][str(ew["width"])]["test"], spec.bump
    b, rise = panels.bump(curve), panels.rise_peak(curve)[1]
    epochs = spec.train.steps * spec.train.batch_size / (spec.data.n_train or 4000)
    return Claim(
        id="double-descent/epoch-wise-shape", source="Nakkiran et al. 2019, Fig. 1 (right) / Sec. 6 (epoch-wise)",
        statement="the widest noisy net's test error against training time decreases, increases, then decreases",
        paper="decrease-increase-decrease (ResNet18, CIFAR-10, 15% label noise, Adam for 4K epochs)",
        measured={"rise": b["up"], "fall": b["down"],
                  "steps(min, max, min)": [_pick(ew["step"], b[k]) for k in ("before", "at", "after")]},
        checks=[exact_check("min(rise, fall) of the best decrease-increase-decrease of the seed-mean curve",
                            b["size"], ">=", delta, "one seed-mean curve (a shape, not a mean over seeds)")],
        expected=Prediction(
            outcome=f"classical overfitting only: the test error rises >= {delta:g} after its early minimum, and the "
                    "second descent has not come by the end of the run",
            why=f"the run trains {epochs:.0f} epochs; Nakkiran et al.'s epoch-wise second descent (Fig. 1, right) "
                "comes over a 4K-epoch run",
            checks=[exact_check("largest rise of the test error above its running minimum", rise, ">=", delta,
                                "one seed-mean curve")]))


def _mw_claims(mw: dict[str, Any], ew: dict[str, Any], spec: DoubleDescentSpec) -> list[Claim]:
    noisy, clean = mw["noise"].get(f"{max(spec.noise):g}"), mw["noise"].get("0")
    out = []
    if noisy is not None and noisy["label_noise"] > 0:
        out += _noisy_claims(mw, noisy, clean, spec.fit_threshold)
    if clean is not None:
        out += _clean_claims(mw, clean, spec.fit_threshold)
    return out + [_epoch_claim(ew, spec)]


def _ensemble_claim(ens: dict[str, Any]) -> Claim:
    """rise(ensemble curve) − ½ rise(mean single-model curve), both over the same members; the interval ± 1.96
    standard errors of a bootstrap over the members, each resample recomputing BOTH curves (the ensemble's own member
    noise and the single models' seed noise together)."""
    members, boot = ens["member_test_err"], ens["boot_ensemble_test_err"]
    single = lambda rows: [mean(col) for col in zip(*rows)]  # noqa: E731

    def stat(ensemble, rows) -> float:
        return _rise(ensemble) - 0.5 * _rise(single(rows))

    def interval(statistic) -> Interval:
        """± 1.96 bootstrap s.e. around the estimate: a resample with repeated members is a smaller ensemble, so
        its percentiles sit on the biased side of the estimate (an ensemble's error falls with its size)."""
        draws = [statistic(e, [members[i] for i in idx]) for e, idx in zip(boot, ens["boot_index"])]
        est, m = statistic(ens["ensemble_test_err"], members), sum(draws) / len(draws)
        se = (sum((d - m) ** 2 for d in draws) / (len(draws) - 1)) ** 0.5
        return Interval(est, est - 1.96 * se, est + 1.96 * se, len(members),
                        f"± 1.96 bootstrap s.e. over the {len(members)} members ({len(draws)} resamples; ensemble and "
                        "single-model curves recomputed in each)")

    peak = panels.rise_peak(single(members))[0]
    at_peak = (lambda e, rows: e[peak] - single(rows)[peak]) if peak is not None else None  # noqa: E731
    iv = interval(stat)
    return Claim(id="double-descent/mw-ensemble-removes-peak", source="d'Ascoli et al. 2020; Geiger et al. 2020 (the "
                 "peak is variance)", paper="averaging removes most of the peak",
                 statement=f"averaging the predictions of {len(members)} members per width (label noise "
                           f"{ens['noise']:g}, widths {ens['widths'][0]}-{ens['widths'][-1]}) removes at least half "
                           "of the single models' model-wise peak",
                 measured={"single_rise": _rise(single(members)), "ensemble_rise": _rise(ens["ensemble_test_err"]),
                           "ensemble_test_err": ens["ensemble_test_err"]},
                 checks=[Check(name="ensemble peak rise − ½ × single-model peak rise (test error above its running "
                                    "min)", op="<=", threshold=0.0, interval=iv)],
                 expected=Prediction(
                     outcome="averaging lowers the error at the single models' peak (it removes the initialization "
                             "variance) but leaves more than half of the rise",
                     why=f"with {ens['noise']:.0%} label noise every member fits the same noisy labels: d'Ascoli et "
                         "al. 2020 split the peak's variance into an initialization part, which averaging over "
                         "initializations removes, and sampling / label-noise parts, which it leaves and which peak "
                         "at the threshold too (Geiger et al.'s monotone ensemble curve has no label noise)",
                     checks=[Check(name="ensemble error − mean single-model error at the single models' peak width",
                                   op="<", threshold=0.0, interval=interval(at_peak)) if at_peak is not None
                             else fact_check("the single models' curve has a peak", False)])
                 if ens["noise"] > 0 else None)


def claims(results: dict[str, Any], spec: DoubleDescentSpec) -> list[Claim]:
    out = _rf_claims(results["random_features"]) + _mw_claims(results["model_wise"], results["epoch_wise"], spec)
    return out + [_ensemble_claim(results["ensemble"])]


def figures(results: dict[str, Any], spec: DoubleDescentSpec, out: Path) -> list[str]:
    return [panels.figure_random_features(results["random_features"], out),
            panels.figure_model_wise(results["model_wise"], out),
            panels.figure_ensemble(results["ensemble"], out),
            panels.figure_epoch_wise(results["epoch_wise"], out)]


EXPERIMENT = Experiment(
    name="double-descent",
    title="Double descent: random features, model-wise and epoch-wise",
    paper="Belkin, Hsu, Ma & Mandal 2019; Nakkiran, Kaplun, Bansal, Yang, Barak & Sutskever 2019",
    claim="test error peaks at the interpolation threshold and falls again beyond it; label noise enlarges the peak",
    # 1057 before the ensemble panel; its 6 members (widths <= 102) add about a quarter of the model-wise sweep's
    # cost (the quick run, escalated to 12 members by the old all-fields escalation: 868 CPU-s on a loaded machine)
    quick_wall_s=739,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    # each model-wise seed costs ~450 s in CI: no escalation of those in quick; the ensemble's members (widths <= 102,
    # noisy data only) cost ~30 s each and escalate to 12
    seed_fields=("rf_seeds", "seeds", "ensemble_seeds"), max_seeds={"rf_seeds": 3, "seeds": 2, "ensemble_seeds": 12},
    seed_scope={"double-descent/rf-": ("rf_seeds",), "double-descent/mw-": ("seeds",),
                "double-descent/epoch-": ("seeds",), "double-descent/mw-ensemble-": ("ensemble_seeds",)},
    on_digits=True,
    presets={
        "smoke": DoubleDescentSpec(rf_data=DataSpec(n_train=100, n_test=200), rf_ratios=(0.2, 0.5, 1.0, 2.0, 8.0, 10.0),
                                   rf_seeds=(0,), data=DataSpec(n_train=200, n_test=200), widths=(2, 8, 32),
                                   buckets=2, train=TrainSpec(optimizer="sgd", lr=1e-2, steps=40, eval_points=5),
                                   ensemble_seeds=(100, 101, 102), ensemble_max_width=32, ensemble_boot=100),
        "quick": DoubleDescentSpec(),
        "full": DoubleDescentSpec(rf_seeds=tuple(range(6)), seeds=(0, 1, 2),
                                  widths=(2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 47, 61, 80, 104, 135, 177, 230, 300),
                                  train=TrainSpec(optimizer="sgd", lr=1e-2, momentum=0.9, batch_size=100, steps=20000,
                                                  eval_points=40)),
    },
    run=run, claims=claims, figures=figures,
)
