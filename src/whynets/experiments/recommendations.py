"""recommendations — theory's recommendations for initialization, learning rate and shape, checked on models we choose
by the code path ``whynets diagnose`` uses on a user's model (issue #23; the rules: ``whynets.measure.recommendations``).

1. **Initialization** (Poole et al. 2016; Schoenholz et al. 2017): a depth-60 tanh stack of ``nn.Linear`` layers at an
   off-critical start — PyTorch's default (uniform ±1/√fan_in: σ_w² = 1/3, deep in the ordered phase) and a chaotic
   Gaussian one (σ_w² = 8, σ_b² = 0.05) — is measured at init (``layer_signals``, ``stack_of``), its critical scales
   derived (``critical_scales``: χ₁ = 1 at its own σ_b²) and applied to the same module; the rescaled module is
   measured again (critical: ξ >= L), and both are trained with one recipe. Claims: the recommended init is critical as
   measured, trains (train accuracy >= .35 after 400 steps) where the starts stay near chance (<= .15).
2. **Learning rate** (Cohen et al. 2021; Lewkowycz et al. 2020): λ_max of the training loss at init (Lanczos) and a
   full-batch gradient-descent sweep at f·2/λ_max, f in ``STEP_FACTORS``; the onset — the first f whose loss does not
   fall at each of the first ``DECIDE_STEPS`` = 5 steps — decided by ``onset_bracket``/``onset_verdict`` as diagnose
   decides it, on an MLP, a CNN and a residual CNN (MNIST-1D, 1000 examples), with squared error: the papers' setting,
   where the quadratic model's premise — λ_max does not move over the window — is checked as its own claim. The same
   sweep with cross-entropy (what diagnose meets on a classifier) on the MLP, with its own declared prediction.
3. **Shape** (Roberts, Yaida & Hanin 2022: finite-width effects grow like L/n): at the parameter budget of the
   MNIST-1D paper's MLP (100-100: 15,210 parameters), the deepest ReLU shape whose predicted output excess kurtosis is
   <= 1 (``deepest_perturbative``) against every depth at that budget, trained with one recipe: within the best third.

Setting, and what changed from PHENOMENA's signal-propagation entry: its MNIST-1D depth-60 setting does not train even
at criticality here (signal-propagation's calibration); we take that experiment's calibrated setting — scikit-learn's
8×8 digits, Adam 3·10⁻⁴, batch 100, 400 steps, width 64 — and PHENOMENA's criteria (critical >= .35, off <= .15).
Calibration of the sweep (ours; seeds 0–7 of the quick preset, 2026-12): with squared error λ_max after 5 steps at
0.5·2/λ_max is 0.85–0.94 of its value at init (MLP), 0.73–1.39 (CNN), 0.65–0.88 (residual) — it mostly falls — and no
onset lies below 2/3; the MLP's lies in (1.25, 1.5] on 8 of 8 seeds, but the 5-step window sees the instability late
above 2/λ_max (the unstable direction's share of the loss grows by (2f − 1)² a step from a small start, while λ_max
drifts down): the CNN's onset lies in (2, 3] on 5 of 8 seeds (beyond 3 on one), the residual net's in (1.5, 3] on 5.
With cross-entropy λ_max grows 3.6–6.3× within those 5 steps and the loss rises at 2/3 or 0.8 of 2/λ_max(init) — which
diagnose's verdict calls pass or inconclusive although the quadratic model's premise has failed. The predictions
declared in the claims state these mechanisms; their thresholds are the rule's own numbers (2/3, 1 and 3/2 of
2/λ_max), which outcome to expect was learned from these calibration draws (not from the run being judged).

    whynets run recommendations --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.measure.recommendations import BAND, DECIDE_STEPS, STEP_FACTORS
from whynets.spec import Spec, SpecError

from ._recommendations_cells import init_part, lr_part, shape_part
from ._recommendations_claims import claims
from ._recommendations_figures import figures
from .base import Experiment

__all__ = ["RecommendationsSpec", "EXPERIMENT"]

STARTS = ("torch", "ordered", "chaotic")
ARCHS = ("mlp", "cnn", "residual")


@dataclass(frozen=True)
class RecommendationsSpec(Spec):
    # 1. initialization
    init_data: DataSpec = field(default_factory=lambda: DataSpec(name="digits"))
    init_width: int = field(default=64, metadata={"help": "units per hidden layer of the deep tanh stack"})
    init_depth: int = field(default=60, metadata={"help": "hidden layers of the deep tanh stack"})
    init_starts: tuple[str, ...] = field(default=("torch", "chaotic"), metadata={
        "help": "starting initializations: torch (PyTorch's default) | ordered | chaotic (Gaussian, σ_w² below)"})
    ordered_sigma_w2: float = field(default=1.0, metadata={"help": "σ_w² of the ordered Gaussian start"})
    chaotic_sigma_w2: float = field(default=8.0, metadata={"help": "σ_w² of the chaotic Gaussian start (6 ξ_c = 28)"})
    start_sigma_b2: float = field(default=0.05, metadata={"help": "σ_b² of the Gaussian starts (Schoenholz: 0.05)"})
    signal_inputs: int = field(default=64, metadata={"help": "training inputs pushed through the module (pairs)"})
    signal_probes: int = field(default=6, metadata={"help": "perturbation directions per input (the χ interval)"})
    init_train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="adam", lr=3e-4, batch_size=100,
                                                                    steps=400, eval_points=5))
    init_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members of each initialization arm"})
    acc_trains: float = field(default=0.35, metadata={"help": "train accuracy a net that trains reaches (PHENOMENA)"})
    acc_chance: float = field(default=0.15, metadata={"help": "train accuracy a net that does not stays below"})
    # 2. learning rate
    lr_data: DataSpec = field(default_factory=lambda: DataSpec(n_train=1000, n_test=100))
    lr_archs: tuple[str, ...] = field(default=ARCHS, metadata={"help": "swept with squared error: mlp | cnn | residual"})
    ce_archs: tuple[str, ...] = field(default=("mlp",), metadata={"help": "swept with cross-entropy too"})
    mlp_width: int = field(default=100, metadata={"help": "MLP: 2 hidden layers of this width (MNIST-1D paper)"})
    cnn_channels: int = field(default=25, metadata={"help": "CNN: channels of its 3 stride-2 convolutions"})
    residual_channels: int = field(default=8, metadata={"help": "residual CNN: channels"})
    residual_blocks: int = field(default=2, metadata={"help": "residual CNN: residual blocks (2 convolutions each)"})
    lr_steps: int = field(default=8, metadata={"help": "gradient-descent steps per step size (the onset: first 5)"})
    lr_seeds: tuple[int, ...] = field(default=(0, 1), metadata={"help": "initializations swept (diagnose: 2)"})
    # 3. shape
    shape_data: DataSpec = field(default_factory=DataSpec)
    shape_budget: int = field(default=15210, metadata={"help": "parameters (the MNIST-1D paper's MLP 100-100)"})
    shape_depths: tuple[int, ...] = field(default=(1, 2, 3, 4, 6, 8), metadata={"help": "depths of the grid at the budget"})
    shape_max_depth: int = field(default=12, metadata={"help": "deepest depth the shape rule considers"})
    shape_train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="adam", lr=2e-3, batch_size=100,
                                                                     steps=1500, eval_points=2))
    shape_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members of each shape"})

    def validate(self) -> None:
        super().validate()
        for name in self.init_starts:
            if name not in STARTS:
                raise SpecError(f"init_starts: {name!r} is not a start; choose from {', '.join(STARTS)}")
        for name in self.lr_archs + self.ce_archs:
            if name not in ARCHS:
                raise SpecError(f"lr_archs/ce_archs: {name!r} is not an architecture; choose from {', '.join(ARCHS)}")
        if self.lr_steps < DECIDE_STEPS + 1:
            raise SpecError(f"lr_steps={self.lr_steps} must be > {DECIDE_STEPS} (the steps the onset is decided on)")
        if len(self.shape_depths) < 3:
            raise SpecError(f"shape_depths={self.shape_depths}: a best third needs at least 3 shapes")
        if self.init_depth < 2 or self.signal_inputs < 4:
            raise SpecError("init_depth >= 2 and signal_inputs >= 4 (input pairs) are needed to measure propagation")


def run(spec: RecommendationsSpec, ctx) -> dict[str, Any]:
    return {"init": init_part(spec, ctx), "lr": lr_part(spec, ctx), "shape": shape_part(spec, ctx),
            "band": list(BAND), "decide_steps": DECIDE_STEPS, "factors": list(STEP_FACTORS)}


_SMOKE = RecommendationsSpec(
    init_data=DataSpec(name="digits", n_train=200, n_test=100), init_width=16, init_depth=6, signal_inputs=16,
    signal_probes=3, init_seeds=(0, 1), init_train=TrainSpec(optimizer="adam", lr=1e-3, batch_size=50, steps=20, eval_points=3),
    lr_data=DataSpec(n_train=100, n_test=50), mlp_width=16, cnn_channels=4, residual_channels=4, residual_blocks=1,
    lr_steps=6, lr_seeds=(0,), shape_data=DataSpec(n_train=300, n_test=100), shape_budget=2000, shape_depths=(1, 2, 3),
    shape_max_depth=4, shape_seeds=(0, 1), shape_train=TrainSpec(optimizer="adam", lr=2e-3, batch_size=50, steps=30, eval_points=2))

EXPERIMENT = Experiment(
    name="recommendations",
    title="Recommendations checked: critical init, the largest stable step, the perturbative shape",
    paper="Schoenholz et al. 2017; Cohen et al. 2021; Lewkowycz et al. 2020; Roberts, Yaida & Hanin 2022",
    claim="the critical init diagnose recommends trains a depth-60 tanh net that PyTorch's default and a chaotic init "
          "do not; full-batch GD's loss stops falling near 2/λ_max; the deepest perturbative shape at a budget is "
          "among the best third",
    quick_wall_s=66,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("init_seeds", "lr_seeds", "shape_seeds"), max_seeds=6, seed_block=3,
    presets={
        "smoke": _SMOKE,
        "quick": RecommendationsSpec(),
        "full": RecommendationsSpec(init_starts=STARTS, init_width=128, lr_seeds=(0, 1, 2, 3, 4, 5),
                                    ce_archs=ARCHS, shape_depths=(1, 2, 3, 4, 5, 6, 8, 10, 12), shape_seeds=(0, 1, 2, 3, 4),
                                    shape_train=TrainSpec(optimizer="adam", lr=1e-3, batch_size=100, steps=6000,
                                                          eval_points=5)),
    },
    run=run, claims=claims, figures=figures,
)
