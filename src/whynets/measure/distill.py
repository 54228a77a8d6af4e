"""Students that mimic a teacher: distillation losses (Hinton, Vinyals & Dean 2015; Ba & Caruana 2014) and
transfer sets larger than the training set.

* ``kind="kl"`` (Hinton): T²·KL(softmax(t/T) ‖ softmax(s/T)), averaged over the batch. The T² keeps the
  gradient's scale independent of T: ∂/∂s = T·(softmax(s/T) − softmax(t/T))/B. For large T it tends to
  Ba & Caruana's logit matching on zero-mean logits, (1/(2C))·‖(s − s̄) − (t − t̄)‖² per example.
* ``kind="logit_mse"`` (Ba & Caruana): L2 regression on the raw logits, ½‖s − t‖² per example, averaged
  over the batch (their 1/(2T)·Σ_t‖g(x_t) − z_t‖²); no temperature.

Logits are (B, C) or a population's (K, B, C), giving a scalar or per-member (K,) means; a shared teacher
(B, C) meets K students (K, B, C) by broadcasting. The teacher is a target: it is detached.

``transfer_set`` builds the inputs a student is taught on: the training inputs plus mixup points
(λx_i + (1 − λ)x_j, λ ~ Beta(α, α), i ≠ j) and/or noisy copies (x_i + σ·std_feature·ε). Labels come from
the teacher: ``teacher(transfer_set(x, ...))``.

    >>> xs = transfer_set(ds.x, 4 * len(ds.x), torch.Generator().manual_seed(0), kind="both")
    >>> loss = distillation_loss(pop(xb), teacher(xb), temperature=4.0).sum()   # (K,) → one backward
Run the oracle tests with ``pytest tests/test_measure_distill.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy.special import betaincinv

__all__ = ["distillation_loss", "transfer_set", "TRANSFER_KINDS"]

TRANSFER_KINDS = ("mixup", "noise", "both", "swap")


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0,
                      kind: str = "kl") -> torch.Tensor:
    """Batch-mean distillation loss: a scalar for (B, C) logits, per-member (K,) for (K, B, C)."""
    s, t = student_logits, teacher_logits.detach()
    if s.ndim not in (2, 3):
        raise ValueError(f"student logits must be (B, C) or (K, B, C), got shape {tuple(s.shape)}")
    if t.shape != s.shape and not (s.ndim == 3 and t.shape == s.shape[1:]):
        raise ValueError(f"teacher logits {tuple(t.shape)} must match the student's {tuple(s.shape)} "
                         "(or be one (B, C) teacher for (K, B, C) students)")
    if kind == "kl":
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        log_p_s = F.log_softmax(s / temperature, dim=-1)
        log_p_t = F.log_softmax(t.to(s.dtype) / temperature, dim=-1)
        per_example = (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1)
        return temperature ** 2 * per_example.mean(-1)
    if kind == "logit_mse":
        if temperature != 1.0:
            raise ValueError(f"kind='logit_mse' regresses raw logits (Ba & Caruana) and has no temperature; "
                             f"got temperature={temperature}, pass 1.0 or use kind='kl'")
        return 0.5 * (s - t.to(s.dtype)).pow(2).sum(-1).mean(-1)
    raise ValueError(f"kind must be 'kl' or 'logit_mse', got {kind!r}")


def _beta(n: int, alpha: float, gen: torch.Generator) -> torch.Tensor:
    """n draws of Beta(α, α) from ``gen`` by the inverse CDF of uniforms (float64)."""
    u = torch.rand(n, generator=gen, dtype=torch.float64, device=gen.device).cpu().numpy()
    return torch.as_tensor(betaincinv(alpha, alpha, u), dtype=torch.float64)


def transfer_set(x: torch.Tensor, n: int, generator: torch.Generator | int, kind: str = "both",
                 alpha: float = 1.0, noise_std: float = 0.1) -> torch.Tensor:
    """``n`` inputs: the len(x) training inputs first, then n − len(x) new points: mixup pairs (``mixup``),
    noisy copies (``noise``), or half of each, mixup first (``both``; the odd one is a mixup point); or, for
    discrete inputs (token ids, categories) where a mixture or a noisy value means nothing, ``swap``: every feature
    of a new point is that feature of a random training input (each value seen in training at its position).

    ``alpha`` is the Beta(α, α) mixing parameter (1 = λ uniform on [0, 1]); ``noise_std`` is in units of
    each feature's standard deviation over the training inputs. All draws come from ``generator`` (or a
    seed), on the generator's device; the result is on x's device, in x's dtype."""
    if kind not in TRANSFER_KINDS:
        raise ValueError(f"kind must be one of {TRANSFER_KINDS}, got {kind!r}")
    if not torch.is_floating_point(x) or x.ndim < 1:
        raise ValueError(f"x must be a float tensor with examples first, got {x.dtype} of shape {tuple(x.shape)}")
    m = len(x)
    if n < m:
        raise ValueError(f"a transfer set contains the {m} training inputs, so n must be >= {m}, got {n}")
    if not alpha > 0 or not noise_std >= 0:
        raise ValueError(f"need alpha > 0 and noise_std >= 0, got alpha={alpha}, noise_std={noise_std}")
    extra = n - m
    gen0 = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
    if kind == "swap":
        flat = x.reshape(m, -1)
        rows = torch.randint(m, (extra, flat.shape[1]), generator=gen0, device=gen0.device).to(x.device)
        new = flat.gather(0, rows).reshape(extra, *x.shape[1:])
        return torch.cat([x, new])
    n_mix = {"mixup": extra, "noise": 0, "both": extra - extra // 2}[kind]
    if n_mix and m < 2:
        raise ValueError("mixup needs at least 2 training inputs")
    gen = gen0
    dev = gen.device
    parts = [x]
    if n_mix:
        i = torch.randint(m, (n_mix,), generator=gen, device=dev)
        j = (i + torch.randint(1, m, (n_mix,), generator=gen, device=dev)) % m  # uniform over j ≠ i
        lam = _beta(n_mix, alpha, gen).to(x.device, x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        i, j = i.to(x.device), j.to(x.device)
        parts.append(lam * x[i] + (1 - lam) * x[j])
    n_noise = extra - n_mix
    if n_noise:
        i = torch.randint(m, (n_noise,), generator=gen, device=dev)
        eps = torch.randn((n_noise, *x.shape[1:]), generator=gen, dtype=x.dtype, device=dev).to(x.device)
        std = x.std(0, unbiased=m > 1) if m > 1 else torch.zeros_like(x[0])
        parts.append(x[i.to(x.device)] + noise_std * std * eps)
    return torch.cat(parts)
