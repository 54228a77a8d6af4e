"""SGD near a minimum as an Ornstein–Uhlenbeck process (Mandt, Hoffman & Blei 2017, "Stochastic gradient
descent as approximate Bayesian inference", JMLR 18:134).

Near a minimum w* the loss is ½(w − w*)ᵀA(w − w*) (A the Hessian) and a minibatch gradient of S examples
is A(w − w*) plus noise of covariance B/S (B the per-example gradient covariance). SGD with learning rate η,
w ← w − η(A(w − w*) + ξ), is then approximated by the OU process dw = −ηA(w − w*)dt + (η/√S)B^{1/2}dW, whose
stationary covariance Σ solves the Lyapunov equation (Mandt et al., eq. 13)

    AΣ + ΣAᵀ = (η/S)·B.

* ``ou_stationary_covariance(A, B, lr, batch_size)`` — for symmetric positive-definite A through its
  eigenbasis, A = UΛUᵀ: Σ̃_ij = (η/S) B̃_ij / (a_i + a_j) with B̃ = UᵀBU, Σ = UΣ̃Uᵀ (``method="eigh"``); for any
  A whose eigenvalues have positive real part by ``scipy.linalg.solve_continuous_lyapunov``
  (``method="lyapunov"``). ``"auto"`` picks eigh for symmetric A.
* ``discrete_sgd_stationary_covariance(A, B, lr, batch_size)`` — the exact stationary covariance of the
  discrete recursion itself, Σ = (I − ηA)Σ(I − ηA)ᵀ + η²B/S (a discrete Lyapunov equation). In A's eigenbasis
  Σ̃_ij = (η/S) B̃_ij / (a_i + a_j − η a_i a_j): it equals the OU answer to O(η·λ_max) and departs from it as
  η·λ_max → 2, where the recursion stops converging (e.g. ×2 on the top eigendirection at η·λ_max = 1).
* ``sgd_linear_regression_noise(X, y, w_star)`` — (A, B) for least squares ½·mean_i (x_iᵀw − y_i)²:
  A = XᵀX/n and B = (1/n)Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ with g_i = x_i(x_iᵀw* − y_i) (ḡ = 0 at the least-squares
  solution). B/S is the minibatch-noise covariance for S examples drawn with replacement (without
  replacement multiply by (n − S)/(n − 1)).

* ``least_squares_sgd_covariance(X, y, lr, batch_size, scale)`` — the EXACT stationary covariance of SGD on least
  squares with batches drawn with replacement, noise that grows with the spread included (what OU leaves out):
  AΣ + ΣA − ηAΣA − (η/S)(Q(Σ) − AΣA) = (η/S)B, Q(Σ) = mean_i H_iΣH_i; and ρ, how fast the start is forgotten.
* ``chain_covariance(w)`` — the covariance across chains (rows) of their parameters.

Inputs may be any float tensors; results are float64 on the device of A. Oracle tests:
``pytest tests/test_solvers_ou.py``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.linalg
import torch

__all__ = ["ou_stationary_covariance", "discrete_sgd_stationary_covariance", "sgd_linear_regression_noise",
           "least_squares_sgd_covariance", "chain_covariance"]

Method = Literal["auto", "eigh", "lyapunov"]


def _square(m: torch.Tensor, name: str) -> torch.Tensor:
    m = torch.as_tensor(m).to(torch.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {tuple(m.shape)}")
    if not torch.isfinite(m).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return m


def _is_symmetric(m: torch.Tensor) -> bool:
    return bool(torch.allclose(m, m.T, rtol=1e-10, atol=1e-12 * float(m.abs().max().clamp_min(1e-300))))


def _checked(a: torch.Tensor, b: torch.Tensor, lr: float, batch_size: int, method: str):
    a, b = _square(a, "A"), _square(b, "B").to(a.device)
    if a.shape != b.shape:
        raise ValueError(f"A {tuple(a.shape)} and B {tuple(b.shape)} must have the same shape (d, d)")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive whole number of examples, got {batch_size!r}")
    if method not in ("auto", "eigh", "lyapunov"):
        raise ValueError(f"method must be 'auto', 'eigh' or 'lyapunov', got {method!r}")
    if not _is_symmetric(b):
        raise ValueError("B (a gradient-noise covariance) must be symmetric")
    b = 0.5 * (b + b.T)
    b_eigs = torch.linalg.eigvalsh(b)
    if float(b_eigs.min()) < -1e-10 * max(float(b_eigs.abs().max()), 1e-300):
        raise ValueError(f"B must be positive semi-definite (a covariance); its smallest eigenvalue is "
                         f"{float(b_eigs.min()):.3g}")
    symmetric = _is_symmetric(a)
    if method == "eigh" and not symmetric:
        raise ValueError("method='eigh' needs a symmetric A (a Hessian); use method='lyapunov' for a general A")
    use_eigh = method == "eigh" or (method == "auto" and symmetric)
    if use_eigh:
        a = 0.5 * (a + a.T)
        eigs, vecs = torch.linalg.eigh(a)
        if float(eigs.min()) <= 0:
            raise ValueError(f"A must be positive definite for a stationary distribution (a minimum); its smallest "
                             f"eigenvalue is {float(eigs.min()):.3g}")
        return a, b, (eigs, vecs)
    re = np.linalg.eigvals(a.cpu().numpy()).real
    if re.min() <= 0:
        raise ValueError(f"A's eigenvalues must all have positive real part (a stable drift −A); the smallest "
                         f"real part is {re.min():.3g}")
    return a, b, None


def ou_stationary_covariance(A: torch.Tensor, B: torch.Tensor, lr: float, batch_size: int,
                             method: Method = "auto") -> torch.Tensor:
    """Σ solving AΣ + ΣAᵀ = (lr/batch_size)·B, the stationary covariance of the OU approximation of SGD."""
    a, b, eig = _checked(A, B, lr, batch_size, method)
    q = (lr / batch_size) * b
    if eig is not None:
        eigs, u = eig
        q_rot = u.T @ q @ u
        sigma = u @ (q_rot / (eigs[:, None] + eigs[None, :])) @ u.T
    else:
        sigma = torch.from_numpy(scipy.linalg.solve_continuous_lyapunov(a.cpu().numpy(), q.cpu().numpy()))
    sigma = sigma.to(a.device)
    return 0.5 * (sigma + sigma.T)


def discrete_sgd_stationary_covariance(A: torch.Tensor, B: torch.Tensor, lr: float, batch_size: int,
                                       method: Method = "auto") -> torch.Tensor:
    """Σ solving Σ = (I − lr·A)Σ(I − lr·A)ᵀ + lr²·B/batch_size, the exact stationary covariance of the linear
    SGD recursion w ← w − lr·(A(w − w*) + ξ), Cov ξ = B/batch_size. Needs every |1 − lr·a_i| < 1."""
    a, b, eig = _checked(A, B, lr, batch_size, method)
    m = torch.eye(a.shape[0], dtype=torch.float64, device=a.device) - lr * a
    radius = float(np.abs(np.linalg.eigvals(m.cpu().numpy())).max())
    if radius >= 1:
        top = float(eig[0].max()) if eig is not None else float(np.abs(np.linalg.eigvals(a.cpu().numpy())).max())
        raise ValueError(f"the SGD recursion diverges: spectral radius of I − lr·A is {radius:.4g} ≥ 1 "
                         f"(lr·λ_max = {lr * top:.4g}; a stationary covariance needs 0 < lr·λ < 2)")
    q = (lr * lr / batch_size) * b
    if eig is not None:
        eigs, u = eig
        q_rot = u.T @ q @ u
        denom = 1.0 - (1.0 - lr * eigs[:, None]) * (1.0 - lr * eigs[None, :])
        sigma = u @ (q_rot / denom) @ u.T
    else:
        sigma = torch.from_numpy(scipy.linalg.solve_discrete_lyapunov(m.cpu().numpy(), q.cpu().numpy()))
    sigma = sigma.to(a.device)
    return 0.5 * (sigma + sigma.T)


def sgd_linear_regression_noise(X: torch.Tensor, y: torch.Tensor,
                                w_star: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) of least squares ½·mean_i (x_iᵀw − y_i)² at w_star (default: the least-squares solution):
    the Hessian XᵀX/n and the per-example gradient covariance (1/n)Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ."""
    x = torch.as_tensor(X).to(torch.float64)
    if x.ndim != 2:
        raise ValueError(f"X must be a (n, d) design matrix, got shape {tuple(x.shape)}")
    n = x.shape[0]
    t = torch.as_tensor(y).to(device=x.device, dtype=torch.float64).reshape(-1)
    if t.shape[0] != n:
        raise ValueError(f"y has {t.shape[0]} entries but X has {n} rows; give one target per row")
    if w_star is None:
        w = torch.linalg.lstsq(x, t[:, None], driver="gelsd" if x.device.type == "cpu" else None).solution[:, 0]
    else:
        w = torch.as_tensor(w_star).to(device=x.device, dtype=torch.float64).reshape(-1)
        if w.shape[0] != x.shape[1]:
            raise ValueError(f"w_star has {w.shape[0]} entries but X has {x.shape[1]} columns")
    hessian = x.T @ x / n
    grads = x * (x @ w - t)[:, None]  # g_i = x_i (x_iᵀw − y_i)
    centred = grads - grads.mean(0)
    return hessian, centred.T @ centred / n


def least_squares_sgd_covariance(X: torch.Tensor, y: torch.Tensor, lr: float, batch_size: int, scale: float = 1.0,
                                 w_star: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
    """(Σ, ρ) of SGD on (scale/2)·mean_i (x_iᵀw − y_i)², batches of ``batch_size`` drawn with replacement: Σ solves
    AΣ + ΣA − ηAΣA − (η/S)(Q(Σ) − AΣA) = (η/S)B (H_i = scale·x_ix_iᵀ, A = mean H_i, Q(Σ) = mean H_iΣH_i, B = mean
    g_ig_iᵀ, g_i = scale·x_i(x_iᵀw* − y_i)); ρ < 1 is the spectral radius of the second-moment map, which forgets
    its start as ρ^t. Float64; d² unknowns (d <= 64)."""
    x = torch.as_tensor(X).to(torch.float64)
    n, d = x.shape
    if d > 64:
        raise ValueError(f"least_squares_sgd_covariance solves for d² = {d * d} unknowns; d = {d} is above 64")
    if not (lr > 0 and isinstance(batch_size, int) and batch_size >= 1 and scale > 0):
        raise ValueError(f"need lr > 0, a whole batch_size >= 1 and scale > 0; got {lr}, {batch_size!r}, {scale}")
    a_half, b_half = sgd_linear_regression_noise(x, y, w_star)
    a, b = scale * a_half, scale * scale * b_half
    z = (x[:, :, None] * x[:, None, :]).reshape(n, d * d)
    q = scale * scale * z.T @ z / n  # vec(Q(Σ)) = q vec(Σ): mean_i (H_i ⊗ H_i)
    eye, aa = torch.eye(d, dtype=torch.float64, device=x.device), torch.kron(a, a)
    op = torch.kron(eye, a) + torch.kron(a, eye) - lr * aa - (lr / batch_size) * (q - aa)
    rho = float(torch.linalg.eigvals(torch.eye(d * d, dtype=torch.float64, device=x.device) - lr * op).abs().max())
    if rho >= 1:
        raise ValueError(f"SGD's second moment diverges at lr={lr:g}, batch {batch_size}: its map has spectral radius "
                         f"{rho:.4g} >= 1 (use a smaller lr or a larger batch)")
    sigma = torch.linalg.solve(op, (lr / batch_size) * b.reshape(-1)).reshape(d, d)
    return 0.5 * (sigma + sigma.T), rho


def chain_covariance(w: torch.Tensor) -> torch.Tensor:
    """The covariance across chains (rows of ``w``, shape (K, d)) of their parameters, float64, ddof = 1."""
    w = torch.as_tensor(w).to(torch.float64)
    if w.ndim != 2 or w.shape[0] < 2:
        raise ValueError(f"chain_covariance needs (K >= 2 chains, d) parameters, got shape {tuple(w.shape)}")
    return torch.cov(w.T).reshape(w.shape[1], w.shape[1])
