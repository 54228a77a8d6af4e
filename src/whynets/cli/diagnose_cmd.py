"""``whynets diagnose``: the four questions about a user's trained model; report.html + diagnosis.json in ``--out``.

    whynets diagnose --model mypkg.nets:make_net --weights net.safetensors --data mine.npz --out diag/
    whynets diagnose --model mypkg.nets:make_net --model-arg width=512 --weights net.pt --data mine.npz \\
                     --questions simpler,parameters
    whynets diagnose --demo
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import List, Optional

import typer

from .common import console, err_console, progress_bars, set_trackers, user_errors


def _arg_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _data_spec(text: str):
    from whynets.data import SOURCES, DataSpec

    p = Path(text)
    if p.suffix == ".npz":
        return DataSpec(name="npz", path=str(p))
    if p.suffix == ".safetensors":
        return DataSpec(name="safetensors", path=str(p))
    if p.is_dir():
        return DataSpec(name="idx", path=str(p))
    if text in SOURCES:
        return DataSpec(name=text)
    from whynets.spec import SpecError
    raise SpecError(f"--data {text!r}: give a .npz / .safetensors file, a folder of IDX files, or a built-in source "
                    f"({', '.join(s for s in SOURCES if s not in ('npz', 'idx', 'safetensors'))})")


def _write_tensors(target: Path, tensors: dict) -> None:
    """Write a safetensors file atomically (a unique temp name, fsync, rename; the temp file removed on failure); a
    full disk is one line."""
    import errno
    import os

    from safetensors.torch import save

    from whynets.errors import StoreError

    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        data = save({k: v.detach().contiguous() for k, v in tensors.items()})
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno == errno.ENOSPC:
            raise StoreError(errno.ENOSPC, f"no space left on {target.parent} (writing {target.name}); free some "
                             "space or choose another --out") from None
        raise StoreError(err.errno, f"cannot write {target}: {err.strerror or err}; choose a writable --out") from None


def demo_weights(out: Path, spec, log) -> tuple[str, str]:
    """Train the demo's over-parameterized MLP once (MNIST-1D, the recipe); save its weights and its initialization
    as safetensors (the init is what a careful user passes as --init: the rewinding point, the PAC-Bayes prior, the
    distance travelled). Returns (weights, init) paths. Damaged files from an earlier demo are trained again."""
    from whynets.data import load
    from whynets.diagnosis.model_io import WeightsError, load_weights
    from whynets.engine import population_for, train

    # named by what trained them (model, data, recipe): a demo with other data (e.g. --set data.label_noise=1) in
    # the same --out trains its own weights instead of reusing these
    digest = hashlib.sha256(f"{spec.model.hash()}{spec.data.hash()}{spec.train.hash()}".encode()).hexdigest()[:12]
    path, init_path = out / f"demo-weights-{digest}.safetensors", out / f"demo-init-{digest}.safetensors"
    from whynets.fileio import ensure_folder

    ensure_folder(out)
    if path.exists() and init_path.exists():
        try:
            load_weights(path), load_weights(init_path)
            return str(path), str(init_path)
        except WeightsError as err:
            log(f"demo: the weights trained by an earlier demo are damaged ({str(err).split(';')[0]}); training them "
                "again")
    ds = load(spec.data)
    log(f"demo: training the model to diagnose: {spec.model.factory}({spec.model.factory_args}) on "
        f"{spec.data.name}, {spec.train.steps} {spec.train.optimizer} steps")
    pop = population_for(spec.model, ds, [12345])
    _write_tensors(init_path, pop.member(0).state_dict())
    train(pop, ds, spec.train)
    _write_tensors(path, pop.member(0).state_dict())
    return str(path), str(init_path)


def register(app: typer.Typer) -> None:
    @app.command("diagnose")
    @user_errors
    def diagnose(model: Optional[str] = typer.Option(None, help="your model's factory: module:function or file.py:function"),
                 model_arg: Optional[List[str]] = typer.Option(None, "--model-arg", help="a factory keyword: key=value "
                                                                                        "(repeatable)"),
                 weights: Optional[Path] = typer.Option(None, help="trained weights: .safetensors or a torch.save "
                                                                   "state dict"),
                 init: Optional[Path] = typer.Option(None, help="the weights at initialization (optional)"),
                 data: str = typer.Option("mnist1d", help=".npz / .safetensors file, IDX folder, or a built-in source"),
                 out: Path = typer.Option(Path("diag"), help="where report.html, diagnosis.json and the store go"),
                 questions: Optional[str] = typer.Option(None, help="comma-separated: simpler, overparameterization, "
                                                         "bound, parameters, recommend (default: simpler,parameters; "
                                                         "with --demo: all five)"),
                 epsilon: Optional[float] = typer.Option(None, help="within ε: points of accuracy / % of MSE (1)"),
                 loss: str = typer.Option("auto", help="auto | ce | mse"),
                 width_arg: Optional[str] = typer.Option(None, help="the factory keyword that scales width "
                                                                    "(question 2)"),
                 depth_arg: Optional[str] = typer.Option(None, help="the factory keyword that sets depth "
                                                                    "(recommend: the shape check)"),
                 set_: Optional[List[str]] = typer.Option(None, "--set", help="any diagnose setting: key=value, e.g. "
                                                          "train.steps=2000, seeds=0,1, prune_rounds=3"),
                 device: str = typer.Option("cpu", help="cpu | cuda | auto"),
                 memory_budget: Optional[str] = typer.Option(None, "--memory-budget", help="refuse models and data "
                                                             "larger than this (e.g. 12G or 80%; default: half of "
                                                             "this machine's memory)"),
                 demo: bool = typer.Option(False, help="train a small over-parameterized MLP on MNIST-1D, then "
                                                       "diagnose it (every question)"),
                 show_spec: bool = typer.Option(False, "--show-spec", help="print every setting and exit"),
                 backend: str = typer.Option("local", help="where the stages' cells are computed: local | ray (every "
                                                           "cell a Ray task; pip install \"whynets\\[ray]\")"),
                 address: Optional[str] = typer.Option(None, help="--backend ray: the cluster (auto | HOST:PORT); "
                                                                  "default: start one here"),
                 log_to: Optional[str] = typer.Option(None, "--log", help="also write to trackers: tensorboard "
                                                      "(every stage's curves, in OUT/diagnose/<hash>/tensorboard), "
                                                      "mlflow (comma-separated)"),
                 mlflow_uri: Optional[str] = typer.Option(None, "--mlflow-uri", help="MLflow tracking URI for --log "
                                                          "mlflow (default: sqlite:///OUT/mlflow.db)")) -> None:
        """Diagnose your trained model: could a simpler model do as well, is the over-parameterization essential,
        what error bound can you certify, what do the learned parameters say."""
        from whynets.diagnosis import DiagnoseSpec, run_diagnosis

        from .common import set_memory_budget

        set_memory_budget(memory_budget)
        set_trackers(log_to, mlflow_uri)
        from whynets.diagnosis.demo import DEMO_WIDTH
        from whynets.models import ModelSpec

        overrides = list(set_ or [])
        if demo:
            args = {"width": DEMO_WIDTH}
            spec = DiagnoseSpec(model=ModelSpec(kind="factory", factory="whynets.diagnosis.demo:mlp",
                                                factory_args=json.dumps(args)), width_arg="width",
                                depth_arg="depth",
                                questions=tuple(q.strip() for q in questions.split(",") if q.strip()) if questions
                                else ("simpler", "overparameterization", "bound", "parameters", "recommend"))
        else:
            if not model:
                from whynets.spec import SpecError
                raise SpecError("give --model module:function (your model's factory) and --weights FILE, or --demo")
            args = {}
            for item in model_arg or []:
                if "=" not in item:
                    from whynets.spec import SpecError
                    raise SpecError(f"--model-arg {item!r}: use key=value (e.g. width=512)")
                k, v = item.split("=", 1)
                args[k.strip()] = _arg_value(v.strip())
            spec = DiagnoseSpec(model=ModelSpec(kind="factory", factory=model, factory_args=json.dumps(args)),
                                data=_data_spec(data), weights=str(weights or ""), init=str(init or ""), loss=loss,
                                width_arg=width_arg or "", depth_arg=depth_arg or "",
                                questions=tuple(q.strip() for q in (questions or "simpler,parameters").split(",")
                                                if q.strip()))
        if epsilon is not None:
            overrides.append(f"epsilon={epsilon}")
        spec = spec.override(overrides)
        if show_spec:
            for key, tp, value, help_ in spec.describe():
                console.print(f"{key} ({tp}) = {value!r}  {help_}", markup=False, highlight=False)
            return
        from .run_cmd import backend_executor

        executor = backend_executor(backend, address, False)
        with progress_bars() as progress:
            printer = progress.console if progress is not None else err_console
            log = lambda m: printer.print(m, markup=False, highlight=False)  # noqa: E731
            if executor is not None:
                executor.progress, executor.log = progress, log
            if demo:
                weights_file, init_file = demo_weights(out, spec, log)
                spec = spec.override({"weights": weights_file, "init": init_file})
            report = run_diagnosis(spec, out, device, progress, log, executor=executor)
        console.print(report.summary(), markup=False, highlight=False)
        console.print(f"report: {out / 'report.html'}\nnumbers: {out / 'diagnosis.json'}", markup=False, highlight=False)
