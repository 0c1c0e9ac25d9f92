"""The co-scientist's results as rich tables for the terminal (`cosci run`, `review`, `show`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosci._report import RunResults

if TYPE_CHECKING:
    from rich.table import Table


def ranking_table(results: RunResults, limit: int = 20) -> Table:
    """The ranked hypotheses as a rich table."""
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


def proposals_table(state: dict[str, Any], ids: list[str]) -> Table:
    """Proposals waiting for review, with the reflection agent's critique."""
    from rich.table import Table

    hypotheses = state.get("hypotheses", {})
    reviews = [r for r in state.get("reviews", []) if r.kind == "initial"]
    table = Table(title="Proposals waiting for review")
    for column in ("id", "origin", "factor", "statement", "prediction", "review"):
        table.add_column(column, overflow="fold")
    metric = state["plan"].metric
    for hid in ids:
        h = hypotheses[hid]
        review = next((r.text for r in reviews if r.hypothesis_id == hid), "-")
        origin = h.origin + (f" of {', '.join(h.parent_ids)}" if h.parent_ids else "")
        factor = f"{h.factor} ({h.chosen_by})" + (" FLAGGED" if h.flag else "")
        table.add_row(hid, origin, factor, h.statement, h.prediction.describe(metric), review)
    return table


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
