"""The co-scientist's results as rich tables for the terminal (`cosci run`, `review`, `show`).

Tables with a long statement column adapt to the width they are printed at: below
``WIDE_COLUMNS`` each hypothesis is one row whose cell holds its statement, with the
figures on the line under it, instead of nine narrow columns that wrap each statement a
word per line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from cosci._results import RunResults

if TYPE_CHECKING:
    from rich.table import Table

WIDE_COLUMNS = 100
"""Narrower than this, the tables switch to their narrow layout."""


class Responsive:
    """Renders ``wide`` when there is room for it, else ``narrow``."""

    def __init__(self, wide: Table, narrow: Table, min_width: int = WIDE_COLUMNS) -> None:
        self.wide, self.narrow, self.min_width = wide, narrow, min_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide if options.max_width >= self.min_width else self.narrow


def _narrow_table(title: str | None, caption: str | None, first: str) -> Table:
    from rich.table import Table

    table = Table(title=title, caption=caption, show_lines=True)
    table.add_column(first, no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("hypothesis", ratio=1)
    return table


def _cell(statement: str, *details: str) -> Text:
    cell = Text(statement)
    shown = [d for d in details if d]
    if shown:
        cell.append("\n" + " · ".join(shown), style="dim")
    return cell


def ranking_table(results: RunResults, limit: int = 20) -> Responsive:
    """The ranked hypotheses: a wide table, or one cell per hypothesis when narrow."""
    wide = _wide_ranking(results, limit)
    metric = results.plan.metric if results.plan else "score"
    narrow = _narrow_table(wide.title, wide.caption, "rank")  # type: ignore[arg-type]
    for r in results.ranking[:limit]:
        score = "" if r.score is None else f"{metric} {r.score:.4f} ± {r.score_sd or 0:.4f}"
        rank = f"={r.rank}" if r.tied else str(r.rank or r.status)
        narrow.add_row(
            rank,
            r.id,
            _cell(
                r.statement,
                "" if r.elo is None else f"Elo {r.elo:.0f}",
                score,
                r.factor,
                f"effect {r.effect}" if r.effect else "",
                r.verdict or "",
                f"W-D-L {r.wins}-{r.draws}-{r.losses}",
            ),
        )
    return Responsive(wide, narrow)


def _wide_ranking(results: RunResults, limit: int) -> Table:
    from rich.table import Table

    metric = results.plan.metric if results.plan else "score"
    table = Table(title=f"Ranked hypotheses ({metric}, higher is better)")
    best = results.best_model
    if best is not None and results.best_model_dir:
        shipped = "ensemble of " if best.kind == "ensemble" else "copy of the leader "
        table.caption = (
            f"best model: {shipped}{best.describe_members()} in {results.best_model_dir}"
        )
    if results.answer is not None:
        table.title = f"{table.title}\nAnswer: {results.answer.sentence}"
    for column in ("rank", "id", "Elo", metric, "factor", "effect [95 %]", "verdict", "W-D-L"):
        table.add_column(column, overflow="fold")
    table.add_column("statement", overflow="fold", ratio=1, min_width=30)
    for r in results.ranking[:limit]:
        score = "-" if r.score is None else f"{r.score:.4f} ± {r.score_sd or 0:.4f}"
        elo = "-" if r.elo is None else f"{r.elo:.0f}"
        rank = f"={r.rank}" if r.tied else str(r.rank or r.status)
        table.add_row(
            rank,
            r.id,
            elo,
            score,
            r.factor,
            r.effect or "-",
            r.verdict or "-",
            f"{r.wins}-{r.draws}-{r.losses}",
            r.statement,
        )
    if results.decisive_matches == 0 and any(r.tied for r in results.ranking):
        note = "no measured match was decisive: tied ranks (=) are not an order"
        table.caption = f"{table.caption}\n{note}" if table.caption else note
    return table


def proposals_table(state: dict[str, Any], ids: list[str]) -> Responsive:
    """Proposals waiting for review, with the reflection agent's critique."""
    from rich.table import Table

    hypotheses = state.get("hypotheses", {})
    reviews = [r for r in state.get("reviews", []) if r.kind == "initial"]
    title = "Proposals waiting for review"
    table = Table(title=title)
    for column in ("id", "origin", "factor", "statement", "prediction", "review"):
        table.add_column(column, overflow="fold")
    narrow = Table(title=title, show_lines=True)
    narrow.add_column("id", no_wrap=True)
    narrow.add_column("proposal", ratio=1)
    metric = state["plan"].metric
    for hid in ids:
        h = hypotheses[hid]
        review = next((r.text for r in reviews if r.hypothesis_id == hid), "-")
        origin = h.origin + (f" of {', '.join(h.parent_ids)}" if h.parent_ids else "")
        factor = f"{h.factor} ({h.chosen_by})" + (" FLAGGED" if h.flag else "")
        prediction = h.prediction.describe(metric)
        table.add_row(hid, origin, factor, h.statement, prediction, review)
        narrow.add_row(
            hid, _cell(h.statement, origin, factor, f"predicts: {prediction}", f"review: {review}")
        )
    return Responsive(table, narrow)


def elo_history_table(results: RunResults, limit: int = 10) -> Table:
    """Ratings after each ranking pass, for the top hypotheses."""
    from rich.table import Table

    table = Table(title="Elo history")
    ids = [r.id for r in results.ranking if r.elo is not None][:limit]
    table.add_column("pass")
    for hid in ids:
        table.add_column(hid)
    for snap in results.elo_history:
        label = f"round {snap.round} {'proposals' if snap.phase == 'proposals' else 'results'}"
        table.add_row(label, *(f"{snap.ratings[h]:.0f}" if h in snap.ratings else "" for h in ids))
    return table
