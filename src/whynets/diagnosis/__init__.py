"""Diagnose a user's own trained model with the instruments of the experiments.

Four questions (``questions``): could a simpler model do as well (``simpler``)? is the over-parameterization
essential (``overparameterization``)? what error bound can I certify (``bound``)? what do the learned
parameters say (``parameters``)? Each answer is a set of store cells, a verdict in words, and the numbers behind it.

    whynets diagnose --model mypkg.nets:make_net --weights net.safetensors --data mine.npz --out diag/
    >>> report = wn.diagnose(model, (x, y, x_test, y_test), questions=("simpler", "parameters"))
"""

from .model_io import WeightsError, apply_weights, load_weights
from .run import Diagnosis, diagnose, run_diagnosis
from .spec import QUESTIONS, DiagnoseSpec

__all__ = ["diagnose", "run_diagnosis", "Diagnosis", "DiagnoseSpec", "QUESTIONS", "WeightsError", "load_weights",
           "apply_weights"]
