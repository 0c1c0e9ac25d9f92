"""`cosci memory ...`: add documents to the literature memory, search it, show what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cosci._console import cli_console

memory_app = typer.Typer(
    help="The vector memory: literature notes, your own documents, past runs.",
    no_args_is_help=True,
)

_SNIPPET_CHARS = 240


def _snippet(text: str) -> str:
    # The title is shown in the source column; a leading markdown heading would repeat it.
    lines = text.splitlines()
    if lines and lines[0].lstrip().startswith("#"):
        text = "\n".join(lines[1:]).strip()
    return text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS].rstrip() + "..."


def _store():  # -> memory.MemoryStore (imported lazily to keep CLI start-up fast)
    from cosci._memory_factory import build_memory_store
    from cosci._settings import load_settings

    return build_memory_store(load_settings())


@memory_app.command("add")
def add(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files to add (.md, .markdown, .txt, .pdf); a folder adds all such files."
        ),
    ],
) -> None:
    """Add your own documents to the literature memory (chunked; re-adding replaces)."""
    out = cli_console()
    store = _store()
    with out.status(f"Reading and embedding {len(paths)} file(s)..."):
        report = store.ingest(paths)
    for source in report.files:
        out.print(f"added [bold]{source}[/]", highlight=False)
    note = f", replaced {report.replaced} old chunk(s)" if report.replaced else ""
    out.print(
        f"{report.chunks} chunk(s) from {len(report.files)} file(s){note} -> {store.location}"
    )


@memory_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many passages.")] = 5,
    topic: Annotated[
        str | None,
        typer.Option(
            help="Only shipped notes of this topic (automl, hpo, nas, metalearning, "
            "ensembling, augmentation, compression, tabular, evaluation, preprocessing)."
        ),
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only your own documents.")] = False,
) -> None:
    """Search the literature memory: the shipped notes and the documents you added."""
    where: dict[str, str] | None = None
    if topic and mine:
        raise typer.BadParameter("--topic selects shipped notes; it cannot be combined with --mine")
    if topic:
        where = {"topic": topic}
    elif mine:
        where = {"kind": "user"}
    out = cli_console()
    store = _store()
    with out.status("Searching..."):
        hits = store.search_literature(query, k=k, where=where)
    if not hits:
        out.print("no passages match that filter")
        return
    table = Table(title=f"Literature for: {query}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("sim.", justify="right")
    table.add_column("passage", ratio=3)
    table.add_column("source", ratio=2, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        text = _snippet(hit.text)
        source = f"[bold]{hit.title}[/]\n{hit.citation}"
        if hit.references:
            first_refs = hit.references.splitlines()[:2]
            source += "\n[dim]" + "\n".join(first_refs) + "[/]"
        table.add_row(str(rank), f"{1.0 - hit.distance:.2f}", text, source)
    out.print(table)


@memory_app.command("stats")
def stats() -> None:
    """Show where the memory lives and what it holds."""
    out = cli_console()
    s = _store().stats()
    table = Table(title="Memory", show_header=False)
    table.add_row("location", s.location)
    table.add_row("literature passages", str(s.literature_chunks))
    table.add_row("  from shipped notes", str(s.corpus_chunks))
    table.add_row("  from your documents", f"{s.user_chunks} ({len(s.user_sources)} file(s))")
    table.add_row("past runs", str(s.runs))
    out.print(table)
    if s.corpus_chunks == 0:
        out.print("[dim]the shipped notes are loaded on the first search[/]")


def register(app: typer.Typer) -> None:
    """Add ``cosci memory`` and its subcommands to the top-level app."""
    app.add_typer(memory_app, name="memory")
