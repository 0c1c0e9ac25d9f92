"""`cosci run`, `cosci review`, `cosci resume`, `cosci show`, `cosci demo`: the co-scientist."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from cosci._console import cli_console
from cosci._json_output import JSON_HELP, JsonOutput

if TYPE_CHECKING:
    from pydantic import ValidationError

    from agents import ResearchRun
    from agents.llm import LLMClient
    from tools import Toolbox

_out = cli_console()

DEMO_GOAL = "Which model family predicts malignancy best on this data, and why?"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("run")(run)
    app.command("review")(review)
    app.command("resume")(resume)
    app.command("show")(show)
    app.command("demo")(demo)


# ---------------------------------------------------------------- collaborators


def _make_llm(run: ResearchRun) -> LLMClient:
    """The run's LLM, recorded to its call log; a replay answers from the original's log."""
    from cosci._llm_factory import build_llm
    from cosci._settings import load_settings

    replay = Path(run.config.replay_of) / "llm_calls.jsonl" if run.config.replay_of else None
    return build_llm(load_settings(), log_path=run.llm_log, replay_from=replay)


def _make_toolbox(run: ResearchRun) -> Toolbox:
    """The run's toolbox over the memory the settings name (none for a replay)."""
    memory = None
    if run.config.use_memory and not run.config.replay_of:
        from cosci._memory_factory import build_memory_store
        from cosci._settings import load_settings

        memory = build_memory_store(load_settings())
    return run.toolbox(memory)


# ---------------------------------------------------------------- progress


class _LiveView:
    """Prints agent events as lines and experiment trials as progress bars."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} trials"),
            TextColumn("best {task.fields[best]}"),
            console=console,
            auto_refresh=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _LiveView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Any) -> None:
        hid = event.hypothesis_id or ""
        if event.kind in ("trial", "experiment") and hid:
            best = "-" if event.best is None else f"{event.best:.4f}"
            if hid not in self.tasks:
                self.tasks[hid] = self.progress.add_task(
                    f"experiment {hid}", total=event.total or 1, best=best
                )
            self.progress.update(self.tasks[hid], completed=event.done or 0, best=best)
            if (
                event.kind == "experiment"
                and event.message
                and not event.message.startswith("starting")
            ):
                self.progress.console.print(f"  [cyan]{hid}[/] {event.message}")
            self.progress.refresh()
            return
        style = {"round": "bold magenta", "warning": "yellow", "elo": "green"}.get(event.kind, "")
        who = f"[dim]{event.agent:>11}[/] " if event.agent else ""
        subject = f"[cyan]{hid}[/] " if hid else ""
        text = f"[{style}]{event.message}[/]" if style else event.message
        self.progress.console.print(f"{who}{subject}{text}", highlight=False)
        self.progress.refresh()


def _drive(run: ResearchRun) -> None:
    """Advance the run with live progress, then report where it stands."""
    llm = _make_llm(run)
    tools = _make_toolbox(run)
    started = time.perf_counter()
    try:
        with _LiveView(_out) as view:
            for event in run.advance(llm, tools):
                view(event)
    except Exception as exc:
        if getattr(exc, "user_facing", False) and run.state():
            # Keep what the run finished: the report shows its last checkpoint.
            _safe_report(run)
            _out.print(f"[yellow]The run stopped; what it finished is kept in {run.dir}.[/]")
        raise
    _finish(run, time.perf_counter() - started)


def _safe_report(run: ResearchRun) -> None:
    from cosci.report import write_report

    try:
        if run.state():
            write_report(run)
    except Exception as exc:
        _out.print(f"[yellow]could not write a partial report: {exc}[/]")


def _finish(run: ResearchRun, seconds: float) -> None:
    from cosci._tables import proposals_table, ranking_table
    from cosci.report import write_report

    status = run.status()
    if status == "waiting_for_review":
        request = run.pending_review()
        assert request is not None
        _out.print(proposals_table(run.state(), request.hypothesis_ids))
        _out.print(
            f"[bold]The run is paused for review[/] after {seconds:.0f} s. Decide with "
            f"`cosci review {run.dir}` (or pass --auto-approve), then `cosci resume {run.dir}`."
        )
        return
    results = write_report(run)
    _out.print(ranking_table(results))
    _out.print(
        f"Finished in {seconds:.0f} s ({results.stop_reason}). Report: {run.dir / 'report.md'}"
    )


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
    _print_databases(run)
    _drive(run)
    return run


def _run_document(run: ResearchRun) -> dict[str, Any]:
    """``--json`` of run and show: results.json's content, and what waits for review.

    A finished run's results.json is read as written: it holds what only the writer
    measures (best_model/ on the holdout); any other run's results are built afresh.
    """
    from cosci.report import RunResults, build_results

    written = run.dir / "results.json"
    if run.status() == "finished" and written.is_file():
        results = RunResults.model_validate_json(written.read_text(encoding="utf-8"))
    else:
        results = build_results(run)
    document = results.model_dump(mode="json")
    request = run.pending_review()
    document["pending_review"] = request.hypothesis_ids if request is not None else []
    return document


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
        output.emit(_run_document(_run(**options)))


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
        _print_databases(new)
        _drive(new)
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


def _print_databases(run: ResearchRun) -> None:
    """Where a run's trials and checkpoints go, when not in its folder (no password)."""
    from automl_backend.distributed import redact

    if run.config.storage is not None:
        _out.print(
            f"trials shared on {redact(run.config.storage)}: add workers with `cosci worker "
            f"--storage URL --follow {run.config.study_prefix}`",
            highlight=False,
            soft_wrap=True,
        )
    if run.config.checkpointer is not None:
        _out.print(f"checkpoints on {redact(run.config.checkpointer)}", highlight=False)


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


# ---------------------------------------------------------------- cosci review


def review(
    run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
    decisions: Annotated[Path | None, typer.Option(help="YAML/JSON ReviewDecisions file.")] = None,
    approve: Annotated[list[str], typer.Option(help="Approve ID (repeatable).")] = [],  # noqa: B006
    approve_all: Annotated[
        bool, typer.Option("--approve-all", help="Approve every proposal.")
    ] = False,
    reject: Annotated[list[str], typer.Option(help="Reject ID=REASON (repeatable).")] = [],  # noqa: B006
    edit_statement: Annotated[list[str], typer.Option(help="Edit ID=NEW STATEMENT.")] = [],  # noqa: B006
    edit_families: Annotated[list[str], typer.Option(help="Edit ID=FAMILY,FAMILY.")] = [],  # noqa: B006
    edit_spec: Annotated[list[str], typer.Option(help="Edit ID=SPEC.yaml.")] = [],  # noqa: B006
    add: Annotated[list[str], typer.Option(help="Add 'FAMILY[,FAMILY]: statement'.")] = [],  # noqa: B006
    note: Annotated[list[str], typer.Option(help="Add a review ID=TEXT.")] = [],  # noqa: B006
    reject_rest: Annotated[
        bool, typer.Option("--reject-rest", help="Reject proposals not mentioned.")
    ] = False,
    resume_now: Annotated[
        bool, typer.Option("--resume", help="Continue the run right away.")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Ask about each proposal.")
    ] = False,
    web: Annotated[
        bool, typer.Option("--web", help="Decide on a local web page (127.0.0.1 only).")
    ] = False,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the --web page (0: any free one).")
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="With --web: print the URL, open no browser.")
    ] = False,
) -> None:
    """Approve, edit or reject the proposals of a paused run; add hypotheses and reviews."""
    from agents import CoScientistError, ResearchRun, check_decisions, load_decisions
    from cosci._review_input import decisions_from_flags, decisions_interactive
    from cosci._tables import proposals_table

    run = ResearchRun.open(run_dir)
    # Held from reading the pause to saving (and resuming): another process that resumed
    # meanwhile would make these decisions answer a pause that is gone.
    with run.lock():
        request = run.pending_review()
        if request is None:
            raise CoScientistError(
                f"run {run_dir} is not waiting for a review (status: {run.status()})"
            )
        _out.print(proposals_table(run.state(), request.hypothesis_ids))
        flags = approve or reject or edit_statement or edit_families or edit_spec or add or note
        if web:
            from cosci._review_web import serve_review

            if decisions is not None or flags or approve_all or reject_rest or interactive:
                raise CoScientistError("--web takes no other decisions: make them on the page")
            saved = serve_review(
                run,
                port=port,
                open_browser=not no_browser,
                say=lambda text: _out.print(text, markup=False, highlight=False, soft_wrap=True),
            )
            if saved is None:
                _out.print("Stopped; nothing was saved.")
                raise typer.Exit(130)
            _out.print(f"Decisions saved to {saved}.")
            if resume_now:
                _drive(run)
            else:
                _out.print(f"Continue with `cosci resume {run.dir}`.")
            return
        if decisions is not None:
            chosen = load_decisions(decisions)
        elif flags or approve_all or reject_rest:
            chosen = decisions_from_flags(
                approve=approve,
                reject=reject,
                edit_statement=edit_statement,
                edit_families=edit_families,
                edit_spec=edit_spec,
                add=add,
                note=note,
                reject_rest=reject_rest,
            )
        elif interactive or sys.stdin.isatty():
            chosen = decisions_interactive(_out, run.state()["hypotheses"], request.hypothesis_ids)
        else:
            _out.print(
                "Decide with flags (--approve ID, --reject ID=REASON, --edit-statement ID=TEXT, "
                "--edit-families ID=F1,F2, --add 'F1,F2: statement', --note ID=TEXT, "
                "--approve-all) or --decisions FILE."
            )
            return
        state = run.state()
        check_decisions(
            chosen,
            waiting=request.hypothesis_ids,
            known=state["hypotheses"],
            task=state["plan"].task,
        )
        path = run.save_decisions(chosen)
        _out.print(f"Decisions saved to {path}.")
        if resume_now:
            _drive(run)
        else:
            _out.print(f"Continue with `cosci resume {run.dir}`.")


# ---------------------------------------------------------------- resume, show


def resume(run_dir: Annotated[Path, typer.Argument(help="The run directory.")]) -> None:
    """Continue a paused or killed run from its last checkpoint."""
    from agents import ResearchRun

    run = ResearchRun.open(run_dir)
    # Taken before the status is read: a second resume must stop here, not after it wrote.
    with run.lock():
        if run.status() == "finished":
            if not (run.dir / "report.md").is_file():
                # Killed, or out of disk, while writing the report: write it now.
                _finish(run, 0.0)
                return
            _out.print(f"Run {run_dir} has already finished.")
            show(run_dir)
            return
        _out.print(f"[bold]cosci[/] resuming [cyan]{run.dir}[/] ({run.status()})")
        _drive(run)


def show(
    run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Ranked hypotheses, Elo history and evidence of a run (finished or not)."""
    from agents import CoScientistError, ResearchRun

    run = ResearchRun.open(run_dir)
    if not run.state():
        raise CoScientistError(f"run {run_dir} has not made its first step yet")
    if json_output:
        with JsonOutput(True) as output:
            output.emit(_run_document(run))
        return
    _show_tables(run)


def _show_tables(run: ResearchRun) -> None:
    from cosci._tables import elo_history_table, ranking_table
    from cosci.report import build_results

    results = build_results(run)
    _out.print(f"[bold]{results.goal}[/]  ({results.status}; {results.stop_reason or 'running'})")
    if results.plan is not None:
        for warning in results.plan.warnings:
            _out.print(f"[yellow]warning:[/] {warning}")
    _out.print(ranking_table(results))
    _out.print(elo_history_table(results))
    for r in results.ranking[:3]:
        h = next(x for x in results.hypotheses if x.id == r.id)
        if h.result is not None and h.result.ok:
            folds = ", ".join(f"{s:.4f}" for s in h.result.fold_scores)
            _out.print(
                f"[cyan]{h.id}[/] evidence: folds {folds}; {h.result.n_trials} trials; "
                f"run dir {h.result.run_dir}"
            )
    report = run.dir / "report.md"
    _out.print(
        f"Report: {report}" if report.is_file() else "No report yet (the run has not ended)."
    )
