"""`cosci nas` (neural architecture search) and `cosci compress` (smaller, faster models)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cosci._console import cli_console

if TYPE_CHECKING:
    from automl_backend.compression import CompressionResult
    from automl_backend.nas import NASResult

_out = cli_console()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("nas")(nas)
    app.command("compress")(compress)


class _SearchBar:
    """Rich progress bar over the time budget (or the trial budget), fed by ProgressEvent."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description:<7}"),
            BarColumn(),
            TextColumn("{task.fields[trials]} architectures"),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[left]}"),
            TextColumn("[dim]{task.fields[message]}"),
            console=console,
            auto_refresh=False,
        )
        self.task = self.progress.add_task(
            "search", total=1.0, trials=0, best="-", left="", message=""
        )

    def __call__(self, event: Any) -> None:
        done, left = 0.0, ""
        if event.time_budget_s:
            done = min(event.elapsed_s / event.time_budget_s, 1.0)
            left = f"{max(event.time_budget_s - event.elapsed_s, 0):.0f} s left"
        elif event.n_trials_budget:
            done = min(event.trials_done / event.n_trials_budget, 1.0)
        if event.phase == "done":
            done = 1.0
        best = "-" if event.best_score is None else f"{event.best_score:.4f}"
        self.progress.update(
            self.task,
            completed=done,
            description=event.phase,
            trials=event.trials_done,
            best=best,
            left=left,
            message=event.message[:40],
        )
        self.progress.refresh()

    def __enter__(self) -> _SearchBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _parse_shape(text: str | None) -> list[int] | None:
    if text is None:
        return None
    from automl_backend.nas import NASError

    try:
        shape = [int(p) for p in text.replace("x", ",").split(",")]
    except ValueError:
        shape = []
    if len(shape) != 3:
        raise NASError(f"--image-shape must be C,H,W (e.g. 1,8,8), got {text!r}")
    return shape


def _print_nas_result(result: NASResult) -> None:
    from automl_backend.nas import describe_arch

    _out.print(f"[bold]best architecture[/] ({result.strategy}, {result.n_evaluated} evaluated):")
    _out.print(describe_arch(result.best_architecture), highlight=False)
    table = Table(title="Winner")
    for col in ("val accuracy", "test accuracy", "params", "size KB", "CPU ms/row", "epochs"):
        table.add_column(col, justify="right")
    test = "-" if result.test_accuracy is None else f"{result.test_accuracy:.4f}"
    table.add_row(
        f"{result.best_val_accuracy:.4f}",
        test,
        str(result.params),
        f"{result.size_kb:.1f}",
        f"{result.latency_ms:.3f}",
        str(result.final_epochs),
    )
    _out.print(table)
    if result.pareto_front:
        front = Table(title=f"Pareto front ({', '.join(result.objectives)}; validation)")
        for col in ("trial", "accuracy", "params", "CPU ms/row"):
            front.add_column(col, justify="right")
        for t in result.pareto_front:
            front.add_row(str(t.trial), f"{t.accuracy:.4f}", str(t.params), f"{t.latency_ms:.3f}")
        _out.print(front)
    for note in result.notes:
        _out.print(f"[yellow]note:[/] {note}")
    _out.print(
        f"search {result.search_time_s:.1f} s, final training {result.final_train_time_s:.1f} s, "
        f"total {result.fit_time_s:.1f} s on {result.device}"
    )
    if result.test_accuracy is not None:
        _out.print(f"[bold]test accuracy: {result.test_accuracy:.4f}[/]")
    if result.run_dir:
        _out.print(f"run directory: {result.run_dir}")


def nas(
    data: Annotated[str, typer.Option(help="CSV/Parquet file, sklearn:NAME or keel:NAME.")],
    target: Annotated[
        str | None, typer.Option(help="Target column (optional for named sets).")
    ] = None,
    space: Annotated[
        str, typer.Option(help="mlp, cnn, or a YAML/JSON space (or NAS spec) file.")
    ] = "mlp",
    strategy: Annotated[
        str | None,
        typer.Option(help="random, evolution, rl, tpe, hyperband, spos, darts or nsga2."),
    ] = None,
    objectives: Annotated[
        str | None, typer.Option(help="accuracy[,latency|params]; two make it multi-objective.")
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option(help="Seconds for search and final training.")
    ] = None,
    trials: Annotated[int | None, typer.Option(help="Most architectures to evaluate.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs per candidate.")] = None,
    final_epochs: Annotated[
        int | None, typer.Option(help="Most epochs to retrain the winner.")
    ] = None,
    image_shape: Annotated[
        str | None, typer.Option(help="C,H,W of each row for the cnn space (e.g. 1,8,8).")
    ] = None,
    test_size: Annotated[
        float | None, typer.Option(help="Hold out this share as a stratified test set.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/nas-DATA-TIME).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    augment: Annotated[
        bool,
        typer.Option(
            help="Search training augmentation too: cnn, RandAugment-style N (0-2 ops of shift, "
            "rotate, noise, cutout) and magnitude M (3, 6, 9); mlp, mixup alpha (0, 0.2, 0.4)."
        ),
    ] = False,
    fidelity_rungs: Annotated[
        int | None,
        typer.Option(
            help="evolution and tpe: score new candidates at this many fidelities (1 epoch on "
            "part of the rows first, the best third promoted); 1 trains each in full (default 3)."
        ),
    ] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 1,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
) -> None:
    """Search neural architectures (MLP for tables, cell CNN for small images)."""
    from automl_backend import ExperimentSpec, load_dataset, run_spec, train_test_split_dataset
    from automl_backend.nas import NASResult, load_space, parse_nas_spec, with_augmentation

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    loaded = load_space(space)
    spec_data: dict[str, Any] = dict(loaded) if "space" in loaded else {"space": loaded}
    overrides = {
        "strategy": strategy,
        "time_budget_s": time_budget,
        "max_trials": trials,
        "epochs_per_trial": epochs,
        "final_epochs": final_epochs,
        "fidelity_rungs": fidelity_rungs,
        "seed": seed,
        "image_shape": _parse_shape(image_shape),
        "n_threads": threads,
        "device": device,
        "objectives": objectives.split(",") if objectives else None,
    }
    spec_data |= {k: v for k, v in overrides.items() if v is not None}
    if augment:
        spec_data["space"] = with_augmentation(dict(spec_data.get("space") or {}))
    if objectives and len(objectives.split(",")) > 1 and strategy is None:
        spec_data["strategy"] = "nsga2"
    if trials is not None and time_budget is None and "time_budget_s" not in loaded:
        spec_data["time_budget_s"] = None  # a trial count alone is not cut short by a default
    spec = parse_nas_spec(spec_data, source="NAS spec")
    dataset = load_dataset(data, target)
    for note in dataset.notes:
        _out.print(f"[yellow]note: {note}[/]")
    test = None
    if test_size is not None:
        dataset, test = train_test_split_dataset(dataset, test_size, seed=spec.seed)
    kind = spec.space.kind
    run_dir = (
        out
        or Path("runs") / f"nas-{dataset.name.replace(':', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    _out.print(
        f"{dataset.name}: {dataset.n_rows} rows, {dataset.n_features} features, {dataset.task}"
        + (f"; {len(test.y)} rows held out for testing" if test is not None else "")
        + f"; {kind} space, {spec.strategy}"
    )
    # The one way in: the CLI's NAS spec becomes a kind-nas ExperimentSpec for run_spec,
    # and the run directory holds it, so `run_spec` can run it again.
    experiment = ExperimentSpec(
        kind="nas",
        nas=spec,
        seed=spec.seed,
        budget={
            "time_s": spec.time_budget_s,
            "n_trials": spec.max_trials,
            "threads_per_trial": spec.n_threads,
        },
    )
    data_info = {
        "source": data,
        "target": dataset.target,
        "test_size": test_size,
        "seed": spec.seed,
    }
    with _SearchBar(_out) as bar:
        run_spec(experiment, dataset, out_dir=run_dir, progress=bar, test=test, data_info=data_info)
    result = NASResult.model_validate_json((run_dir / "result.json").read_text(encoding="utf-8"))
    _print_nas_result(result)


def _print_compression(result: CompressionResult) -> None:
    unit = "ms" if result.target == "latency_ms" else "KB"
    n_valid, n_holdout = len(result.split.validation_rows), len(result.split.holdout_rows)
    table = Table(
        title=f"Compression candidates (target {result.target_value:g} {unit}; chosen on "
        f"{n_valid} validation rows, held-out accuracy on {n_holdout} other rows)"
    )
    columns = ("candidate", "validation acc", "held-out acc", "size KB", "CPU ms/row")
    for col in (*columns, "meets target"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for c in [result.baseline, *result.candidates]:
        style = "bold green" if c.name == result.chosen else None
        table.add_row(
            c.name,
            f"{c.validation_accuracy:.4f}",
            "-" if c.holdout_accuracy is None else f"{c.holdout_accuracy:.4f}",
            f"{c.size_kb:.1f}",
            f"{c.latency_ms:.3f}",
            "yes" if c.meets_target else "no",
            style=style,
        )
    _out.print(table)
    for note in result.notes:
        _out.print(f"[yellow]note:[/] {note}")
    chosen = result.chosen_candidate()
    if chosen is not None:
        _out.print(
            f"[bold]chosen: {chosen.name}[/]: held-out accuracy {chosen.holdout_accuracy:.4f} "
            f"(original {result.baseline.holdout_accuracy:.4f}) on rows nothing was picked on; "
            f"validation accuracy {chosen.validation_accuracy:.4f}, the rows it was picked on"
        )
    else:
        _out.print("[bold red]no candidate meets the target[/]")


TRUST_HELP = (
    "Skip the folder's integrity checks (manifest hashes, no pickles) and load older "
    "pickled models: loading a model folder runs code from it; only use --trust on "
    "folders you made."
)


def compress(
    model: Annotated[Path, typer.Option(help="Run directory of a cosci nas or cosci automl run.")],
    target_latency_ms: Annotated[
        float | None, typer.Option(help="Most CPU milliseconds per row.")
    ] = None,
    target_size_kb: Annotated[float | None, typer.Option(help="Most kilobytes of weights.")] = None,
    data: Annotated[
        str | None, typer.Option(help="Data set (default: the one the run recorded).")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Target column, with --data.")] = None,
    test_size: Annotated[
        float | None, typer.Option(help="Held-out share (default: the run's).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the table and chosen model.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 1,
    trust: Annotated[bool, typer.Option("--trust", help=TRUST_HELP)] = False,
) -> None:
    """Prune, quantize (int8) and distil a run's model; print the accuracy/size/latency table."""
    from automl_backend.compression import compress_run

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    out_dir = out or Path(model) / f"compressed-{time.strftime('%Y%m%d-%H%M%S')}"
    with _out.status("compressing...") as status:
        result = compress_run(
            model,
            target_latency_ms=target_latency_ms,
            target_size_kb=target_size_kb,
            data=data,
            target=target,
            test_size=test_size,
            out_dir=out_dir,
            seed=seed,
            n_threads=threads,
            report=lambda msg: status.update(f"compressing: {msg}"),
            trust=trust,
        )
    _print_compression(result)
    _out.print(f"results: {out_dir}")
    if result.chosen is None:
        raise typer.Exit(1)
