"""How `cosci review` collects a person's decisions: from flags or interactively."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from agents import (
    CoScientistError,
    HumanDecision,
    HumanHypothesis,
    HumanReviewNote,
    Hypothesis,
    ReviewDecisions,
)


def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise CoScientistError(f"{flag} takes ID=VALUE, got {value!r}")
        out.append((key.strip(), rest.strip()))
    return out


def families(text: str) -> list[str]:
    return [f.strip() for f in text.split(",") if f.strip()]


def decisions_from_flags(
    *,
    approve: list[str],
    reject: list[str],
    edit_statement: list[str],
    edit_families: list[str],
    edit_spec: list[str],
    add: list[str],
    note: list[str],
    reject_rest: bool,
) -> ReviewDecisions:
    """Decisions from `cosci review` flags (ID=VALUE pairs, 'F1,F2: statement' additions)."""
    from automl_backend import ExperimentSpec

    edits: dict[str, dict[str, Any]] = {}
    for hid, text in _pairs(edit_statement, "--edit-statement"):
        edits.setdefault(hid, {})["statement"] = text
    for hid, text in _pairs(edit_families, "--edit-families"):
        edits.setdefault(hid, {})["families"] = families(text)
    for hid, path in _pairs(edit_spec, "--edit-spec"):
        edits.setdefault(hid, {})["spec"] = ExperimentSpec.from_file(Path(path))
    decisions = [HumanDecision(id=h, action="approve") for h in approve]
    for value in reject:
        hid, _, reason = value.partition("=")
        decisions.append(
            HumanDecision(id=hid.strip(), action="reject", reason=reason.strip() or None)
        )
    decisions += [HumanDecision(id=h, action="edit", **fields) for h, fields in edits.items()]
    added = []
    for value in add:
        names, sep, statement = value.partition(":")
        if not sep or not statement.strip():
            raise CoScientistError(f"--add takes 'FAMILY[,FAMILY...]: statement', got {value!r}")
        added.append(HumanHypothesis(statement=statement.strip(), families=families(names)))
    notes = [HumanReviewNote(id=h, text=t) for h, t in _pairs(note, "--note")]
    return ReviewDecisions(
        decisions=decisions, add=added, reviews=notes, others="reject" if reject_rest else "approve"
    )


def decisions_interactive(
    console: Console, hypotheses: dict[str, Hypothesis], ids: list[str]
) -> ReviewDecisions:
    """Ask about each proposal, then for the person's own hypotheses."""
    from rich.prompt import Confirm, Prompt

    decisions, notes, added = [], [], []
    for hid in ids:
        h = hypotheses[hid]
        console.print(f"\n[bold cyan]{hid}[/] {h.statement} [dim]({', '.join(h.families)})[/]")
        while True:
            choice = Prompt.ask(
                "[a]pprove, [e]dit, [r]eject, or add a re[v]iew",
                choices=["a", "e", "r", "v"],
                default="a",
                console=console,
            )
            if choice != "v":
                break
            notes.append(HumanReviewNote(id=hid, text=Prompt.ask("review", console=console)))
        if choice == "a":
            decisions.append(HumanDecision(id=hid, action="approve"))
        elif choice == "r":
            reason = Prompt.ask("reason", default="rejected by a person", console=console)
            decisions.append(HumanDecision(id=hid, action="reject", reason=reason))
        else:
            statement = Prompt.ask("statement", default=h.statement, console=console)
            chosen = families(
                Prompt.ask(
                    "families (comma-separated)", default=", ".join(h.families), console=console
                )
            )
            decisions.append(
                HumanDecision(
                    id=hid,
                    action="edit",
                    statement=statement,
                    families=chosen if chosen != h.families else None,
                )
            )
    while Confirm.ask("Add a hypothesis of your own?", default=False, console=console):
        statement = Prompt.ask("statement", console=console)
        names = Prompt.ask("families (comma-separated)", console=console)
        added.append(HumanHypothesis(statement=statement, families=families(names)))
    return ReviewDecisions(decisions=decisions, add=added, reviews=notes)
