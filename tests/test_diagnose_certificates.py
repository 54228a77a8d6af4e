"""Certificates that certify everything they depend on, and comparisons that cannot overclaim.

* the compression code charges every tensor the predictor reads: what it does not code is rebuilt by the decoder
  from a module built without data, so changing a BatchNorm statistic changes the code (it did not, once);
* the PAC-Bayes posterior holds every parameter and floating buffer; perturbing anything outside it leaves the
  predictions unchanged;
* the paired interval of diagnose's comparisons covers the true difference at its level (Monte Carlo), never collapses on
  identical scores, stays in the metric's range, and says "degenerate" where there is no variation at all.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import zoo
from whynets.measure.coding import compress_model, decode_compressed
from whynets.measure.pac_bayes import optimize_pac_bayes
from whynets.stats import paired_score_interval


def _bn_model():
    d = zoo.make_data("digits", 150, 60)
    torch.manual_seed(3)
    base = zoo.cnn_bn(4).eval()  # what the factory builds without data (the decoder's start)
    net = zoo.trained("cnn_bn", d, steps=40, hidden=4)
    return net, base, torch.tensor(d["x"]), torch.tensor(d["y"])


def _predict(net, x):
    with torch.no_grad():
        return net.eval()(x).argmax(-1)


def test_the_compression_code_covers_every_tensor_and_a_changed_statistic_changes_the_code():
    net, base, x, _ = _bn_model()
    code = compress_model(net, 8, seed=0, base=base)
    decoded = decode_compressed(code, base)
    assert set(decoded) == set(net.state_dict())
    for k, v in code.state_dict.items():  # the code + the data-free base rebuild the certified net exactly
        assert torch.equal(decoded[k], v.to(decoded[k].dtype)), k
    assert {"features.1.running_mean", "features.1.running_var"} <= set(code.raw)  # trained statistics: coded
    assert code.bits == code.bits_codebook + code.bits_counts + code.bits_symbols + code.bits_raw
    # the old failure: statistics changed, code length unchanged, predictions changed
    other = zoo.cnn_bn(4)
    other.load_state_dict(net.state_dict())
    with torch.no_grad():
        other.features[1].running_mean.add_(0.5)
    assert not torch.equal(_predict(net, x), _predict(other, x))
    code2 = compress_model(other, 8, seed=0, base=base)
    assert not torch.equal(code2.raw["features.1.running_mean"], code.raw["features.1.running_mean"])
    assert torch.equal(decode_compressed(code2, base)["features.1.running_mean"],
                       other.features[1].running_mean.float())
    # a tensor equal to the base costs nothing and is rebuilt: an untouched buffer of the base is not coded
    untouched = zoo.cnn_bn(4)
    untouched.load_state_dict({**net.state_dict(), "features.4.running_var": base.features[4].running_var})
    assert "features.4.running_var" not in compress_model(untouched, 8, seed=0, base=base).raw


def test_the_pac_bayes_posterior_holds_every_tensor_the_predictions_depend_on():
    net, base, x, y = _bn_model()
    prior = {k: (torch.zeros_like(v) if k in dict(net.named_parameters()) else base.state_dict()[k].clone())
             for k, v in net.state_dict().items() if v.is_floating_point()}
    res = optimize_pac_bayes(net, F.cross_entropy, x, y, prior_mean=prior, n_iters=5, seed=0, mc_passes=1,
                             mc_batch_size=30)
    charged = set(res.posterior_mean)
    uncharged = [k for k in net.state_dict() if k not in charged]
    assert charged == {k for k, v in net.state_dict().items() if v.is_floating_point()}
    reference = _predict(net, x)
    for k in uncharged:  # only BatchNorm's batch counters: eval mode does not read them
        other = zoo.cnn_bn(4)
        state = dict(net.state_dict())
        state[k] = state[k] + 1000
        other.load_state_dict(state)
        assert torch.equal(_predict(other, x), reference), k
    assert 0 < res.bound <= 1 and res.kl > 0


def test_the_paired_interval_covers_the_truth_and_never_overclaims():
    rng = np.random.default_rng(0)
    n, k, hits, sims = 400, 3, 0, 300
    for _ in range(sims):  # candidate: per-seed skill around 0.70 (seed noise) on a fresh test set; reference 0.65
        skill = 0.70 + rng.normal(0, 0.02, k)
        hard = rng.random(n)  # example difficulty, shared by both models (what pairing cancels)
        cand = np.stack([(hard < s) * 100.0 for s in skill])
        ref = (hard < 0.65) * 100.0
        # the comparison diagnose decides: candidate − yours on the same examples (the threshold moves with yours)
        iv = paired_score_interval(cand, ref, binary=True, difference=True)
        hits += iv.lo <= 5.0 <= iv.hi
    assert hits / sims >= 0.93  # a 95% interval, conservative by construction
    same = np.r_[np.full(528, 100.0), np.zeros(12)]
    iv = paired_score_interval([same, same, same], same, binary=True, bounds=(0, 100))
    assert 0 < iv.hi - iv.lo < 2 and 0 <= iv.lo and iv.hi <= 100  # identical scores: no zero-width interval
    top = np.full(50, 100.0)
    iv = paired_score_interval([top, top], np.r_[np.full(40, 100.0), np.zeros(10)], binary=True, bounds=(0, 100))
    assert iv.hi == 100.0  # clipped to the metric's range
    iv = paired_score_interval([np.ones(5)], np.ones(5), binary=False)
    assert iv.method.startswith("degenerate") and iv.lo == iv.hi
