"""Instruments: pure functions ``(model, loss_fn, batches, ...) -> numbers``, each with an oracle test; they work on
any ``nn.Module`` (a population member or a user's model) the same way.

Curvature: hvp (Hessian-vector products), lanczos (top/bottom-k eigenpairs, power iteration), trace (Hutchinson,
Hutch++), density (stochastic Lanczos quadrature), fisher (GGN, empirical/true Fisher), sharpness (ε-sharpness,
worst-case ℓ2), landscape (interpolation barriers, filter-normalized surfaces), effdim, curvature (exact spectra,
eigengap outliers), critical_points (Newton-type root finding).
Parameters: norms (path norms, norm products), spectra + powerlaw_fit (weight spectra, heavy-tailed
self-regularization), pruning (magnitude and random masks).
Generalization: bounds (test-set, PAC-Bayes, reference bounds), pac_bayes (optimized Gaussian posteriors), coding
(compression bounds), information (mutual-information estimators), stability (uniform-stability bounds), distill.
Closed-form trainers live in ``whynets.solvers``; per-member probes in ``whynets.probes``.
"""

from __future__ import annotations

from .hvp import (ModelLoss, HessianOperator, DenseOperator, hessian_operator, hessian_vector_product)
from .lanczos import (Eigenpairs, lanczos, lanczos_eigenpairs, power_iteration, hessian_eigenpairs)
from .trace import (TraceEstimate, hutchinson_trace, hutchpp_trace, hessian_trace)
from .density import (SpectralDensity, slq_density, hessian_spectral_density)
from .fisher import (GGNOperator, ggn_operator, ggn_vector_product, per_example_gradients, fisher_trace)
from .sharpness import (SharpnessResult, epsilon_sharpness, worst_case_sharpness)
from .landscape import (InterpolationResult, LossSurface, barrier, linear_interpolation, filter_normalized_direction, loss_surface_1d,
    loss_surface_2d)
from .effdim import (effective_dimensionality)
from .curvature import (exact_hessian_eigenvalues, eigengap_outliers)
from .critical_points import (find_critical_point)
from .norms import (linear_layers, path_norm, spectral_norms, spectral_norm_product, frobenius_norms, frobenius_norm_product,
    parameter_count)
from .spectra import (LayerMatrices, METRIC_NOTES, layer_matrices, esd, marchenko_pastur_edge, marchenko_pastur_density,
    marchenko_pastur_median, tracy_widom_margin, randomized_esd, layer_metrics, model_spectra)
from .powerlaw_fit import (PowerLawFit, BootstrapCI, fit_power_law, bootstrap_alpha, ks_pvalue, likelihood_ratio, power_law_quality)
from .bounds import (kl_bernoulli, kl_inverse_upper, kl_inverse_lower, log_binomial_cdf, binomial_tail_inverse, test_set_bound,
    pac_bayes_kl_bound, pac_bayes_mcallester_bound, monte_carlo_risk_bound, union_bound_delta,
    confidence_cost, gaussian_kl, ReferenceBound, classification_margins, vc_bound, spectral_margin_bound,
    path_norm_bound)
from .pac_bayes import (PacBayesResult, log2_cross_entropy, zero_one_errors, optimize_pac_bayes)
from .coding import (quantize, arithmetic_encode, arithmetic_decode, arithmetic_code_length, ideal_code_length, choice_bits,
    compression_bound, CompressedModel, compress_model)
from .information import (binned_mi, kde_mi, knn_mi, discrete_entropy)
from .stability import (convex_stability_bound, convex_divergence_bound, strongly_convex_stability_bound,
    strongly_convex_divergence_bound, nonconvex_stability_bound, logistic_constants, parameter_divergence)
from .pruning import (prunable, layer_rates, iterative_schedule, sparsity_for_rounds, rounds_for_sparsity, magnitude_masks,
    random_masks, apply_masks, mask_stats)
from .distill import (distillation_loss, transfer_set, TRANSFER_KINDS)
from .path_kernel import (path_kernel_step, loss_derivative, gradient_step)
from .propagation import (layer_signals, stack_of)
from .recommendations import (critical_scales, onset_bracket, onset_verdict, deepest_perturbative)
from .coding import decode_compressed
from .bounds import vc_bound_any

__all__ = [
    "ModelLoss", "HessianOperator", "DenseOperator", "hessian_operator", "hessian_vector_product",
    "Eigenpairs", "lanczos", "lanczos_eigenpairs", "power_iteration", "hessian_eigenpairs", "TraceEstimate",
    "hutchinson_trace", "hutchpp_trace", "hessian_trace", "SpectralDensity", "slq_density",
    "hessian_spectral_density", "GGNOperator", "ggn_operator", "ggn_vector_product", "per_example_gradients",
    "fisher_trace", "SharpnessResult", "epsilon_sharpness", "worst_case_sharpness", "InterpolationResult",
    "LossSurface", "barrier", "linear_interpolation", "filter_normalized_direction", "loss_surface_1d",
    "loss_surface_2d", "effective_dimensionality", "exact_hessian_eigenvalues", "eigengap_outliers",
    "find_critical_point", "linear_layers", "path_norm", "spectral_norms", "spectral_norm_product",
    "frobenius_norms", "frobenius_norm_product", "parameter_count", "LayerMatrices", "METRIC_NOTES",
    "layer_matrices", "esd", "marchenko_pastur_edge", "marchenko_pastur_density", "marchenko_pastur_median",
    "tracy_widom_margin", "randomized_esd", "layer_metrics", "model_spectra", "PowerLawFit", "BootstrapCI",
    "fit_power_law", "bootstrap_alpha", "ks_pvalue", "likelihood_ratio", "power_law_quality", "kl_bernoulli",
    "kl_inverse_upper", "kl_inverse_lower", "log_binomial_cdf", "binomial_tail_inverse", "test_set_bound",
    "pac_bayes_kl_bound", "pac_bayes_mcallester_bound", "monte_carlo_risk_bound", "union_bound_delta",
    "confidence_cost", "gaussian_kl", "ReferenceBound", "classification_margins", "vc_bound",
    "spectral_margin_bound", "path_norm_bound", "PacBayesResult", "log2_cross_entropy", "zero_one_errors",
    "optimize_pac_bayes", "quantize", "arithmetic_encode", "arithmetic_decode", "arithmetic_code_length",
    "ideal_code_length", "choice_bits", "compression_bound", "CompressedModel", "compress_model", "binned_mi",
    "kde_mi", "knn_mi", "discrete_entropy", "convex_stability_bound", "convex_divergence_bound",
    "strongly_convex_stability_bound", "strongly_convex_divergence_bound", "nonconvex_stability_bound",
    "logistic_constants", "parameter_divergence", "prunable", "layer_rates", "iterative_schedule",
    "sparsity_for_rounds", "rounds_for_sparsity", "magnitude_masks", "random_masks", "apply_masks",
    "mask_stats", "distillation_loss", "transfer_set", "TRANSFER_KINDS", "path_kernel_step", "loss_derivative",
    "gradient_step", "layer_signals", "stack_of", "critical_scales", "onset_bracket", "onset_verdict",
    "deepest_perturbative", "decode_compressed", "vc_bound_any"
]
