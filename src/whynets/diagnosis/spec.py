"""What a diagnosis does: the user's model and data, the training recipe used to re-train it, and each question's
settings, as one frozen spec (so every stage is a store cell keyed by what it consumes).

    whynets diagnose --model mypkg.nets:make_net --weights net.safetensors --data mine.npz --show-spec
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.spec import Spec, SpecError

__all__ = ["DiagnoseSpec", "QUESTIONS", "CLASSICAL"]

QUESTIONS = ("simpler", "overparameterization", "bound", "parameters", "recommend")
CLASSICAL = ("logistic", "ridge", "rbf_kernel", "boosted_trees", "knn")


@dataclass(frozen=True)
class DiagnoseSpec(Spec):
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="factory", factory="whynets.diagnosis.demo:mlp"))
    data: DataSpec = field(default_factory=DataSpec)
    weights: str = field(default="", metadata={"help": "the trained weights: .safetensors or a torch.save state dict"})
    init: str = field(default="", metadata={"help": "the weights at initialization (optional): rewinding, distance "
                                                    "from init, the PAC-Bayes prior"})
    loss: str = field(default="auto", metadata={"help": "auto (ce for integer labels, mse for float) | ce | mse"})
    questions: tuple[str, ...] = field(default=("simpler", "parameters"),
                                       metadata={"help": "simpler | overparameterization | bound | parameters | "
                                                         "recommend"})
    epsilon: float = field(default=1.0, metadata={"help": "within ε of your model: points of accuracy (classifier) "
                                                          "or percent of test MSE (regressor)"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "re-trainings per configuration"})
    # the recipe whynets re-trains your architecture with (lottery tickets, students on labels, controls)
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="adam", lr=1e-3, batch_size=100, steps=3000,
                                                               eval_points=8))
    # question 1: lottery tickets (Frankle & Carbin 2019; Frankle et al. 2020)
    prune_rounds: int = field(default=4, metadata={"help": "iterative magnitude pruning rounds"})
    prune_rate: float = field(default=0.5, metadata={"help": "fraction of the remaining weights pruned per round "
                                                             "(output layer at half the rate)"})
    prune_scopes: tuple[str, ...] = field(default=("layerwise", "global"), metadata={"help": "layerwise | global"})
    rewind_step: int = field(default=200, metadata={"help": "the early step k tickets also rewind to (0 = only init)"})
    # question 1: students (Ba & Caruana 2014)
    student_widths: tuple[int, ...] = field(default=(16, 64, 256), metadata={"help": "one-hidden-layer students"})
    transfer_factor: int = field(default=4, metadata={"help": "transfer set = training inputs + this many mixed/noisy "
                                                              "copies of them (MNIST-1D: freshly generated signals)"})
    temperature: float = field(default=2.0, metadata={"help": "distillation temperature T"})
    # question 1: classical baselines
    classical: tuple[str, ...] = field(default=("logistic", "ridge", "rbf_kernel", "boosted_trees", "knn"),
                                       metadata={"help": "logistic (classifiers) | ridge (regressors) | rbf_kernel | "
                                                         "boosted_trees | knn; each tuned by cross-validation"})
    # question 2: width sweep (issue: over-parameterization)
    width_arg: str = field(default="", metadata={"help": "the factory's keyword that scales width (question 2)"})
    depth_arg: str = field(default="", metadata={"help": "the factory's keyword that sets depth (recommend: the shape "
                                                          "check)"})
    width_factors: tuple[float, ...] = field(default=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0),
                                             metadata={"help": "widths swept, as multiples of yours"})
    # question 3: bounds
    delta: float = field(default=0.05, metadata={"help": "bounds hold with probability >= 1 - delta"})
    pac_bayes_iters: int = field(default=3000, metadata={"help": "optimization steps of the PAC-Bayes posterior "
                                                                 "(Adam, batch 256; the bounds experiment's default)"})
    subspace_dims: tuple[int, ...] = field(default=(250, 500, 1000),
                                           metadata={"help": "subspace dimensions searched by the subspace compression "
                                                             "bound (empty: skip it); each trains train.steps steps"})
    subspace_levels: tuple[int, ...] = field(default=(4, 8), metadata={"help": "codebook sizes searched by it"})
    # question 4: what the parameters say
    spectra_boot: int = field(default=200, metadata={"help": "bootstrap resamples of each layer's alpha"})
    top_k: int = field(default=10, metadata={"help": "Hessian eigenvalues (Lanczos)"})
    trace_matvecs: int = field(default=60, metadata={"help": "Hessian-vector products of the Hutch++ trace"})
    curvature_examples: int = field(default=2000, metadata={"help": "training examples the curvature averages over"})

    def validate(self) -> None:
        super().validate()

        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise SpecError(f"{name}={getattr(self, name)!r} is out of range: {rule}")

        def finite(v: float) -> bool:
            return isinstance(v, (int, float)) and math.isfinite(v)

        need(len(self.seeds) >= 1, "seeds", "at least one re-training seed")
        need(self.top_k >= 1, "top_k", "at least 1 Hessian eigenvalue")
        need(self.trace_matvecs >= 6, "trace_matvecs", "at least 6 Hessian-vector products (Hutch++ splits them in 3)")
        need(self.curvature_examples >= 1, "curvature_examples", "at least 1 training example")
        need(self.spectra_boot >= 0, "spectra_boot", "bootstrap resamples >= 0 (0: no interval)")
        need(self.pac_bayes_iters >= 1, "pac_bayes_iters", "at least 1 optimization step")
        need(self.transfer_factor >= 0, "transfer_factor", ">= 0 extra copies of the training inputs (0: the training "
             "inputs only)")
        need(finite(self.temperature) and self.temperature > 0, "temperature", "a finite temperature > 0")
        need(all(w >= 1 for w in self.student_widths), "student_widths", "hidden widths >= 1")
        need(bool(self.width_factors) and all(finite(f) and f > 0 for f in self.width_factors), "width_factors",
             "finite multiples of your width > 0, e.g. 0.25,0.5,1,2")
        unknown = [c for c in self.classical if c not in CLASSICAL]
        if unknown:
            raise SpecError(f"classical={self.classical!r}: unknown {', '.join(map(repr, unknown))}; choose from "
                            f"{', '.join(CLASSICAL)} (or an empty list: classical=)")
        bad = [q for q in self.questions if q not in QUESTIONS]
        if bad or not self.questions:
            raise SpecError(f"questions={self.questions!r}: choose from {', '.join(QUESTIONS)}")
        if self.loss not in ("auto", "ce", "mse"):
            raise SpecError(f"loss={self.loss!r}: choose auto, ce or mse")
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise SpecError(f"epsilon={self.epsilon!r}: a tolerance > 0")
        if not 0 < self.prune_rate < 1 or self.prune_rounds < 1:
            raise SpecError("prune_rate must lie in (0, 1) and prune_rounds >= 1")
        if any(s not in ("layerwise", "global") for s in self.prune_scopes):
            raise SpecError(f"prune_scopes={self.prune_scopes!r}: layerwise and/or global")
        if not 0 < self.delta < 1:
            raise SpecError(f"delta={self.delta!r}: a probability in (0, 1)")
        if any(d < 1 for d in self.subspace_dims) or any(L < 2 for L in self.subspace_levels) or (
                self.subspace_dims and not self.subspace_levels):
            raise SpecError(f"subspace_dims={self.subspace_dims!r} must be >= 1 and subspace_levels="
                            f"{self.subspace_levels!r} >= 2 (and not empty while dims are given)")
        if "simpler" in self.questions and not 0 <= self.rewind_step < self.train.steps:
            raise SpecError(f"rewind_step={self.rewind_step} must lie in [0, train.steps={self.train.steps}) (the early "
                            f"step lottery tickets rewind to; e.g. --set rewind_step={self.train.steps // 10})")
