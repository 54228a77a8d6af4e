"""The cells of the infinite-width experiment (``infinite_width.py``): each a pure function of what it consumes.

* ``kernel_convergence``: random one-hidden-layer nets (``kernels.finite_network``, NTK parametrization, one output) at
  each width and seed; ‖K_emp − K_∞‖_F/‖K_∞‖_F for the NNGP (the readout's input Gram matrix, σ_w²·φφᵀ/n + σ_b²) and
  for the NTK (``kernels.empirical_ntk``), on the first ``kernel_points`` training inputs.
* ``linearization``: a trained population (``ctx.train``) against its own initialization (the engine's seeded init,
  rebuilt exactly): relative weight change ‖θ_T − θ_0‖/‖θ_0‖, and the analytic NTK's gradient-descent prediction of
  the same training from the same initial function, f0 + Θ*Θ⁻¹(I − (I − sΘ)^k)(Y − f0(X)) (s = 2η/N, k steps):
  output discrepancy, class disagreement, both test accuracies.
* ``kernel_accuracy``: the infinite-width predictors on the same split: NNGP posterior mean, NTK at the training's
  end and at t = ∞ (one-hot targets, argmax).
* ``kurtosis``: ``kernels.finite_width.sample_output_moments`` for one (activation, depth, width).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from whynets.engine import mix_seed, population_for
from whynets.kernels import architecture, empirical_ntk, finite_network, gp_posterior, kernels, ntk_predict
from whynets.kernels.finite_width import excess_kurtosis, excess_kurtosis_leading, sample_output_moments

__all__ = ["kernel_convergence", "linearization", "kernel_accuracy", "kurtosis"]


def _arch(spec):
    return architecture(depth=1, activation=spec.activation, sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2)


def _inputs(ds) -> tuple[torch.Tensor, int]:
    return torch.cat([ds.x, ds.x_test]).flatten(1).double().cpu(), len(ds.y)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def kernel_convergence(ctx, spec) -> dict[str, Any]:
    arch = _arch(spec)

    def fn(cell_dir: Path) -> dict[str, Any]:
        x = ctx.data(spec.data).x[:spec.kernel_points].flatten(1).cpu()
        exact = kernels(x.double(), depth=1, activation=spec.activation, sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2)
        rows = []
        for width in spec.kernel_widths:
            for seed in spec.kernel_seeds:
                gen = torch.Generator().manual_seed(mix_seed(seed, width, "kernel-convergence"))
                net = finite_network(arch, (x.shape[1],), width, out=1, generator=gen).eval()
                with torch.no_grad():
                    feats = net[:-1](x).double()
                k_emp = spec.sigma_w2 * feats @ feats.T / width + spec.sigma_b2
                t_emp = empirical_ntk(net, x, mode="trace").double()
                rows.append({"width": width, "seed": seed, "nngp_error": _rel(k_emp, exact.nngp),
                             "ntk_error": _rel(t_emp, exact.ntk)})
        return {"rows": rows}

    return ctx.cell({"part": "kernel-convergence"}, fn, data=spec.data, widths=list(spec.kernel_widths),
                    seeds=list(spec.kernel_seeds), points=spec.kernel_points, activation=spec.activation,
                    sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2)


def _step(spec, n_train: int) -> float:
    """Gradient-descent step in the flow's units (½Σ‖f − y‖²): whynets' mse is (1/N)Σ‖f − y‖², so s = 2η/N."""
    return 2 * spec.train.lr / n_train


def linearization(ctx, spec, width: int, model, trained: dict[str, Any]) -> dict[str, Any]:
    def fn(cell_dir: Path) -> dict[str, Any]:
        ds = ctx.data(spec.data)
        x, n = _inputs(ds)
        state = ctx.state(trained)
        pop = population_for(model, ds.to(ctx.device), state.seeds, ctx.device)
        theta0 = {k: v.detach().clone() for k, v in pop.params.items()}
        with torch.no_grad():
            f0 = pop(x.float().to(ctx.device)).double().cpu()
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        with torch.no_grad():
            ft = pop(x.float().to(ctx.device)).double().cpu()
        theta = kernels(x, depth=1, activation=spec.activation, sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2,
                        want=("ntk",)).ntk
        y = F.one_hot(ds.y.cpu(), ds.n_classes).double()
        s = _step(spec, n)
        rows, lins = [], []
        for m in range(pop.size):
            names = list(theta0)
            w0 = torch.cat([theta0[k][m].flatten() for k in names]).double()
            wt = torch.cat([pop.params[k][m].detach().flatten() for k in names]).double()
            lin = ntk_predict(theta[:n, :n], theta[n:, :n], y, s * spec.train.steps, gd_step=s, f0_train=f0[m, :n],
                              f0_test=f0[m, n:]).mean
            lins.append(lin)
            moved = (ft[m, n:] - f0[m, n:]).norm()
            y_test = ds.y_test.cpu()
            rows.append({"seed": int(state.seeds[m]), "weight_change": float((wt - w0).cpu().norm() / w0.cpu().norm()),
                         "output_discrepancy": float((ft[m, n:] - lin).norm() / moved),
                         "disagreement": float((ft[m, n:].argmax(1) != lin.argmax(1)).double().mean()),
                         "net_acc": float((ft[m, n:].argmax(1) == y_test).double().mean()),
                         "lin_acc": float((lin.argmax(1) == y_test).double().mean()),
                         "train_loss": float(((ft[m, :n] - y) ** 2).sum(1).mean())})
        y_test = ds.y_test.cpu()
        ensemble = ft[:, n:].mean(0)  # the members' mean output: their random f0 averages out (Lee et al. 2019 §2.3)
        return {"width": width, "rows": rows,
                "ensemble_acc": float((ensemble.argmax(1) == y_test).double().mean()),
                "ensemble_lin_acc": float((torch.stack(lins).mean(0).argmax(1) == y_test).double().mean())}

    return ctx.cell({"part": "linearization", "width": width}, fn, trained=trained["cell"], model=model,
                    data=spec.data, train=spec.train)


def kernel_accuracy(ctx, spec) -> dict[str, Any]:
    def fn(cell_dir: Path) -> dict[str, Any]:
        ds = ctx.data(spec.data)
        x, n = _inputs(ds)
        both = kernels(x, depth=1, activation=spec.activation, sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2)
        y = F.one_hot(ds.y.cpu(), ds.n_classes).double()
        y_test = ds.y_test.cpu()
        acc = lambda f: float((f.argmax(1) == y_test).double().mean())  # noqa: E731
        s = _step(spec, n)
        k, t = both.nngp, both.ntk
        return {"nngp_acc": acc(gp_posterior(k[:n, :n], k[n:, :n], y, noise=spec.gp_noise).mean),
                "ntk_acc_end": acc(ntk_predict(t[:n, :n], t[n:, :n], y, s * spec.train.steps, gd_step=s).mean),
                "ntk_acc_inf": acc(ntk_predict(t[:n, :n], t[n:, :n], y, math.inf).mean), "n_test": len(y_test)}

    return ctx.cell({"part": "kernel-accuracy"}, fn, data=spec.data, activation=spec.activation,
                    sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2, noise=spec.gp_noise, train=spec.train)


def kurtosis(ctx, spec, activation: str, depth: int, width: int) -> dict[str, Any]:
    def fn(cell_dir: Path) -> dict[str, Any]:
        gen = torch.Generator().manual_seed(mix_seed(spec.kurtosis_seed, activation, depth, width, "kurtosis"))
        m2, m4 = sample_output_moments(depth, width, activation, nets=spec.kurtosis_nets, generator=gen)
        a, b = m4.mean(), m2.mean()
        grad = torch.stack([1 / b**2, -2 * a / b**3])
        se = float((grad @ (torch.cov(torch.stack([m4, m2])) / len(m2)) @ grad).sqrt())  # delta method over nets
        return {"activation": activation, "depth": depth, "width": width, "nets": spec.kurtosis_nets,
                "excess_kurtosis": float(a / b**2 - 3), "se": se, "exact": excess_kurtosis(depth, width, activation),
                "leading": excess_kurtosis_leading(depth, width, activation)}

    return ctx.cell({"part": "kurtosis", "activation": activation, "depth": depth, "width": width}, fn,
                    nets=spec.kurtosis_nets, seed=spec.kurtosis_seed)
