"""Reading and chunking files: pure parsing, no store and no model involved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from memory import MemoryStoreError
from memory._documents import (
    read_document,
    read_documents,
    split_into_chunks,
    split_references,
)


def test_short_paragraphs_are_packed_together() -> None:
    assert split_into_chunks("one\n\ntwo\n\nthree") == ["one\n\ntwo\n\nthree"]


def test_chunks_respect_the_limit_and_keep_every_word() -> None:
    sentence = "Random search samples each configuration independently of the others. "
    text = "\n\n".join(sentence * 5 for _ in range(12))
    chunks = split_into_chunks(text, max_chars=300)
    assert len(chunks) > 1
    assert all(len(c) <= 300 for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    chunks = split_into_chunks("x" * 2500, max_chars=1000)
    assert [len(c) for c in chunks] == [1000, 1000, 500]


def test_pdf_hard_wraps_are_joined_but_list_items_keep_their_lines() -> None:
    assert split_into_chunks("a line\nwrapped here") == ["a line wrapped here"]
    assert split_into_chunks("- first\n- second") == ["- first\n- second"]


def test_references_are_split_from_the_body() -> None:
    body, refs = split_references("# T\n\nBody.\n\n## References\n- A (2001). X.\n- B (2002). Y.\n")
    assert "Body." in body and "References" not in body
    assert refs == "- A (2001). X.\n- B (2002). Y."
    assert split_references("no refs here") == ("no refs here", None)


def test_markdown_title_source_and_stable_ids(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# My notes\n\nTPE models good and bad trials separately.\n", encoding="utf-8")
    first = read_document(path)
    again = read_document(path)
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].title == "My notes"
    assert first[0].source == str(path.resolve())
    assert first[0].page is None and first[0].kind == "user"


def test_text_file_without_heading_is_titled_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "grid_search-notes.txt"
    path.write_text("Grid search is exponential in the number of dimensions.", encoding="utf-8")
    assert read_document(path)[0].title == "grid search notes"


def test_pdf_pages_are_numbered_and_blank_pages_skipped(
    make_pdf: Callable[[str, list[str]], Path],
) -> None:
    path = make_pdf("paper.pdf", ["Bayesian optimisation uses a surrogate.", "", "Page three."])
    chunks = read_document(path)
    assert [(c.page, c.text) for c in chunks] == [
        (1, "Bayesian optimisation uses a surrogate."),
        (3, "Page three."),
    ]
    assert len({c.id for c in chunks}) == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", b"", "is empty"),
        ("blank.txt", b"  \n\n \t\n", "is empty"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("table.csv", b"a,b\n1,2\n", "unsupported file type '.csv'"),
        ("broken.pdf", b"%PDF-1.4 this is not a real pdf", "not a readable PDF"),
    ],
)
def test_bad_files_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MemoryStoreError, match=message) as info:
        read_document(path)
    assert "\n" not in str(info.value)
    assert info.value.user_facing is True


def test_pdf_without_text_says_so(make_pdf: Callable[[str, list[str]], Path]) -> None:
    path = make_pdf("scan.pdf", ["", ""])
    with pytest.raises(MemoryStoreError, match="no extractable text"):
        read_document(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(MemoryStoreError, match="does not exist"):
        read_document(tmp_path / "nope.md")
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(MemoryStoreError, match="is not a file"):
        read_document(folder)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod does not stop root (CI runs as root), so the permission error is simulated.
    path = tmp_path / "secret.md"
    path.write_text("hidden", encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(MemoryStoreError, match=r"cannot read .*secret\.md: Permission denied"):
        read_document(path)


def test_batch_fails_on_any_bad_file_and_dedupes_paths(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("Hyperband hedges over successive halving brackets.", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("", encoding="utf-8")
    assert len(read_documents([good, good])) == 1
    with pytest.raises(MemoryStoreError, match=r"bad\.txt is empty"):
        read_documents([good, bad])
    with pytest.raises(MemoryStoreError, match="no files"):
        read_documents([])


def test_a_folder_adds_every_supported_file_below_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("Note A about TPE.", encoding="utf-8")
    (tmp_path / "sub" / "b.txt").write_text("Note B about DARTS.", encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("x,y", encoding="utf-8")
    chunks = read_documents([tmp_path, tmp_path / "a.md"])
    assert sorted(c.text for c in chunks) == ["Note A about TPE.", "Note B about DARTS."]
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    with pytest.raises(MemoryStoreError, match=r"no .*files in the folder"):
        read_documents([empty])
