"""`cosci review RUN --web`: the review decisions on a local web page.

A stdlib HTTP server on 127.0.0.1 serves one server-rendered form (``_review_page.py``).
Every request must carry the per-session token that is part of the printed URL, so
other pages open in the same browser cannot read the run or post decisions. A submit
becomes a :class:`ReviewDecisions`, checked exactly like the CLI's (plus a dry run of
applying them), saved with ``ResearchRun.save_decisions``; then the server stops.
"""

from __future__ import annotations

import errno
import hmac
import json
import secrets
import threading
import webbrowser
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from agents import (
    CoScientistError,
    HumanDecision,
    HumanHypothesis,
    HumanReviewNote,
    Hypothesis,
    ResearchRun,
    ReviewDecisions,
    apply_decisions,
    check_decisions,
)
from automl_backend import ExperimentSpec, parse_spec
from cosci._review_input import families as split_families
from cosci._review_page import ADD_SLOTS, Form, render_message, render_review_page

MAX_BODY = 1 << 20
"""Largest request body read (bytes); the form is a few KiB."""
MAX_FIELDS = 2000
"""Most form fields accepted; the page has about ten per hypothesis."""


class ReviewWebError(Exception):
    """The review page cannot be served (e.g. the port is taken)."""

    user_facing = True


# ---------------------------------------------------------------- form -> decisions


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{where}: {msg}" if where else msg
    return " ".join(str(exc).split())


def _spec_from_text(text: str, where: str) -> ExperimentSpec:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CoScientistError(f"{where}: the spec is not valid JSON: {exc}") from None
    except RecursionError:
        raise CoScientistError(f"{where}: the spec is nested too deeply to be a spec") from None
    if not isinstance(data, dict):
        raise CoScientistError(f"{where}: the spec must be a JSON object")
    return parse_spec(data, source=f"spec of {where}")


def _decision(form: Form, h: Hypothesis) -> HumanDecision:
    hid = h.id
    if form.get(f"action-{hid}", "approve") == "reject":
        reason = form.get(f"reason-{hid}", "").strip()
        return HumanDecision(id=hid, action="reject", reason=reason or None)
    statement = " ".join(form.get(f"statement-{hid}", h.statement).split())
    chosen = split_families(form.get(f"families-{hid}", ", ".join(h.families)))
    if not statement:
        raise CoScientistError(f"{hid}: the statement is empty")
    if not chosen:
        raise CoScientistError(f"{hid}: name at least one model family")
    spec_text = form.get(f"spec-{hid}", "").strip()
    spec = None
    if spec_text:
        try:
            unchanged = json.loads(spec_text) == h.experiment.model_dump(mode="json")
        except (json.JSONDecodeError, RecursionError):
            unchanged = False  # _spec_from_text says what is wrong
        spec = None if unchanged else _spec_from_text(spec_text, hid)
    edits: dict[str, Any] = {
        "statement": statement if statement != " ".join(h.statement.split()) else None,
        "families": chosen if chosen != h.families else None,
        "spec": spec,
    }
    try:
        if all(v is None for v in edits.values()):
            return HumanDecision(id=hid, action="approve")
        return HumanDecision(id=hid, action="edit", **edits)
    except ValidationError as exc:
        raise CoScientistError(f"{hid}: {_one_line(exc)}") from None


def _arm_fields(form: Form, slot: int, arm: str, where: str) -> dict[str, Any]:
    """One arm of a person's hypothesis: its families or its spec JSON, and its level."""
    names = form.get(f"add-{arm}-families-{slot}", "")
    if arm == "treatment" and not names:
        names = form.get(f"add-families-{slot}", "")  # the field's earlier name
    chosen = split_families(names)
    spec_text = form.get(f"add-{arm}-spec-{slot}", "").strip()
    if chosen and spec_text:
        raise CoScientistError(f"{where}: give the {arm} families or its spec, not both")
    prefix = "" if arm == "treatment" else "control_"
    fields: dict[str, Any] = {
        f"{arm}_label": form.get(f"add-{arm}-label-{slot}", "").strip() or None
    }
    if spec_text:
        fields[f"{prefix}spec"] = _spec_from_text(spec_text, f"{where}, {arm}")
    elif chosen:
        fields[f"{prefix}families"] = chosen
    elif arm == "treatment":
        raise CoScientistError(f"{where}: name at least one model family (or give a spec)")
    return fields


def _added(form: Form) -> list[HumanHypothesis]:
    added = []
    for slot in range(1, ADD_SLOTS + 1):
        statement = " ".join(form.get(f"add-statement-{slot}", "").split())
        if not statement:
            continue
        where = f"your hypothesis {slot}"
        arms = _arm_fields(form, slot, "treatment", where) | _arm_fields(
            form, slot, "control", where
        )
        gain_text = form.get(f"add-gain-{slot}", "").strip() or "1"
        try:
            gain = float(gain_text)
        except ValueError:
            raise CoScientistError(
                f"{where}: expected gain {gain_text!r} is not a number"
            ) from None
        try:
            added.append(
                HumanHypothesis(
                    statement=statement,
                    rationale=form.get(f"add-rationale-{slot}", "").strip(),
                    factor=form.get(f"add-factor-{slot}", "family"),  # type: ignore[arg-type]
                    direction=form.get(f"add-direction-{slot}") or None,  # type: ignore[arg-type]
                    expected_gain_points=gain,
                    **arms,
                )
            )
        except ValidationError as exc:
            raise CoScientistError(f"{where}: {_one_line(exc)}") from None
    return added


def _notes(form: Form) -> list[HumanReviewNote]:
    notes = []
    for key, text in form.items():
        hid = key.removeprefix("note-")
        if key.startswith("note-") and text.strip():
            try:
                notes.append(HumanReviewNote(id=hid, text=text.strip()))
            except ValidationError as exc:
                raise CoScientistError(f"your review of {hid}: {_one_line(exc)}") from None
    return notes


def decisions_from_form(
    form: Form, hypotheses: Mapping[str, Hypothesis], waiting: list[str]
) -> ReviewDecisions:
    """The page's fields as decisions: one per waiting proposal, additions, and notes.

    A proposal is approved unless rejected; an approved one whose statement, families
    or spec JSON differs from what was shown becomes an edit. Notes go to any known id.
    Raises a one-line user-facing error for input that cannot form decisions.
    """
    decisions = [_decision(form, hypotheses[hid]) for hid in waiting]
    return ReviewDecisions(decisions=decisions, add=_added(form), reviews=_notes(form))


def check_form_decisions(
    decisions: ReviewDecisions, state: Mapping[str, Any], waiting: list[str]
) -> None:
    """The CLI's check, then a dry run of applying them (specs that cannot fit the run)."""
    hypotheses = state["hypotheses"]
    check_decisions(decisions, waiting=waiting, known=hypotheses, task=state["plan"].task)
    apply_decisions(
        decisions,
        hypotheses=hypotheses,
        waiting=waiting,
        plan=state["plan"],
        round_=state.get("round", 1),
        embed=lambda added: [[0.0] for _ in added],
    )


# ---------------------------------------------------------------- requests


class ReviewSession:
    """One review: the paused run's state (read once), the token, and each request's answer."""

    def __init__(self, run: ResearchRun, token: str | None = None) -> None:
        request = run.pending_review()
        if request is None:
            raise CoScientistError(
                f"run {run.dir} is not waiting for a review (status: {run.status()})"
            )
        self.run, self.request, self.state = run, request, run.state()
        self.token = token or secrets.token_urlsafe(24)
        self.hosts: set[str] = set()
        """Host headers accepted once the port is known; empty accepts any."""
        self.saved: Path | None = None
        self._lock = threading.Lock()

    def done_message(self) -> str:
        return f"Saved; continue with `cosci resume {self.run.dir}`."

    def handle(
        self, method: str, target: str, body: bytes = b"", host: str | None = None
    ) -> tuple[int, str]:
        """Status and HTML for one request (the server's only logic)."""
        parts = urlsplit(target)
        given = parse_qs(parts.query).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()) or (
            self.hosts and host not in self.hosts
        ):
            return 403, render_message("Forbidden", "Open the URL that cosci printed.", "error")
        if parts.path != "/":
            return 404, render_message("Not found", parts.path, "error")
        if method == "GET":
            if self.saved is not None:
                return 200, render_message("Decisions saved", self.done_message())
            page = render_review_page(self.state, self.request, action=f"/?token={self.token}")
            return 200, page
        if method != "POST":
            return 405, render_message("Method not allowed", method, "error")
        with self._lock:
            if self.saved is not None:
                return 200, render_message("Decisions saved", self.done_message())
            # All fields are read (the body is at most MAX_BODY), so that a refused form
            # comes back with what the person typed.
            fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            form = {key: values[0] for key, values in fields.items()}
            waiting = self.request.hypothesis_ids
            try:
                if len(fields) > MAX_FIELDS:
                    raise CoScientistError(
                        f"the form sent {len(fields)} fields; at most {MAX_FIELDS} are read "
                        "(this page has far fewer): send the page's own form"
                    )
                decisions = decisions_from_form(form, self.state["hypotheses"], waiting)
                check_form_decisions(decisions, self.state, waiting)
                self.saved = self.run.save_decisions(decisions)
            except Exception as exc:
                if not getattr(exc, "user_facing", False):
                    raise
                page = render_review_page(
                    self.state,
                    self.request,
                    action=f"/?token={self.token}",
                    form=form,
                    error=_one_line(exc),
                )
                return 400, page
        return 200, render_message("Decisions saved", self.done_message())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        session = self.server.session
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            length = MAX_BODY + 1
        if length > MAX_BODY:
            status, page = 413, render_message("Too large", "The request body is refused.", "error")
        else:
            body = self.rfile.read(length) if length > 0 else b""
            status, page = session.handle(method, self.path, body, self.headers.get("Host"))
        data = page.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        # No script, no frame, nothing fetched from elsewhere: the page needs none of it.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        self.end_headers()
        self.wfile.write(data)
        if method == "POST" and session.saved is not None:
            threading.Thread(target=self.server.shutdown, daemon=True).start()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry the token."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    session: ReviewSession


def start_server(session: ReviewSession, port: int = 0) -> _Server:
    """Listen on 127.0.0.1:``port`` (0: any free port); one-line error when it cannot."""
    try:
        server = _Server(("127.0.0.1", port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ReviewWebError(
                f"port {port} on 127.0.0.1 is in use; choose another with --port "
                "(--port 0 picks a free one)"
            ) from None
        raise ReviewWebError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    server.session = session
    bound = server.server_address[1]
    session.hosts = {f"127.0.0.1:{bound}", f"localhost:{bound}"}
    return server


def review_url(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/?token={server.session.token}"


def _open_browser(url: str, say: Callable[[str], None]) -> None:
    try:
        opened = webbrowser.open(url)
    except Exception:  # a broken browser setup must not stop the review
        opened = False
    if not opened:
        say("No browser could be opened: open the URL above yourself.")


def serve_review(
    run: ResearchRun, *, port: int = 0, open_browser: bool = True, say: Callable[[str], None]
) -> Path | None:
    """Serve the review page until decisions are saved (their path) or Ctrl-C (None)."""
    session = ReviewSession(run)
    server = start_server(session, port)
    try:
        say(f"Review page: {review_url(server)}")
        say("Waiting for your decisions (Ctrl-C stops without saving).")
        if open_browser:
            # A console browser may block until it exits: keep serving meanwhile.
            threading.Thread(
                target=_open_browser, args=(review_url(server), say), daemon=True
            ).start()
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        return None
    finally:
        server.server_close()
    return session.saved
