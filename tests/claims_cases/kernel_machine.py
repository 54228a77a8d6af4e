"""Refutation cases for kernel-machine (Domingos 2020): the path-kernel machine's relative error at each step size.
The record holds only what ``claims()`` reads: per step size, each member's relative error, ‖f_T − f_0‖, and whether
it diverged."""

from claims_cases._case import Case

STEPS = [0.025, 0.05, 0.1, 0.2, 0.4]


def record(errors=(0.002, 0.004, 0.008, 0.016, 0.06), scatter=(1.0, 1.2, 0.8), change=5.0, diverged=False):
    """``errors``: relative error per step size (member 0); member k is ``scatter[k]`` times it."""
    runs = {str(lr): {"lr": lr, "relative_error": [e * s for s in scatter], "change": [change] * len(scatter),
                      "diverged": [diverged] * len(scatter)} for lr, e in zip(STEPS, errors)}
    return {"runs": runs}


CASES = [
    Case(claim="kernel-machine/reconstructs", status="PASS", results=record(),
         why="0.2% relative error at the smallest step: the kernel machine is the trained net"),
    Case(claim="kernel-machine/reconstructs", status="FAIL", results=lambda: record(errors=(0.3, 0.35, 0.4, 0.5, 0.6)),
         why="30% error at the smallest step: the path kernel does not reproduce the change"),
    Case(claim="kernel-machine/reconstructs", status="FAIL", results=lambda: record(change=0.0),
         why="the network never moved (‖f_T − f_0‖ = 0): nothing was reconstructed"),
    Case(claim="kernel-machine/error-grows-with-step", status="PASS", results=record(),
         why="the error doubles with every doubling of the step (first order)"),
    Case(claim="kernel-machine/error-grows-with-step", status="FAIL",
         results=lambda: record(errors=(0.02, 0.016, 0.012, 0.008, 0.004)),
         why="the error falls as the step grows: not a discretization error"),
    Case(claim="kernel-machine/error-grows-with-step", status="FAIL",
         results=lambda: record(errors=(0.01, 0.01, 0.01, 0.01, 0.01)),
         why="the error is the same at every step: independent of the step size"),
]
