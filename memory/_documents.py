"""Reading .md, .txt and .pdf files into chunks small enough for the embedding model.

Everything here is parsing and validation with no store involved, so a bad file is
rejected before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from memory._errors import MemoryStoreError

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".pdf")
# MiniLM reads at most 256 word pieces; ~1000 characters of English stays under that, so
# no chunk is silently truncated by the model.
MAX_CHUNK_CHARS = 1000

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")
_REFERENCES_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*References\s*$", re.MULTILINE | re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class Chunk(BaseModel):
    """One embeddable piece of a document, with where it came from."""

    id: str
    """Stable id: the same file and position always give the same id, so re-adding replaces."""
    text: str = Field(min_length=1)
    source: str
    """Absolute path of a user file, or ``corpus/<file>`` for the shipped notes."""
    title: str
    page: int | None = None
    """1-based PDF page; None for text files."""
    kind: str = "user"
    """``user`` for ingested files, ``corpus`` for the shipped literature notes."""
    topic: str | None = None
    references: str | None = None
    """The note's reference list (shipped corpus), shown with every passage of the note."""

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for chromadb; absent values are left out rather than stored as None."""
        meta: dict[str, str | int] = {"source": self.source, "title": self.title, "kind": self.kind}
        for key in ("page", "topic", "references"):
            value = getattr(self, key)
            if value is not None:
                meta[key] = value
        return meta


def split_into_chunks(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Pack paragraphs greedily into chunks of at most ``max_chars`` characters.

    Paragraph boundaries are kept where possible; a paragraph longer than the limit is
    split at sentence ends, and a sentence longer than the limit at spaces.
    """
    pieces: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        lines = [" ".join(line.split()) for line in paragraph.splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            continue
        # Reference lists keep one entry per line; prose lines (PDF hard wraps) are joined.
        if sum(bool(_LIST_ITEM.match(line)) for line in lines) > 1:
            pieces.extend(p for line in lines for p in _split_long(line, max_chars))
        else:
            pieces.extend(_split_long(" ".join(lines), max_chars))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        joiner = "\n" if _LIST_ITEM.match(piece) else "\n\n"
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= max_chars:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        for part in _hard_wrap(sentence, max_chars):
            candidate = f"{current} {part}" if current else part
            if len(candidate) <= max_chars:
                current = candidate
            else:
                out.append(current)
                current = part
    if current:
        out.append(current)
    return out


def _hard_wrap(sentence: str, max_chars: int) -> Iterable[str]:
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        yield sentence[:cut].rstrip()
        sentence = sentence[cut:].lstrip()
    if sentence:
        yield sentence


def split_references(text: str) -> tuple[str, str | None]:
    """Separate a note's body from its trailing ``## References`` section."""
    match = _REFERENCES_HEADING.search(text)
    if match is None:
        return text, None
    refs = "\n".join(line.strip() for line in text[match.end() :].splitlines() if line.strip())
    return text[: match.start()], refs or None


def _title_of(path: Path, text: str) -> str:
    match = _HEADING.search(text)
    return match.group(1).strip() if match else path.stem.replace("-", " ").replace("_", " ")


def _read_text_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MemoryStoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MemoryStoreError(
            f"{path} is not UTF-8 text (byte {exc.start}); convert it to UTF-8 first"
        ) from exc


def _read_pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise MemoryStoreError(f"{path} is an encrypted PDF; decrypt it first")
        return [page.extract_text() or "" for page in reader.pages]
    except OSError as exc:
        raise MemoryStoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        # pypdf raises a mix of these on damaged files; all mean the same to a person.
        raise MemoryStoreError(f"{path} is not a readable PDF: {exc}") from exc


def _chunk_id(prefix: str, source: str, page: int | None, index: int) -> str:
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]
    return f"{prefix}:{digest}:{page or 0}:{index}"


def read_document(
    path: Path, *, kind: str = "user", topic: str | None = None, source: str | None = None
) -> list[Chunk]:
    """Read one file into chunks, or raise :class:`MemoryStoreError` saying why it cannot be."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise MemoryStoreError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not path.exists():
        raise MemoryStoreError(f"{path} does not exist")
    if not path.is_file():
        raise MemoryStoreError(f"{path} is not a file")
    label = source or str(path.resolve())
    references: str | None = None
    if suffix == ".pdf":
        pages = _read_pdf_pages(path)
        if not pages:
            raise MemoryStoreError(f"{path} has no pages")
        title = path.stem.replace("-", " ").replace("_", " ")
        numbered: list[tuple[int | None, str]] = [(i + 1, text) for i, text in enumerate(pages)]
        empty_reason = "has no extractable text (a scanned PDF needs OCR first)"
    else:
        text = _read_text_file(path)
        title = _title_of(path, text)
        if kind == "corpus":
            text, references = split_references(text)
        numbered = [(None, text)]
        empty_reason = "is empty"
    chunks: list[Chunk] = []
    for page, page_text in numbered:
        for index, piece in enumerate(split_into_chunks(page_text)):
            chunks.append(
                Chunk(
                    id=_chunk_id(kind, label, page, index),
                    text=piece,
                    source=label,
                    title=title,
                    page=page,
                    kind=kind,
                    topic=topic,
                    references=references,
                )
            )
    if not chunks:
        raise MemoryStoreError(f"{path} {empty_reason}")
    return chunks


def _expand(path: Path) -> list[Path]:
    """A folder stands for every supported file below it."""
    if not path.is_dir():
        return [path]
    found = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )
    if not found:
        raise MemoryStoreError(f"no {', '.join(SUPPORTED_SUFFIXES)} files in the folder {path}")
    return found


def read_documents(paths: Sequence[Path]) -> list[Chunk]:
    """Read every file first, so one bad file rejects the batch before anything is stored."""
    if not paths:
        raise MemoryStoreError("no files given to add")
    chunks: list[Chunk] = []
    seen: set[Path] = set()
    for given in paths:
        for path in _expand(Path(given).expanduser()):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            chunks.extend(read_document(path))
    return chunks
