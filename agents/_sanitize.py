"""LLM text is data: a sanity filter it passes before it reaches a prompt or a report.

A weak model (the embedded 135M one) writes valid JSON around poor prose: web addresses,
HTML debris, "As an AI ...", the instruction echoed back ("A single sentence."), one
token repeated until the length limit. None of that should be quoted to the next agent
or to the reader. ``check_llm_text`` keeps a text only when it reads like a sentence
about the run, and says why it dropped one; ``TextFilterLog`` counts the drops so the
report can say how much model text was thrown away and where.

``unsupported_claims`` guards the closing overview: the LLM's summary may only state
conclusions the measured facts contain, so a family or factor that the prose names and
the facts never mention is flagged.

Every rule is conservative: a text is dropped for what it plainly is, never for what
it might mean.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

DropReason = Literal["empty", "too_short", "url", "markup", "meta", "degenerate", "unknown_column"]


@dataclass(frozen=True)
class TextVerdict:
    """What the filter made of one LLM text."""

    text: str | None
    """The cleaned text, or None if it was dropped."""
    reason: DropReason | None
    """Why it was dropped; None when kept."""


# Only endings that are not English words, so "model.In short" is no web address; a bare
# domain under another ending is still caught when a path follows it.
_TLDS = "com|org|net|io|edu|gov|info|biz|xyz|ru|cn|uk|fr|jp|example|ly|tv|cc"
_URL = re.compile(
    r"(?:https?|ftp)://"
    r"|\bwww\."
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail address
    rf"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?!\.\d)"
    r"|\b[a-z0-9][a-z0-9-]*\.[a-z]{2,6}/\S",  # a bare domain with a path
    re.IGNORECASE,
)

_HTML_TAGS = (
    "a|b|i|u|s|p|br|hr|em|strong|span|div|img|li|ul|ol|h[1-6]|table|tr|td|th|code|pre|sup|"
    "sub|script|style|font|blockquote|html|body|head|title|iframe|tt|small|big|center|nav"
)
_MARKUP = re.compile(
    rf"<\s*/?\s*(?:{_HTML_TAGS})\b[^<>]*>"  # HTML tag
    r"|<\|[^|<>]*\|>"  # chat-template token such as <|im_end|>
    r"|&(?:#\d+|#x[0-9a-f]+|[a-z]{2,8});"  # HTML entity
    r"|!?\[[^\]]*\]\([^)]*\)"  # markdown link or image
    r"|```|~~~"  # code fence
    r"|\{[a-z_][a-z0-9_]*\}"  # an unfilled prompt placeholder
    r'|\{\s*"[^"]*"\s*:'  # JSON left inside the text
    r"|([!?.,;:*#=_~+\-])\1{3,}",  # the same punctuation four or more times
    re.IGNORECASE,
)

_LEADING_LABEL = re.compile(
    r"^(?:answer|rationale|critique|summary|hypothesis|reason|explanation|response|output|"
    r"note)\s*:\s*",
    re.IGNORECASE,
)
_LEADING_BULLET = re.compile(r"^(?:[-*+•>#]+|\d+[.)])\s+")
_EMPHASIS = "*_"
_QUOTE_PAIRS = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’"}

_NON_ANSWER_WHOLE = re.compile(
    r"^(?:n/?a|na|none|null|nil|nothing|no comment|no answer|unknown|tbd|todo|not applicable|"
    r"not available|no idea|text|string|answer|yes|no|ok|okay|"
    r"(?:this|that|it) (?:is|was) (?:not possible|impossible|unclear|unknown|not applicable|"
    r"not known|not clear))\W*$",
    re.IGNORECASE,
)
_NON_ANSWER_ANYWHERE = re.compile(
    r"\bas an? (?:ai|language model|assistant)\b"
    r"|\bi (?:cannot|can ?not|can't|can’t|am unable to|am not able to|'m unable to) "
    r"(?:answer|help|provide|determine|say|comply|assist)\b"
    r"|\bunable to (?:answer|determine|provide)\b"
    r"|\bi (?:do not|don't|don’t) know\b"
    r"|\bi(?: am|'m|’m) (?:sorry|not sure)\b"
    r"|\bi apologi[sz]e\b"
    r"|^sure[,!.]?\s+here(?: is|'s|’s)\b"
    r"|^here(?: is|'s|’s) (?:the|a|my|your) (?:answer|rationale|critique|summary|sentence|"
    r"response|json|text)\b"
    r"|\blorem ipsum\b"
    r"|\byour (?:answer|rationale|critique|summary|text|response|sentence) here\b",
    re.IGNORECASE,
)
_INSTRUCTION_ECHO = re.compile(
    r"^(?:a|one|two|three|\d+)\s+(?:(?:single|short|brief|concise|plain|clear)\s+)*"
    r"(?:sentences?|paragraphs?|lines?|phrases?)\b"
    r"|\b(?:in|as|using) (?:a|one|two) (?:(?:single|short|brief|concise)\s+)*"
    r"(?:sentence|paragraph)s?\b",
    re.IGNORECASE,
)

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_REPEATED_UNIT = re.compile(r"(\S{2,8}?)\1{3,}")
_REPEATED_PHRASE = re.compile(r"\b((?:\w+\W+){1,4}?)\1{2,}", re.IGNORECASE)
_MIN_LETTER_SHARE = 0.6
_MIN_DISTINCT_SHARE = 0.35

_QUOTED_COLUMN = re.compile(
    r"\b(?:columns?|features?|variables?|attributes?|fields?|predictors?)\s*[:=]?\s*"
    r"(?:'([^'\n]+)'|\"([^\"\n]+)\"|`([^`\n]+)`|‘([^’\n]+)’|“([^”\n]+)”)",
    re.IGNORECASE,
)


def _unquote(text: str) -> str:
    """Drop one pair of quotes around the whole text, unless it quotes inside as well."""
    if len(text) < 2 or text[0] not in _QUOTE_PAIRS:
        return text
    opening, closing = text[0], _QUOTE_PAIRS[text[0]]
    inner = text[1:-1]
    if text.endswith(closing) and opening not in inner and closing not in inner:
        return inner
    return text


def _clean(text: str) -> str:
    """Collapse whitespace and strip wrapping emphasis, quotes, bullets and a leading label."""
    text = " ".join(text.split()).replace("**", "").replace("__", "")
    previous = None
    while text != previous:
        previous = text
        text = _LEADING_BULLET.sub("", text)
        text = _LEADING_LABEL.sub("", text)
        text = _unquote(text.strip().strip(_EMPHASIS).strip()).strip()
    return text


def _is_meta(text: str) -> bool:
    return bool(
        _NON_ANSWER_WHOLE.search(text)
        or _NON_ANSWER_ANYWHERE.search(text)
        or _INSTRUCTION_ECHO.search(text)
    )


def _is_degenerate(text: str) -> bool:
    """One token or phrase repeated, too little variety, or too few letters to be prose."""
    for match in _REPEATED_UNIT.finditer(text):
        if not match.group(1).isdigit():
            return True
    for match in _REPEATED_PHRASE.finditer(text + " "):
        # Repeated numbers ("0.81, 0.81, 0.81") can be a fact; repeated words are not.
        if any(char.isalpha() for char in match.group(1)):
            return True
    words = [word.lower() for word in _WORD.findall(text)]
    if len(words) >= 8 and len(set(words)) / len(words) < _MIN_DISTINCT_SHARE:
        return True
    visible = [char for char in text if not char.isspace()]
    letters = sum(char.isalpha() for char in visible)
    return letters < _MIN_LETTER_SHARE * len(visible)


def _column_key(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def _names_unknown_column(text: str, known_columns: Sequence[str]) -> bool:
    known = {_column_key(column) for column in known_columns}
    for match in _QUOTED_COLUMN.finditer(text):
        name = next(group for group in match.groups() if group is not None)
        if _column_key(name) not in known:
            return True
    return False


def check_llm_text(
    text: str, *, known_columns: Sequence[str] = (), min_words: int = 3
) -> TextVerdict:
    """Clean one LLM text, or drop it and say why.

    ``known_columns`` are the data set's columns; when given, a text that quotes a column
    the data does not have (``column 'X'``, ``feature `X` ``) is dropped. A text must
    keep ``min_words`` words after cleaning.
    """
    if not isinstance(text, str) or not text.strip():
        return TextVerdict(None, "empty")
    if _URL.search(text):
        return TextVerdict(None, "url")
    if _MARKUP.search(text):
        return TextVerdict(None, "markup")
    cleaned = _clean(text)
    if not cleaned:
        return TextVerdict(None, "empty")
    if _is_meta(cleaned):
        return TextVerdict(None, "meta")
    if _is_degenerate(cleaned):
        return TextVerdict(None, "degenerate")
    if len(_WORD.findall(cleaned)) < min_words:
        return TextVerdict(None, "too_short")
    if known_columns and _names_unknown_column(cleaned, known_columns):
        return TextVerdict(None, "unknown_column")
    return TextVerdict(cleaned, None)


def clean_llm_text(
    text: str, *, known_columns: Sequence[str] = (), min_words: int = 3
) -> str | None:
    """The cleaned text, or None when ``check_llm_text`` drops it."""
    return check_llm_text(text, known_columns=known_columns, min_words=min_words).text


class TextFilterLog:
    """Runs the filter over many texts and remembers what it dropped, and where.

    ``where`` names the place a text came from (``"hypothesis.rationale"``,
    ``"review.critique"``), so the report can say which agent's text was thrown away.
    """

    def __init__(self, *, known_columns: Sequence[str] = (), min_words: int = 3) -> None:
        self.known_columns = tuple(known_columns)
        self.min_words = min_words
        self.dropped: list[tuple[str, str, str]] = []
        """(where, reason, original text) for every dropped text, in order."""
        self.checked = 0
        """How many texts went through ``keep``."""

    def keep(self, text: str, where: str = "text") -> str | None:
        """The cleaned text, or None after recording why it was dropped."""
        self.checked += 1
        verdict = check_llm_text(text, known_columns=self.known_columns, min_words=self.min_words)
        if verdict.reason is not None:
            original = text if isinstance(text, str) else repr(text)
            self.dropped.append((where, verdict.reason, original))
        return verdict.text

    @property
    def counts(self) -> dict[str, int]:
        """Number of dropped texts per reason."""
        return dict(Counter(reason for _, reason, _ in self.dropped))

    @property
    def total(self) -> int:
        """Number of dropped texts."""
        return len(self.dropped)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _mention_keys(text: str, longest: int) -> set[str]:
    """Every run of up to ``longest`` consecutive words, joined without separators.

    Joining makes "k-NN", "k NN" and "knn", or "random_forest" and "random forest",
    the same key; a trailing plural "s" is also dropped so "random forests" counts.
    """
    words = _tokens(text)
    keys: set[str] = set()
    for start in range(len(words)):
        for size in range(1, longest + 1):
            if start + size > len(words):
                break
            key = "".join(words[start : start + size])
            keys.add(key)
            if key.endswith("s") and len(key) > 3:
                keys.add(key[:-1])
    return keys


def unsupported_claims(prose: str, facts: str, vocabulary: Sequence[str]) -> list[str]:
    """Vocabulary terms that ``prose`` mentions and ``facts`` never do, in vocabulary order.

    Matching ignores case and treats underscores, hyphens and spaces alike, on whole
    words: "kNN" matches ``knn``, "random forest" matches ``random_forest``.
    """
    terms = [(term, "".join(_tokens(term)), len(_tokens(term))) for term in vocabulary]
    # Two more words than the longest term, for spellings split further ("k-NN" for knn).
    longest = max((size for _, _, size in terms), default=1) + 2
    in_prose = _mention_keys(prose, longest)
    in_facts = _mention_keys(facts, longest)
    unsupported: list[str] = []
    for term, key, _ in terms:
        if key and key in in_prose and key not in in_facts and term not in unsupported:
            unsupported.append(term)
    return unsupported
