"""`cosci llm ...`: ask the configured language model, see which one it is, read call logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cosci._console import cli_console

llm_app = typer.Typer(
    help="The language model: the embedded SmolLM2-135M by default, or an OpenAI-compatible "
    "endpoint (COSCI_LLM_BASE_URL + COSCI_LLM_MODEL).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `cosci llm` to the top-level app."""
    app.add_typer(llm_app, name="llm")


@llm_app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="What to ask the model.")],
    system: Annotated[
        str | None, typer.Option(help="A system message to put before the question.")
    ] = None,
    max_tokens: Annotated[
        int, typer.Option(min=1, max=4096, help="Longest answer, in tokens.")
    ] = 200,
    log: Annotated[
        Path | None, typer.Option(help="Append the call to this JSONL call log.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the completion as JSON (for scripts).")
    ] = False,
) -> None:
    """Ask the configured model one question and show its answer, tokens and latency."""
    from agents.llm import ChatMessage, LocalLLM, local_model_status
    from cosci._llm_factory import build_llm
    from cosci._settings import load_settings

    settings = load_settings()
    out, err = cli_console(), cli_console(stderr=True)
    llm = build_llm(settings, log_path=log)
    local = llm.inner if hasattr(llm, "inner") else llm
    if isinstance(local, LocalLLM):
        first_use = not local_model_status(settings.model_cache_path).converted
        note = "converting the embedded model on first use (~30 s)" if first_use else ""
        with err.status(note or "loading the embedded model", spinner="dots"):
            local.load()
    messages = [ChatMessage(role="system", content=system)] if system else []
    messages.append(ChatMessage(role="user", content=question))
    with err.status("thinking", spinner="dots"):
        completion = llm.complete(messages, role="cli", max_tokens=max_tokens)
    if as_json:
        out.print_json(completion.model_dump_json(exclude={"parsed"}))
        return
    out.print(completion.text, highlight=False, markup=False)
    rate = completion.completion_tokens / completion.latency_s if completion.latency_s else 0.0
    err.print(
        f"[dim]{completion.model} · {completion.prompt_tokens} prompt + "
        f"{completion.completion_tokens} answer tokens · {completion.latency_s:.1f} s "
        f"({rate:.1f} tokens/s)[/]",
        highlight=False,
    )


@llm_app.command("info")
def info() -> None:
    """Show which model cosci would use and where its files are, without loading it."""
    from cosci._llm_factory import describe_llm
    from cosci._settings import load_settings

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in describe_llm(load_settings()).items():
        table.add_row(key, value)
    cli_console().print(table)


@llm_app.command("log")
def log_summary(
    path: Annotated[Path, typer.Argument(help="A JSONL call log written during a run.")],
) -> None:
    """Summarise a call log: calls, failures, tokens and time per agent role."""
    from agents.llm import read_call_log

    roles: dict[str, dict[str, float]] = {}
    for entry in read_call_log(path):
        row = roles.setdefault(
            entry.get("role", "default"),
            {"calls": 0, "failed": 0, "prompt": 0, "answer": 0, "seconds": 0.0},
        )
        row["calls"] += 1
        row["failed"] += 1 if entry.get("error") else 0
        row["prompt"] += entry.get("prompt_tokens") or 0
        row["answer"] += entry.get("completion_tokens") or 0
        row["seconds"] += entry.get("latency_s") or 0.0
    table = Table(title=str(path))
    for column in ("role", "calls", "failed", "prompt tokens", "answer tokens", "LLM time (s)"):
        table.add_column(column, justify="left" if column == "role" else "right")
    for role, row in sorted(roles.items()):
        table.add_row(
            role,
            *(str(int(row[k])) for k in ("calls", "failed", "prompt", "answer")),
            f"{row['seconds']:.1f}",
        )
    cli_console().print(table)
