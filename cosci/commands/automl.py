"""`cosci automl`, `cosci predict` and `cosci spec`: the AutoML backend without any agent."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cosci._console import cli_console
from cosci._json_output import JSON_HELP, JsonOutput

if TYPE_CHECKING:
    import pandas as pd

    from automl_backend import ExperimentResult, ExperimentSpec

_out = cli_console()

spec_app = typer.Typer(
    help="Inspect the model registry and check ExperimentSpec files written by hand.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("automl")(automl)
    app.command("predict")(predict)
    app.add_typer(spec_app, name="spec")


# ---------------------------------------------------------------- cosci automl


def _build_spec(spec_file: Path | None, overrides: dict[str, Any]) -> ExperimentSpec:
    from automl_backend import ExperimentSpec, parse_spec

    base = ExperimentSpec.from_file(spec_file) if spec_file else ExperimentSpec()
    data = base.model_dump(mode="json")
    for path, value in overrides.items():
        if value is None:
            continue
        section, _, key = path.partition(".")
        if key:
            data[section][key] = value
        else:
            data[section] = value
    return parse_spec(data, source=str(spec_file) if spec_file else "options")


def _check_writable(path: Path, option: str, *, file: bool = False) -> None:
    """Fail now, in one line, when ``path`` cannot be written: before any work is done."""
    from automl_backend import BackendError

    if file and path.is_dir():
        raise BackendError(f"{option} {path} is a folder; name the file to write")
    parent = path.expanduser().absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise BackendError(f"cannot write {option} {path}: {exc.strerror or exc}{where}") from None


class _ProgressView:
    """Rich progress bar fed by the backend's progress events (no refresh thread)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[trials]}"),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[left]}"),
            console=console,
            auto_refresh=False,
            transient=False,
        )
        self.task = self.progress.add_task(
            "search", total=1.0, trials="0 trials", best="-", left=""
        )

    def __call__(self, event: Any) -> None:
        if event.time_budget_s:
            done = min(event.elapsed_s / event.time_budget_s, 1.0)
            left = f"{max(event.time_budget_s - event.elapsed_s, 0):.0f} s left"
        elif event.n_trials_budget:
            done = min(event.trials_done / event.n_trials_budget, 1.0)
            left = ""
        else:
            done, left = 0.0, ""
        if event.n_trials_budget and event.time_budget_s:
            done = max(done, min(event.trials_done / event.n_trials_budget, 1.0))
        failed = f", {event.trials_failed} failed" if event.trials_failed else ""
        best = "-" if event.best_score is None else f"{event.best_score:.4f}"
        self.progress.update(
            self.task, completed=done, description=event.phase,
            trials=f"{event.trials_done} trials{failed}", best=best, left=left,
        )  # fmt: skip
        self.progress.refresh()

    def __enter__(self) -> _ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _print_result(result: ExperimentResult, console: Console) -> None:
    import pandas as pd

    from automl_backend import natural_value

    if result.trials_path is not None and result.trials_path.exists():
        board = pd.read_csv(result.trials_path)
        table = Table(title="Leaderboard (best 10 trials)")
        for column in ("rank", "trial", "family", "score", "fit s", "state"):
            table.add_column(column, justify="right" if column != "family" else "left")
        for _, row in board.head(10).iterrows():
            table.add_row(
                str(row["rank"]), str(row["trial"]), str(row["family"]),
                "-" if pd.isna(row["score"]) else f"{row['score']:.5f}",
                f"{row['fit_time_s']:.2f}", str(row["state"]),
            )  # fmt: skip
        console.print(table)
    if result.ensemble:
        ranked = sorted(result.ensemble, key=lambda m: -m.weight)
        shown = ", ".join(f"trial {m.trial} {m.config.family} ({m.weight:.2f})" for m in ranked[:5])
        more = f" and {len(ranked) - 5} smaller" if len(ranked) > 5 else ""
        console.print(f"ensemble of {len(ranked)}: {shown}{more}")
    console.print(
        f"status: {result.status}"
        + (f" ({result.reason})" if result.reason else "")
        + f"; {result.n_trials} trials ({result.n_failed_trials} failed, "
        f"{result.n_pruned_trials} pruned) in {result.fit_time_s:.1f} s"
    )
    if result.best_score is not None:
        console.print(
            f"best CV {result.metric}: {natural_value(result.metric, result.best_score):.4f}"
        )
    if result.test_score is not None:
        console.print(
            f"[bold]test {result.metric}: {natural_value(result.metric, result.test_score):.4f}[/]"
        )
    if result.run_dir is not None:
        console.print(f"run directory: {result.run_dir}")


def automl(
    data: Annotated[str, typer.Option(help="CSV/Parquet file, sklearn:NAME or keel:NAME.")],
    target: Annotated[str | None, typer.Option(help="Target column (optional for named sets).")] = None,
    spec: Annotated[Path | None, typer.Option(help="ExperimentSpec YAML/JSON file.")] = None,
    time_budget: Annotated[float | None, typer.Option(help="Seconds for the whole run.")] = None,
    trials: Annotated[int | None, typer.Option(help="Maximum number of trials.")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric to optimise.")] = None,
    task: Annotated[str, typer.Option(help="auto, binary, multiclass or regression.")] = "auto",
    test_size: Annotated[float | None, typer.Option(help="Hold out this share as a test set.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/automl-TIME).")] = None,
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL (default SQLite in the run dir); postgresql://... lets `cosci worker`s join.")] = None,
    study: Annotated[str | None, typer.Option(help="Study name: created, or joined when it exists on a postgresql:// storage.")] = None,
    artifacts: Annotated[Path | None, typer.Option(help="Folder shared with the workers for trial files (default: the database).")] = None,
    n_jobs: Annotated[int | None, typer.Option(help="Trials run in parallel.")] = None,
    threads: Annotated[int | None, typer.Option(help="Threads per trial.")] = None,
    trial_memory: Annotated[int | None, typer.Option(help="MB each trial may allocate (default: RAM / n-jobs).", metavar="MB")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    time_column: Annotated[str | None, typer.Option(help="Column ordering rows for time splits.")] = None,
    features: Annotated[str | None, typer.Option(help="auto: keep the feature transforms that improve inner-fold CV, before the search.")] = None,
    halving: Annotated[str | None, typer.Option(help="Successive halving over training-sample size across trials: auto (on for data large for the budget), on or off.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:  # fmt: skip
    """Search models and hyperparameters on a table; print the leaderboard."""
    options = {name: value for name, value in locals().items() if name != "json_output"}
    with JsonOutput(json_output) as output:
        result = _automl(**options)
        output.emit(result)
    if not result.ok:
        raise typer.Exit(1)


def _automl(
    *, data: str, target: str | None, spec: Path | None, time_budget: float | None,
    trials: int | None, metric: str | None, task: str, test_size: float | None,
    out: Path | None, storage: str | None, study: str | None, artifacts: Path | None,
    n_jobs: int | None, threads: int | None, trial_memory: int | None, seed: int | None,
    time_column: str | None, features: str | None, halving: str | None = None,
) -> ExperimentResult:  # fmt: skip
    """`cosci automl` without its output mode; the experiment's result."""
    from automl_backend import load_dataset, run_spec, train_test_split_dataset
    from automl_backend.distributed import is_shared_storage, redact

    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))
    if features not in (None, "auto"):
        from automl_backend import BackendError

        raise BackendError(
            f"--features takes 'auto' (a list of transforms goes in --spec), got {features!r}"
        )
    if out is not None:
        _check_writable(out, "--out")
    experiment = _build_spec(
        spec,
        {
            "budget.time_s": time_budget, "budget.n_trials": trials, "metric": metric,
            "budget.n_jobs": n_jobs, "budget.threads_per_trial": threads, "seed": seed,
            "budget.trial_memory_mb": trial_memory, "features": features,
            "task": None if task == "auto" else task, "name": study,
            "search.halving": halving,
        },
    )  # fmt: skip
    if trials is not None and time_budget is None and (spec is None):
        # Only a trial count was asked for: do not cut it short with the default 60 s.
        experiment = experiment.model_copy(
            update={"budget": experiment.budget.model_copy(update={"time_s": None})}
        )
    dataset = load_dataset(data, target, task=experiment.task, time_column=time_column)
    for column, reason in dataset.dropped.items():
        _out.print(f"[yellow]dropped column {column!r}: {reason}[/]")
    for note in dataset.notes:
        _out.print(f"[yellow]note: {note}[/]")
    test = None
    if test_size is not None:
        dataset, test = train_test_split_dataset(dataset, test_size, seed=experiment.seed)
    run_dir = out or Path("runs") / f"automl-{time.strftime('%Y%m%d-%H%M%S')}"
    _out.print(
        f"{dataset.name}: {dataset.n_rows} rows, {dataset.n_features} features, {dataset.task}"
        + (f"; {len(test.y)} rows held out for testing" if test is not None else "")
    )
    if is_shared_storage(storage):
        if experiment.name is None:
            experiment = experiment.model_copy(
                update={"name": f"cosci-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"}
            )
        _out.print(
            f"study {experiment.name!r}; workers join with: cosci worker --storage "
            f"{redact(storage or '')} --study {experiment.name}"
            + (f" --artifacts {artifacts}" if artifacts else ""),
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    with _ProgressView(_out) as view:
        result = run_spec(experiment, dataset, out_dir=run_dir, progress=view, test=test,
                          storage=storage, artifacts=artifacts)  # fmt: skip
    _print_result(result, _out)
    for note in result.notes:
        if note.startswith("features:"):
            _out.print(note)
    return result


# ---------------------------------------------------------------- cosci predict

TRUST_HELP = (
    "Skip the folder's integrity checks (manifest hashes, no pickles) and load older "
    "pickled models: loading a model folder runs code from it; only use --trust on "
    "folders you made."
)


def predict(
    model: Annotated[Path, typer.Option(help="Run directory (or its model file) of a cosci automl run.")],
    data: Annotated[Path, typer.Option(help="CSV/Parquet file with the same feature columns.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions (CSV).")],
    trust: Annotated[bool, typer.Option("--trust", help=TRUST_HELP)] = False,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:  # fmt: skip
    """Predict with a trained model; writes `prediction` (and class probabilities)."""
    with JsonOutput(json_output) as output:
        predictions = _predict(model, data, out, trust)
        output.emit(
            {
                "out": str(out),
                "rows": len(predictions),
                "columns": [str(c) for c in predictions.columns],
                "predictions": predictions.to_dict(orient="records"),
            }
        )


def _predict(model: Path, data: Path, out: Path, trust: bool) -> pd.DataFrame:
    """`cosci predict` without its output mode; the predictions it wrote."""
    import pandas as pd

    from automl_backend import load_model, read_table

    _check_writable(out, "--out", file=True)
    fitted = load_model(model, trust=trust)
    table = read_table(data)
    predictions = pd.DataFrame({"prediction": fitted.predict(table)})
    if fitted.classification:
        proba = fitted.predict_proba(table)
        for i, label in enumerate(fitted.classes):
            predictions[f"proba_{label}"] = proba[:, i]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    predictions.to_csv(partial, index=False)
    partial.replace(out)
    _out.print(f"wrote {len(predictions)} predictions to {out}")
    return predictions


# ---------------------------------------------------------------- cosci spec


@spec_app.command("show")
def spec_show(
    family: Annotated[str | None, typer.Argument(help="A model family (leave out to list all).")] = None,
) -> None:  # fmt: skip
    """List model families, or show one family's hyperparameters, limits and defaults."""
    import yaml

    from automl_backend import default_space, family_info, family_names

    if family is None:
        table = Table(title="Model families")
        for column in ("family", "tasks", "description"):
            table.add_column(column)
        for info in map(family_info, family_names()):
            table.add_row(info.name, ", ".join(info.tasks), info.description)
        _out.print(table)
        return
    info = family_info(family)
    _out.print(
        f"[bold]{info.name}[/]: {info.description} (tasks: {', '.join(info.tasks)})", soft_wrap=True
    )
    for name, hp in info.hyperparameters.items():
        space = hp.space
        if not hp.searched:
            searched = "fixed unless a spec sets it"
        elif space.type == "categorical":
            searched = f"searched over {space.choices}"
        else:
            searched = f"searched {space.type} [{space.low}, {space.high}]" + (
                " log" if space.log else ""
            )
        only = "" if len(hp.tasks) == 2 else f"; {hp.tasks[0]} only"
        note = f"; {hp.help}" if hp.help else ""
        _out.print(
            f"  {name}: {hp.limits_text()}; default {hp.default!r}; {searched}{only}{note}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    example = {"models": [{"family": family, "params": {
        k: v.model_dump() for k, v in list(default_space(family).items())[:2]}}]}  # fmt: skip
    _out.print("Example spec fragment (YAML):")
    _out.print(yaml.safe_dump(example, sort_keys=False), highlight=False, markup=False)


@spec_app.command("validate")
def spec_validate(
    file: Annotated[Path, typer.Argument(help="ExperimentSpec file (.yaml, .yml or .json).")],
) -> None:
    """Check a spec against the registry; print a summary or one clear error."""
    from automl_backend import ExperimentSpec

    experiment = ExperimentSpec.from_file(file)
    families = ", ".join(m.family for m in experiment.models) or "default families"
    budget = experiment.budget
    limits = [
        f"{budget.time_s:g} s" if budget.time_s else "",
        f"{budget.n_trials} trials" if budget.n_trials else "",
    ]
    _out.print(
        f"valid: task {experiment.task}, metric {experiment.metric or 'default'}, "
        f"families {families}, sampler {experiment.search.sampler}, "
        f"pruner {experiment.search.pruner}, budget {' / '.join(x for x in limits if x)}, "
        f"{len(experiment.warm_start)} warm-start configurations"
    )
