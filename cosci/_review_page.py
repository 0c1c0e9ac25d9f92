"""The HTML of `cosci review --web`: one server-rendered form, no script, no external asset.

Every value that comes from the run or from the person passes through :func:`_e`
(HTML escaping, quotes included), so a statement such as ``<script>`` shows as text.
After a failed submit the page is rendered again from what the person typed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any, get_args

from agents import HumanHypothesis, Hypothesis, ReviewRequest
from automl_backend import ExperimentSpec, family_names

Form = Mapping[str, str]
ADD_SLOTS = 3
"""Blank 'your own hypothesis' rows on the page (rows left empty are ignored)."""
FACTORS: tuple[str, ...] = get_args(HumanHypothesis.model_fields["factor"].annotation)
"""The closed list of factors a person's hypothesis may vary."""

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.4em}.muted{color:#666}
.card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;margin:1em 0}
.error,.ok{padding:.6em 1em;border-radius:6px}.error{background:#fde8e8;border:1px solid #c33}
.ok{background:#e6f4ea;border:1px solid #393}label{display:block;margin-top:.4em}
textarea,input[type=text],select{width:100%;box-sizing:border-box;font:inherit}
textarea.json{font:12px monospace}fieldset{border:1px solid #ddd;margin-top:.6em}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2em .5em;
text-align:left;vertical-align:top}button{font-size:1.05em;padding:.4em 1.2em;margin:1em 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _value(form: Form | None, name: str, default: str) -> str:
    return form[name] if form is not None and name in form else default


def _input(form: Form | None, name: str, default: str = "", placeholder: str = "") -> str:
    return (
        f'<input type="text" name="{_e(name)}" value="{_e(_value(form, name, default))}"'
        f' placeholder="{_e(placeholder)}">'
    )


def _textarea(form: Form | None, name: str, default: str = "", rows: int = 2, css: str = "") -> str:
    return (
        f'<textarea name="{_e(name)}" rows="{rows}" class="{_e(css)}">'
        f"{_e(_value(form, name, default))}</textarea>"
    )


def _label(text: str, control: str) -> str:
    return f"<label>{_e(text)}{control}</label>"


def _radio(name: str, value: str, checked: bool, text: str) -> str:
    mark = " checked" if checked else ""
    return (
        f'<label><input type="radio" name="{_e(name)}" value="{_e(value)}"{mark}> '
        f"{_e(text)}</label>"
    )


def _items(lines: list[str], empty: str = "none") -> str:
    if not lines:
        return f'<ul><li class="muted">{_e(empty)}</li></ul>'
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"


def page(title: str, body: str) -> str:
    """A whole document; ``body`` must already be escaped HTML."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{_CSS}</style></head>'
        f"<body>{body}</body></html>"
    )


def render_message(title: str, text: str, css: str = "ok") -> str:
    """A page with one message (saved, forbidden, not found)."""
    return page(title, f'<h1>{_e(title)}</h1><p class="{_e(css)}">{_e(text)}</p>')


# ---------------------------------------------------------------- pieces of a proposal


def _distribution(d: Any) -> str:
    if d.type == "categorical":
        return "one of " + ", ".join(json.dumps(c) for c in d.choices)
    return f"{d.type} in [{d.low:g}, {d.high:g}]" + (" (log scale)" if d.log else "")


def describe_experiment(spec: ExperimentSpec) -> list[str]:
    """The search space in words: one line per family, then preprocessing and search."""
    lines = []
    for m in spec.models:
        params = "; ".join(f"{name} {_distribution(d)}" for name, d in m.params.items())
        lines.append(
            f"{m.family}: {params} (others: default space)"
            if params
            else f"{m.family}: default search space"
        )
    pre = spec.preprocessing
    lines.append(
        f"preprocessing: imputation {'/'.join(pre.imputation)}, scaling {'/'.join(pre.scaling)}, "
        f"encoding {'/'.join(pre.encoding)}, feature selection {'/'.join(pre.feature_selection)}"
    )
    lines.append(
        f"search: {spec.search.sampler} sampler, {spec.cv.folds or 'auto'}-fold CV "
        "(trials and time are set when compute is allocated)"
    )
    return lines


def _review_lines(state: Mapping[str, Any], hid: str) -> list[str]:
    lines = []
    for r in state.get("reviews", []):
        if r.hypothesis_id != hid:
            continue
        scores = [
            f"{name} {value}/5"
            for name, value in (
                ("correctness", r.correctness),
                ("novelty", r.novelty),
                ("feasibility", r.feasibility),
            )
            if value is not None
        ]
        if r.failed_checks:
            scores.append("failed checks: " + ", ".join(r.failed_checks))
        extra = f" ({'; '.join(scores)})" if scores else ""
        lines.append(f"{r.author}, {r.kind}: {r.verdict}{extra}. {r.text}".strip())
    return lines


def _elo_text(state: Mapping[str, Any], hid: str) -> str:
    elo = state.get("elo", {}).get(hid)
    if elo is None:
        return "not rated yet (a proposal enters the tournament once approved)"
    judged = [m for m in state.get("matches", []) if m.method != "measured" and hid in (m.a, m.b)]
    return f"{elo:.0f} after {len(judged)} LLM-judged match(es)"


def _decision_fields(h: Hypothesis, form: Form | None) -> str:
    hid = h.id
    rejected = _value(form, f"action-{hid}", "approve") == "reject"
    spec_json = json.dumps(h.experiment.model_dump(mode="json"), indent=2)
    return (
        f"<fieldset><legend>Your decision on {_e(hid)}</legend>"
        + _radio(f"action-{hid}", "approve", not rejected, "approve (with your edits, if any)")
        + _radio(f"action-{hid}", "reject", rejected, "reject, because:")
        + _input(form, f"reason-{hid}", placeholder="rejected by a person")
        + _label("Statement", _textarea(form, f"statement-{hid}", h.statement))
        + _label(
            "Families (comma-separated; each searches its default space)",
            _input(form, f"families-{hid}", ", ".join(h.families)),
        )
        + "<details><summary>Experiment spec as JSON (edit this or the families, not both)"
        + "</summary>"
        + _textarea(form, f"spec-{hid}", spec_json, rows=16, css="json")
        + "</details>"
        + _label(f"Your review of {hid} (optional)", _textarea(form, f"note-{hid}"))
        + "</fieldset>"
    )


def _proposal(h: Hypothesis, state: Mapping[str, Any], form: Form | None) -> str:
    origin = h.origin + (f" ({h.operator})" if h.operator else "")
    origin += f" of {', '.join(h.parent_ids)}" if h.parent_ids else ""
    rationale = _e(h.rationale) if h.rationale else '<i class="muted">no rationale given</i>'
    return (
        f'<div class="card" id="{_e(h.id)}"><h2>{_e(h.id)} '
        f'<span class="muted">{_e(origin)}</span></h2>'
        f"<p><b>{_e(h.statement)}</b></p><p>{rationale}</p>"
        f"<p>Factor: {_e(h.factor)} (chosen by {_e(h.chosen_by)})"
        + (f' <b class="error">flagged: {_e(h.flag)}</b>' if h.flag else "")
        + f"</p><p>Control: {_e(h.control_label or '-')}; treatment: "
        f"{_e(h.treatment_label or '-')}</p>"
        f"<p>Registered prediction: {_e(h.prediction.describe(state['plan'].metric))}</p>"
        f"<p>Treatment experiment ({_e(', '.join(h.families))}):</p>"
        f"{_items(describe_experiment(h.experiment))}"
        f"<p>Reviews:</p>{_items(_review_lines(state, h.id))}"
        f"<p>Elo: {_e(_elo_text(state, h.id))}</p>" + _decision_fields(h, form) + "</div>"
    )


# ---------------------------------------------------------------- the page


def _earlier(state: Mapping[str, Any], waiting: list[str], form: Form | None) -> str:
    others = [h for hid, h in state.get("hypotheses", {}).items() if hid not in waiting]
    if not others:
        return ""
    elo = state.get("elo", {})
    rows = []
    for h in others:
        rating = f"{elo[h.id]:.0f}" if h.id in elo else "-"
        score = f"{h.result.best_score:.4f}" if h.result is not None and h.result.ok else "-"
        rows.append(
            f"<tr><td>{_e(h.id)}</td><td>{_e(h.status)}</td><td>{_e(rating)}</td>"
            f"<td>{_e(score)}</td><td>{_e(h.statement)}"
            + _textarea(form, f"note-{h.id}", rows=1)
            + "</td></tr>"
        )
    return (
        "<h2>Earlier hypotheses</h2><p class='muted'>Add a review to any of them; the ranking "
        "and meta-review agents read it.</p><table><tr><th>id</th><th>status</th><th>Elo</th>"
        f"<th>score</th><th>statement, your review</th></tr>{''.join(rows)}</table>"
    )


def _select(form: Form | None, name: str, options: list[tuple[str, str]], default: str) -> str:
    chosen = _value(form, name, default)
    return (
        f'<select name="{_e(name)}">'
        + "".join(
            f'<option value="{_e(value)}"{" selected" if value == chosen else ""}>{_e(text)}'
            "</option>"
            for value, text in options
        )
        + "</select>"
    )


def _arm(form: Form | None, n: int, arm: str, families_help: str) -> str:
    """One arm of a person's hypothesis: families, or a whole spec as JSON."""
    return (
        f"<fieldset><legend>{_e(arm.capitalize())} arm</legend>"
        + _label("Level (in words)", _input(form, f"add-{arm}-label-{n}"))
        + _label(families_help, _input(form, f"add-{arm}-families-{n}"))
        + f"<details><summary>or the {_e(arm)} experiment spec as JSON (instead of families)"
        + "</summary>"
        + _textarea(form, f"add-{arm}-spec-{n}", rows=10, css="json")
        + "</details></fieldset>"
    )


def _add_slots(form: Form | None, reference_family: str) -> str:
    factors = [(f, f.replace("_", " ")) for f in FACTORS]
    directions = [
        ("better", "the treatment beats the control by at least"),
        ("not_worse", "the treatment stays within (a tolerance of)"),
    ]
    slots = "".join(
        f'<fieldset id="add-{n}"><legend>Your hypothesis {n}</legend>'
        + _label("Statement", _textarea(form, f"add-statement-{n}"))
        + _label("Rationale", _input(form, f"add-rationale-{n}"))
        + _label(
            "Factor (what the two arms differ in)",
            _select(form, f"add-factor-{n}", factors, "family"),
        )
        + _arm(form, n, "treatment", "Families (comma-separated)")
        + _arm(
            form,
            n,
            "control",
            f"Families (comma-separated; empty: a tuned {reference_family})",
        )
        + "<fieldset><legend>Prediction, registered before any compute</legend>"
        + _label("Direction", _select(form, f"add-direction-{n}", directions, "better"))
        + _label("Effect, in points of the metric", _input(form, f"add-gain-{n}", "1"))
        + "</fieldset></fieldset>"
        for n in range(1, ADD_SLOTS + 1)
    )
    return (
        "<h2>Your own hypotheses</h2><p class='muted'>An intervention with a control: they "
        "compete like any other; a row with an empty statement is skipped.</p>" + slots
    )


def render_review_page(
    state: Mapping[str, Any],
    request: ReviewRequest,
    *,
    action: str,
    form: Form | None = None,
    error: str | None = None,
) -> str:
    """The review form posting to ``action``; ``form`` refills it after a failed submit."""
    plan, waiting = state["plan"], request.hypothesis_ids
    profile = state.get("profile")
    title = f"cosci review: round {request.round}"
    parts = [f"<h1>{_e(title)}</h1>"]
    if error:
        parts.append(f'<p class="error">error: {_e(error)}</p>')
    parts += [
        f"<p><b>Goal:</b> {_e(state.get('goal', plan.goal))}</p>",
        f"<p><b>Plan:</b> {_e(plan.task)}, metric {_e(plan.metric)}. {_e(plan.objective)}</p>",
        _items(plan.warnings) if plan.warnings else "",
        f"<p><b>Data:</b> {_e(profile.describe() if profile is not None else plan.dataset)}</p>",
        f"<p><b>Model families</b> for {_e(plan.task)}: {_e(', '.join(family_names(plan.task)))}"
        "</p>",
    ]
    parts.append(
        f"<p><b>Question:</b> {_e(plan.question)}; factors {_e(', '.join(plan.factors))}"
        + (f"; families {_e(', '.join(plan.focus_families))}" if plan.focus_families else "")
        + f". Verdicts use a ROPE of {plan.rope_points:g} points.</p>"
    )
    parts.append(f'<form method="post" action="{_e(action)}">')
    parts += [_proposal(state["hypotheses"][hid], state, form) for hid in waiting]
    parts += [_earlier(state, waiting, form), _add_slots(form, plan.reference_family)]
    parts.append('<button type="submit">Save decisions</button></form>')
    return page(title, "".join(parts))
