"""Solvers: closed-form and special-purpose trainers that are not instruments, each oracle-tested — min-norm least
squares and SGD on it, exact kernel interpolation (and Gabor features), random features, matrix completion (deep
factorizations, minimum nuclear norm), Legendre fits with a soft prior, the Ornstein–Uhlenbeck covariance of SGD,
and the classical baselines (logistic, kernel machines, boosted trees, k-NN).
"""

from __future__ import annotations

from .minnorm import (min_norm_lstsq, min_norm_fast, predicted_limit, sgd_least_squares, gd_least_squares, relative_distance)
from .kernels import (pairwise_sq_distances, median_bandwidth, rbf_kernel, laplace_kernel, KernelFit, kernel_interpolate,
    kernel_predict, accuracy, gabor_filters_1d, gabor_features_1d, gabor_filters_2d, gabor_features_2d)
from .random_features import (RandomFeatureMap, random_feature_map, random_features, regression_targets, fit_random_features,
    regression_metrics, double_descent_sweep)
from .matrix_completion import (low_rank_matrix, observation_mask, effective_rank, nuclear_norm, completion_error, init_factors,
    factorized_gd, min_nuclear_norm_completion, completion_by_depth)
from .polynomial import (legendre_features, fit_soft_polynomial, fit_polynomial, predict_polynomial, loo_mse, select_lambda,
    select_order, target_function, make_regression_data)
from .ou import (ou_stationary_covariance, discrete_sgd_stationary_covariance, sgd_linear_regression_noise)
from .classical import (BaselineResult, PairedCI, classical_baselines, median_heuristic_gamma, hgb_node_count, paired_difference_ci,
    BASELINES, GRIDS)

__all__ = [
    "min_norm_lstsq", "min_norm_fast", "predicted_limit", "sgd_least_squares", "gd_least_squares", "relative_distance",
    "pairwise_sq_distances", "median_bandwidth", "rbf_kernel", "laplace_kernel", "KernelFit",
    "kernel_interpolate", "kernel_predict", "accuracy", "gabor_filters_1d", "gabor_features_1d",
    "gabor_filters_2d", "gabor_features_2d", "RandomFeatureMap", "random_feature_map", "random_features",
    "regression_targets", "fit_random_features", "regression_metrics", "double_descent_sweep",
    "low_rank_matrix", "observation_mask", "effective_rank", "nuclear_norm", "completion_error",
    "init_factors", "factorized_gd", "min_nuclear_norm_completion", "completion_by_depth",
    "legendre_features", "fit_soft_polynomial", "fit_polynomial", "predict_polynomial", "loo_mse",
    "select_lambda", "select_order", "target_function", "make_regression_data", "ou_stationary_covariance",
    "discrete_sgd_stationary_covariance", "sgd_linear_regression_noise", "BaselineResult", "PairedCI",
    "classical_baselines", "median_heuristic_gamma", "hgb_node_count", "paired_difference_ci", "BASELINES",
    "GRIDS"
]
