"""Weight-matrix spectra of any ``nn.Module`` (Martin & Mahoney's heavy-tailed self-regularization, HT-SR).

    >>> layers, summary = model_spectra(model, seed=0)       # every Linear / Conv1d / Conv2d layer
    >>> layer_metrics(layer.weight, seed=0)["alpha"]         # one matrix

Papers: Martin & Mahoney, "Implicit self-regularization in deep neural networks: evidence from random matrix
theory and implications for learning" (JMLR 2021, arXiv:1810.01075) and "Predicting trends in the quality of
state-of-the-art neural networks without access to training or testing data" (Nature Comm. 2021).

Conventions, matched to WeightWatcher 0.7.x's defaults so that both tools measure the same ESD:
- A layer is a stack of N×M matrices W (N >= M, transposed where needed): Linear → its weight (ScaledLinear:
  the effective weight, ``w_mult`` included); Conv2d (out, in, kh, kw) → the kh·kw slices W[:, :, i, j];
  Conv1d (out, in, k) → the k slices W[:, :, t], i.e. treated as the Conv2d (out, in, k, 1) it equals (WW 0.7.7
  itself passes the 3-D kernel on as one "matrix" with M = min(out, in, k) and so skips most Conv1d layers).
  Conv slices are multiplied by √(1/2), WW's ``conv2d_norm=True``; it halves the eigenvalues, shifts the log
  norms by log10(1/2) and leaves alpha, stable rank and the soft rank unchanged.
- ESD: the M eigenvalues of X = WᵀW per slice, pooled over slices, NOT divided by N (WW's convention), computed
  in float64 as eigvalsh of the Gram matrix (absolute error ≲ M·ε·λ_max: ~1e-13 relative on the tail that the
  fits use; ~3x faster than svdvals at 2048², which ``method="svd"`` uses instead).
- Layers with M·rf < 8 or > 15000 eigenvalues or N > 50000 are skipped (WW's min_evals, max_evals, max_N).
- Marchenko–Pastur: for X = WᵀW/N, i.i.d. entries of variance σ², Q = N/M >= 1, the bulk is
  [σ²(1 - 1/√Q)², σ²(1 + 1/√Q)²]; in the ESD's units (no 1/N) multiply by N. σ² is fitted to a randomized
  copy of the layer (each slice's entries permuted by a seeded generator: correlations destroyed, entry
  distribution kept; its ESD in float32, as only its median and top values are used) by matching the median of
  its ESD to the MP median, which is robust to the randomized copy's own outliers when entries are heavy-tailed.
  Spikes are eigenvalues above λ+ plus a Tracy–Widom margin (Johnstone 2001 scale
  σ²(√N + √M)(1/√N + 1/√M)^{1/3}, at the level where a pure-noise layer of rf slices shows a false spike with
  probability 1%, from the TW1 right tail e^{-2s^{3/2}/3}/(4√π s^{3/4})).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import nn

from .powerlaw_fit import bootstrap_alpha, fit_power_law, power_law_quality

__all__ = ["LayerMatrices", "METRIC_NOTES", "layer_matrices", "esd", "marchenko_pastur_edge",
           "marchenko_pastur_density", "marchenko_pastur_median", "tracy_widom_margin", "randomized_esd",
           "layer_metrics", "model_spectra"]

MIN_EVALS, MAX_EVALS, MAX_N = 8, 15000, 50000  # WeightWatcher 0.7.x analyze() defaults
CONV_NORM = math.sqrt(0.5)  # WW: sqrt(conv2d_count / 2) with conv2d_count = 1 when pooling (its default)

METRIC_NOTES = {
    "alpha": "Power-law exponent of the ESD tail (CSN fit, KS-chosen xmin); MM report alpha in about [2, 6] for "
             "the layers of well-trained models and smaller alpha for more strongly correlated layers (MM 2021 JMLR); "
             "a range they associate with training quality, not a certificate of it, and only meaningful when the "
             "verdict says the tail is a power law.",
    "alpha_weighted": "alpha * log10(lambda_max); averaged over layers it is the 'alpha-hat' metric whose trend "
                      "across models of one family correlated with test accuracy (MM 2021 Nature Comm.); a between-"
                      "model comparison, not an absolute scale.",
    "log_norm": "log10 of the squared Frobenius norm (sum of the ESD); the layer-averaged version tracks test "
                "accuracy within a model family in MM 2021 (Nature Comm.), as a norm-based capacity measure would.",
    "log_spectral_norm": "log10 of lambda_max, the squared largest singular value; the scale entering spectral "
                         "norm bounds (Bartlett et al. 2017) and alpha_weighted.",
    "stable_rank": "sum of eigenvalues / lambda_max: how many directions carry the layer's energy; small values "
                   "mean a few dominant directions (MM 2021 JMLR use it to track their 5+1 phases of training).",
    "mp_softrank": "MP bulk edge of the randomized layer / lambda_max: near 1 the layer looks like noise (no "
                   "eigenvalue beyond random), near 0 a few large eigenvalues dominate (MM 2021 JMLR).",
    "num_spikes": "eigenvalues above the Marchenko-Pastur edge (plus a Tracy-Widom margin) of the randomized "
                  "layer: directions carrying more variance than the entries' distribution alone would produce, "
                  "MM's signal 'spikes' (Bulk+Spikes phase); a count, not a measure of quality.",
    "mp_edge": "the fitted MP bulk edge lambda+ of the randomized layer, in ESD units (no 1/N).",
    "xmin": "the eigenvalue where the fitted power-law tail starts (chosen by the KS distance, CSN 2009); the "
            "tail holds n_tail eigenvalues, and alpha describes only them.",
    "D": "KS distance between the tail and the fitted power law: ~0.5/sqrt(n_tail) is sampling noise for a true "
         "power law; the verdict turns it into a p-value.",
    "alpha_ci": "95% bootstrap percentile interval of alpha, xmin re-chosen in every resample: how well this "
                "spectrum determines alpha (wide intervals are common for tails of a few dozen eigenvalues).",
    "verdict": "whether the tail is a power law at all (CSN 2009 KS bootstrap plus likelihood-ratio tests against "
               "exponential and lognormal tails); alpha-based statements need 'power law' here.",
    "num_rand_spikes": "eigenvalues of the randomized layer above its own MP edge: caused by individual large "
                       "entries, not correlations (WW's 'correlation traps'); expected when entries are "
                       "heavy-tailed (mu < 4), where Tracy-Widom statistics do not apply.",
}


@dataclass(frozen=True)
class LayerMatrices:
    name: str
    kind: str  # linear | conv1d | conv2d | recurrent (one gate) | attention (q, k or v) | embedding | matrix
    shape: tuple[int, ...]  # the weight's shape
    matrices: torch.Tensor  # (rf, N, M), N >= M, float64, conv norm applied

    @property
    def N(self) -> int:
        return self.matrices.shape[1]

    @property
    def M(self) -> int:
        return self.matrices.shape[2]

    @property
    def rf(self) -> int:
        return self.matrices.shape[0]


def _stack(w: torch.Tensor) -> torch.Tensor:
    """(rf, out, in) → float64 (rf, N, M) with N >= M."""
    w = w.detach().to(torch.float64)
    return w.transpose(1, 2) if w.shape[1] < w.shape[2] else w


GATES = {"GRU": ("reset", "update", "new"), "LSTM": ("input", "forget", "cell", "output"), "RNN": ("",)}


def layer_matrices(module: nn.Module, conv_norm: bool = True) -> list[LayerMatrices]:
    """The weight matrices of ``module``, in registration order: every Linear / ScaledLinear / Conv1d / Conv2d
    weight; each gate of a recurrent cell's input and hidden weights (GRU's reset/update/new, LSTM's
    input/forget/cell/output: ``weight_ih_l0[reset]``, …); the query, key and value projections of an attention
    layer (``in_proj_weight[q]``, …); embedding tables; and any other 2-D parameter as one matrix."""
    from whynets.models.layers import ScaledLinear

    out, seen = [], set()

    def add(name: str, kind: str, w: torch.Tensor, mats: torch.Tensor, owner: torch.Tensor) -> None:
        seen.add(id(owner))
        out.append(LayerMatrices(name=name, kind=kind, shape=tuple(w.shape), matrices=mats))

    for name, mod in module.named_modules():
        w = getattr(mod, "weight", None)
        label = name or type(module).__name__
        if isinstance(mod, nn.Linear) or isinstance(mod, ScaledLinear):
            add(label, "linear", w, _stack(w[None] * getattr(mod, "w_mult", 1.0)), w)
        elif isinstance(mod, (nn.Conv1d, nn.Conv2d)):
            kind = "conv1d" if isinstance(mod, nn.Conv1d) else "conv2d"
            add(label, kind, w, _stack(w.flatten(2).permute(2, 0, 1)) * (CONV_NORM if conv_norm else 1.0), w)
        elif isinstance(mod, nn.Embedding):
            add(label, "embedding", w, _stack(w[None]), w)
        elif isinstance(mod, nn.RNNBase):
            gates = GATES.get(mod.mode.split("_")[0], ("",)) if mod.mode in ("GRU", "LSTM") else ("",)
            for pname, p in mod.named_parameters(recurse=False):
                if not pname.startswith("weight_"):
                    continue
                for g, block in zip(gates, p.chunk(len(gates), 0)):
                    add(f"{label}.{pname}" + (f"[{g}]" if g else ""), "recurrent", block, _stack(block[None]), p)
        elif isinstance(mod, nn.MultiheadAttention):
            if mod.in_proj_weight is not None:
                for g, block in zip("qkv", mod.in_proj_weight.chunk(3, 0)):
                    add(f"{label}.in_proj_weight[{g}]", "attention", block, _stack(block[None]), mod.in_proj_weight)
            for g in "qkv":
                p = getattr(mod, f"{g}_proj_weight", None)
                if p is not None:
                    add(f"{label}.{g}_proj_weight", "attention", p, _stack(p[None]), p)
    for pname, p in module.named_parameters():  # anything else that is a matrix (a positional table, a custom map)
        if id(p) not in seen and p.dim() == 2 and min(p.shape) > 1:
            add(pname, "matrix", p, _stack(p.detach()[None]), p)
    return out


def unanalyzed(module: nn.Module, conv_norm: bool = True) -> list[tuple[str, str]]:
    """(name, why) for every parameter whose spectrum ``layer_matrices`` does not read."""
    covered = {lm.name.split("[")[0] for lm in layer_matrices(module, conv_norm)}
    out = []
    for pname, p in module.named_parameters():
        owner = pname.rsplit(".", 1)[0] if "." in pname else ""
        if pname in covered or (pname.endswith(".weight") and owner in covered) or pname.split("[")[0] in covered:
            continue
        if p.dim() <= 1 or min(p.shape) == 1:
            why = "a vector (a bias, or a normalization's scale or shift): no spectrum"
        else:
            why = f"a {p.dim()}-D tensor {tuple(p.shape)} of no layer type whose matrices are known (Conv3d, a custom op)"
        out.append((pname, why))
    return out


def _as_stack(W) -> torch.Tensor:
    if isinstance(W, LayerMatrices):
        return W.matrices
    W = torch.as_tensor(W)
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3:
        raise ValueError(f"expected a matrix (out, in), a stack (rf, out, in) or LayerMatrices, got shape "
                         f"{tuple(W.shape)}")
    return _stack(W)


def esd(W, method: str = "gram", dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Eigenvalues of WᵀW (no 1/N), pooled over the slices of a stack, ascending, in ``dtype`` on W's device."""
    W = _as_stack(W).to(dtype)
    if method == "gram":
        ev = torch.linalg.eigvalsh(W.transpose(1, 2) @ W).clamp_min(0)
    elif method == "svd":
        ev = torch.linalg.svdvals(W).square()
    else:
        raise ValueError(f"method must be 'gram' or 'svd', got {method!r}")
    return torch.sort(ev.reshape(-1)).values.double()


def marchenko_pastur_edge(sigma2: float, Q: float) -> tuple[float, float]:
    """(λ-, λ+) = σ²(1 ∓ 1/√Q)² of X = WᵀW/N, W N×M with i.i.d. entries of variance σ², Q = N/M >= 1."""
    if Q < 1:
        raise ValueError(f"Q = N/M must be >= 1 (transpose W so that N >= M), got {Q}")
    return sigma2 * (1 - Q ** -0.5) ** 2, sigma2 * (1 + Q ** -0.5) ** 2


def marchenko_pastur_density(x, sigma2: float, Q: float) -> torch.Tensor:
    """MP density of X = WᵀW/N: sqrt((λ+ - x)(x - λ-)) / (2π σ² x / Q) on the bulk, 0 elsewhere."""
    lo, hi = marchenko_pastur_edge(sigma2, Q)
    x = torch.as_tensor(x, dtype=torch.float64)
    inside = (x > lo) & (x < hi)
    val = torch.sqrt(((hi - x) * (x - lo)).clamp_min(0)) / (2 * math.pi * sigma2 * x.clamp_min(1e-300) / Q)
    return torch.where(inside, val, torch.zeros_like(x))


@functools.lru_cache(maxsize=256)
def marchenko_pastur_median(Q: float, cells: int = 8192) -> float:
    """Median of MP(σ² = 1, Q): the CDF integrated in λ = c - h cos θ, where ρ dλ/dθ is smooth (midpoint rule)."""
    lo, hi = marchenko_pastur_edge(1.0, Q)
    c, h = (lo + hi) / 2, (hi - lo) / 2
    edges = torch.linspace(0, math.pi, cells + 1, dtype=torch.float64)
    mid = (edges[1:] + edges[:-1]) / 2
    mass = h ** 2 * torch.sin(mid) ** 2 / (2 * math.pi * (c - h * torch.cos(mid)) / Q) * (math.pi / cells)
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(mass, 0)])
    half = 0.5 * float(cdf[-1])
    i = int(torch.searchsorted(cdf, torch.tensor([half], dtype=torch.float64)))
    lam = c - h * torch.cos(edges)
    return float(lam[i - 1] + (half - cdf[i - 1]) / (cdf[i] - cdf[i - 1]) * (lam[i] - lam[i - 1]))


def tracy_widom_margin(sigma2: float, N: int, M: int, slices: int = 1, level: float = 0.01) -> float:
    """Margin above N·λ+ (ESD units) that the largest of ``slices`` pure-noise N×M ESDs exceeds with
    probability ``level``: s·σ²(√N + √M)(1/√N + 1/√M)^{1/3}, s solving the TW1 right tail = level/slices."""
    target = level / slices
    lo, hi = 0.5, 12.0
    for _ in range(100):
        s = (lo + hi) / 2
        tail = math.exp(-2 / 3 * s ** 1.5) / (4 * math.sqrt(math.pi) * s ** 0.75)
        lo, hi = (s, hi) if tail > target else (lo, s)
    return s * sigma2 * (math.sqrt(N) + math.sqrt(M)) * (N ** -0.5 + M ** -0.5) ** (1 / 3)


def randomized_esd(W, seed: int | torch.Generator = 0, method: str = "gram",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """ESD of a copy of W whose entries are permuted within each slice by a seeded generator. Only statistics
    of it are used (its median and largest values), so float32 (relative error ~1e-6) is the default."""
    W = _as_stack(W)
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    flat = W.reshape(W.shape[0], -1)
    perm = torch.stack([torch.randperm(flat.shape[1], generator=g) for _ in range(flat.shape[0])]).to(W.device)
    return esd(torch.gather(flat, 1, perm).reshape(W.shape), method, dtype)


def layer_metrics(W, seed: int = 0, n_boot: int = 200, n_reps: int = 100, method: str = "gram") -> dict:
    """The HT-SR metrics of one layer (see METRIC_NOTES). ``n_boot=0`` skips the bootstrap CI of alpha and
    ``n_reps=0`` the goodness-of-fit verdict (the two costly parts; both None then)."""
    W = _as_stack(W)
    rf, N, M = W.shape
    ev = esd(W, method)
    lam_max, total = float(ev[-1]), float(ev.sum())
    if not lam_max > 0:
        raise ValueError(f"layer of shape {tuple(W.shape)} is all zeros: no spectrum to analyze")
    Q = N / M
    rand = randomized_esd(W, seed, method)
    sigma2 = float(torch.quantile(rand, 0.5)) / N / marchenko_pastur_median(Q)
    edge = N * marchenko_pastur_edge(sigma2, Q)[1]
    cut = edge + tracy_widom_margin(sigma2, N, M, rf)
    evals = ev.cpu()
    try:
        fit = fit_power_law(evals)
    except ValueError as err:
        raise ValueError(f"layer of shape {tuple(W.shape)}: {err}") from None
    out = {"N": N, "M": M, "Q": Q, "rf": rf, "num_evals": len(ev), "lambda_max": lam_max, "alpha": fit.alpha,
           "xmin": fit.xmin, "D": fit.D, "n_tail": fit.n_tail, "sigma": fit.sigma,
           "alpha_weighted": fit.alpha * math.log10(lam_max), "log_norm": math.log10(total),
           "log_spectral_norm": math.log10(lam_max), "stable_rank": total / lam_max, "mp_sigma2": sigma2,
           "mp_edge": edge, "mp_softrank": edge / lam_max, "num_spikes": int((ev > cut).sum()),
           "num_rand_spikes": int((rand > cut).sum()), "rand_lambda_max": float(rand[-1])}
    out["alpha_ci"] = None
    if n_boot:
        ci = bootstrap_alpha(evals, n_boot, seed)
        out["alpha_ci"] = (ci.low, ci.high)
    out["verdict"] = power_law_quality(evals, fit, n_reps=n_reps, seed=seed) if n_reps else None
    return out


def model_spectra(module: nn.Module, seed: int = 0, n_boot: int = 200, n_reps: int = 100, *, conv_norm: bool = True,
                  min_evals: int = MIN_EVALS, max_evals: int = MAX_EVALS, max_N: int = MAX_N,
                  method: str = "gram") -> tuple[list[dict], dict]:
    """Per-layer metrics of every supported layer of ``module`` and a summary (means over analyzed layers,
    total spikes, skipped layers with the reason)."""
    from whynets.engine import mix_seed

    layers, skipped = [], []
    for lm in layer_matrices(module, conv_norm):
        n_ev = lm.M * lm.rf
        if n_ev < min_evals or n_ev > max_evals or lm.N > max_N:
            skipped.append((lm.name, f"{n_ev} eigenvalues (N={lm.N}); analyzed: {min_evals}..{max_evals} "
                                     f"eigenvalues, N <= {max_N}"))
            continue
        try:
            metrics = layer_metrics(lm, mix_seed(seed, lm.name), n_boot, n_reps, method)
        except ValueError as err:  # e.g. an all-zero or identity layer: reported, not turned into numbers
            skipped.append((lm.name, str(err)))
            continue
        layers.append({"name": lm.name, "kind": lm.kind, "shape": lm.shape, **metrics})
    if not layers and not skipped:
        raise ValueError(f"{type(module).__name__} has no weight matrices to analyze")
    skipped += unanalyzed(module, conv_norm)
    mean = lambda key: sum(l[key] for l in layers) / len(layers) if layers else math.nan  # noqa: E731
    summary = {"n_layers": len(layers), "skipped": skipped, "num_spikes": sum(l["num_spikes"] for l in layers),
               **{key: mean(key) for key in ("alpha", "alpha_weighted", "log_norm", "log_spectral_norm",
                                             "stable_rank", "mp_softrank")}}
    return layers, summary
