"""`cosci run` and `cosci demo`: start the co-scientist on a research goal and a data set."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cosci import _live_run as live_run
from cosci._console import cli_console
from cosci._json_output import JSON_HELP, JsonOutput

if TYPE_CHECKING:
    from pydantic import ValidationError

    from agents import ResearchRun

_out = cli_console()

DEMO_GOAL = "Which model family predicts malignancy best on this data, and why?"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("run")(run)
    app.command("demo")(demo)


# ---------------------------------------------------------------- cosci run


def _default_out(goal: str) -> Path:
    from cosci._api import default_run_dir

    return default_run_dir(goal)


def _start(
    goal: str, data: str, target: str | None, context: Any, out: Path | None, use_memory: bool,
    storage: str | None = None, checkpointer: str | None = None,
) -> ResearchRun:  # fmt: skip
    from agents import CoScientistError, ResearchRun, RunConfig
    from automl_backend import load_dataset, metric_names

    if not goal.strip():
        raise CoScientistError("the research goal is empty; say what you want to find out")
    # Check before anything is written: bad input must not leave a half-made run directory.
    dataset = load_dataset(data, target=target)
    if context.metric is not None and context.metric not in metric_names(dataset.task):
        raise CoScientistError(
            f"metric {context.metric!r} does not apply to {dataset.task} data; valid: "
            f"{', '.join(metric_names(dataset.task))}"
        )
    config = RunConfig(
        goal=goal.strip(), data=data, target=target, context=context, use_memory=use_memory,
        storage=storage, checkpointer=checkpointer,
    )  # fmt: skip
    run_dir = out or _default_out(goal)
    run = ResearchRun.create(run_dir, config)
    _out.print(f"[bold]cosci[/] run in [cyan]{run.dir}[/]")
    live_run.print_databases(run)
    live_run.drive(run)
    return run


MAX_SECONDS = 7 * 24 * 3600
"""The longest --time-budget or --experiment-budget: a week, automl's cap on one run."""

# RunContext fields as the `cosci run` options that set them, for error messages.
_OPTION_OF = {
    "rounds": "--rounds",
    "hypotheses_per_round": "--hypotheses",
    "children_per_round": "--children",
    "trials_per_experiment": "--trials",
    "experiment_time_s": "--experiment-budget",
    "time_budget_s": "--time-budget",
    "folds": "--folds",
    "seed": "--seed",
    "metric": "--metric",
    "llm_share": "--llm-share",
}


def _check_seconds(**seconds_by_option: float) -> None:
    """Refuse a time option that is not a number of seconds in (0, MAX_SECONDS]."""
    from agents import CoScientistError

    for name, seconds in seconds_by_option.items():
        if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
            raise CoScientistError(
                f"--{name.replace('_', '-')} {seconds:g} is out of range: give seconds "
                f"above 0 and at most {MAX_SECONDS} (7 days)"
            )


def _settings_problem(exc: ValidationError) -> str:
    """The first problem of a RunContext, in one line and in terms of the options."""
    first = exc.errors()[0]
    where = ".".join(_OPTION_OF.get(str(p), str(p)) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def run(
    ctx: typer.Context,
    goal: Annotated[
        str | None, typer.Argument(help="The research goal, in plain language.")
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="CSV/Parquet path, sklearn:NAME or keel:NAME.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Target column (optional for built-in sets).")
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds of generate-test-rank.")] = 3,
    hypotheses: Annotated[int, typer.Option(min=1, help="New hypotheses per round.")] = 4,
    children: Annotated[int, typer.Option(min=0, help="Evolved children per round.")] = 2,
    trials: Annotated[int, typer.Option(min=2, help="Average trials per experiment.")] = 8,
    time_budget: Annotated[float, typer.Option(help="Total compute seconds of the run.")] = 600.0,
    experiment_budget: Annotated[
        float, typer.Option(help="Seconds an average experiment may take.")
    ] = 60.0,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    metric: Annotated[str | None, typer.Option(help="Override the plan's metric.")] = None,
    holdout: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.5,
            help="Share of rows set aside before anything sees the data, scored once at the "
            "end (0: none).",
        ),
    ] = 0.2,
    rope: Annotated[
        float,
        typer.Option(
            min=0.0, max=50.0, help="Differences within this many metric points count as nil."
        ),
    ] = 1.0,
    llm_share: Annotated[
        float,
        typer.Option(
            min=0.01, max=1.0, help="Largest share of the time budget the LLM may take (1: no cap)."
        ),
    ] = 0.25,
    fill_budget: Annotated[
        bool,
        typer.Option(
            "--fill-budget/--no-fill-budget",
            help="Let the last round's experiments use all the time left.",
        ),
    ] = True,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not pause for review.")
    ] = False,
    no_memory: Annotated[
        bool, typer.Option("--no-memory", help="No literature, warm starts or ledger.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default ./cosci-runs/...).")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option(help="Replay RUN's LLM and memory logs (no model).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="postgresql://... URL on which the experiments' Optuna studies are "
                     "shared: `cosci worker --follow RUN/` processes evaluate their trials."),
    ] = None,
    checkpointer: Annotated[
        str | None,
        typer.Option(help="postgresql://... URL for the run's LangGraph checkpoints (default: "
                     "checkpoints.sqlite in the run folder)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML file of these options (rounds: 2, time-budget: 300, ...); "
                     "options on the command line win."),
    ] = None,
) -> None:  # fmt: skip
    """Run the co-scientist on a research goal and a data set."""
    options = dict(locals())  # the run's options: the parameters, less the output mode
    for name in ("ctx", "json_output", "config"):
        del options[name]
    if config is not None:
        options = _with_config_file(ctx, config, options)
    with JsonOutput(json_output) as output:
        output.emit(live_run.run_document(_run(**options)))


def _with_config_file(ctx: typer.Context, path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the values of a run.yaml, except those given on the command line.

    Values are converted to the option's type here; their ranges are checked where the
    command line's are, when the run's settings are built.
    """
    import typing

    import yaml
    from pydantic import TypeAdapter, ValidationError

    from agents import CoScientistError

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise CoScientistError(f"cannot read --config {path}: {reason}") from None
    if not isinstance(loaded, dict):
        raise CoScientistError(f"--config {path} must hold a mapping of option: value")
    types = typing.get_type_hints(run)
    merged = dict(options)
    for key, value in loaded.items():
        name = str(key).removeprefix("--").replace("-", "_")
        if name not in options:
            valid = ", ".join(n.replace("_", "-") for n in options)
            raise CoScientistError(f"--config {path}: unknown option {key!r}; valid: {valid}")
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            continue  # given on the command line
        try:
            merged[name] = TypeAdapter(types[name]).validate_python(value)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"]
            raise CoScientistError(f"--config {path}: {key}: {message}, got {value!r}") from None
    return merged


def _run(
    *, goal: str | None, data: str | None, target: str | None, rounds: int, hypotheses: int,
    children: int, trials: int, time_budget: float, experiment_budget: float, folds: int,
    seed: int, metric: str | None, holdout: float, rope: float, llm_share: float,
    fill_budget: bool, auto_approve: bool, no_memory: bool, out: Path | None,
    replay: Path | None, storage: str | None = None, checkpointer: str | None = None,
) -> ResearchRun:  # fmt: skip
    """`cosci run` without its output mode; the run it made or replayed."""
    from pydantic import ValidationError

    from agents import CoScientistError, ResearchRun, RunContext

    if replay is not None:
        original = ResearchRun.open(replay)
        if not original.llm_log.is_file():
            raise CoScientistError(f"{replay} has no llm_calls.jsonl to replay")
        config = original.config.model_copy(update={"replay_of": str(replay.resolve())})
        # The replay's own databases: those on its command line, not the original's.
        config = config.model_copy(update={"storage": storage, "checkpointer": checkpointer})
        run_dir = out or replay.parent / f"{replay.name}-replay-{time.strftime('%H%M%S')}"
        new = ResearchRun.create(run_dir, config)
        _out.print(f"[bold]cosci[/] replay of {replay} in [cyan]{new.dir}[/] (no LLM is called)")
        live_run.print_databases(new)
        live_run.drive(new)
        return new
    if goal is None or data is None:
        raise CoScientistError("cosci run needs a GOAL and --data (or --replay RUN)")
    _check_seconds(time_budget=time_budget, experiment_budget=experiment_budget)
    try:
        context = RunContext(
            rounds=rounds,
            hypotheses_per_round=hypotheses,
            children_per_round=children,
            trials_per_experiment=trials,
            experiment_time_s=experiment_budget,
            time_budget_s=time_budget,
            folds=folds,
            seed=seed,
            metric=metric,
            holdout=holdout,
            rope_points=rope,
            auto_approve=auto_approve,
            llm_share=None if llm_share >= 1.0 else llm_share,
            fill_time_budget=fill_budget,
        )
    except ValidationError as exc:
        raise CoScientistError(f"invalid run settings: {_settings_problem(exc)}") from None
    return _start(goal, data, target, context, out, not no_memory, storage, checkpointer)


def demo(
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default ./cosci-runs/...).")
    ] = None,
) -> None:
    """A real co-scientist run with the embedded LLM on sklearn:breast_cancer (a few minutes)."""
    from agents import RunContext

    context = RunContext(
        rounds=2,
        hypotheses_per_round=3,
        children_per_round=1,
        trials_per_experiment=6,
        experiment_time_s=40.0,
        time_budget_s=420.0,
        folds=5,
        seed=0,
        auto_approve=True,
        llm_matches_per_round=2,
        debate_top_k=1,
        # A demo shows every agent at work in a few minutes: two full rounds (so evolution
        # runs), no LLM-share cap, and no stretching of the last round to the budget.
        llm_share=None,
        fill_time_budget=False,
    )
    _out.print(f"[bold]Demo:[/] {DEMO_GOAL} (sklearn:breast_cancer, embedded SmolLM2-135M)")
    _start(DEMO_GOAL, "sklearn:breast_cancer", None, context, out, True)
