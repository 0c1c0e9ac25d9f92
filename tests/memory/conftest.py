"""Fixtures for the memory tests: a tiny corpus, stores in temporary folders, profiles, PDFs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

TINY_NOTES = {
    "hpo-halving.md": (
        "# Successive halving\n\nStart many configurations on a small budget, keep the best "
        "third, triple the budget, repeat until one is left.\n\n## References\n"
        "- Jamieson, Talwalkar (2016). Non-stochastic best arm identification. AISTATS.\n"
    ),
    "nas-darts.md": (
        "# DARTS\n\nDifferentiable architecture search relaxes the choice of operation on each "
        "edge into a softmax-weighted mixture and optimises it by gradient descent.\n\n"
        "## References\n- Liu, Simonyan, Yang (2019). DARTS. ICLR.\n"
    ),
    "tabular-forests.md": (
        "# Random forests\n\nAn average of deep decision trees grown on bootstrap samples "
        "with random feature subsets per split; needs little tuning.\n\n## References\n"
        "- Breiman (2001). Random forests. Machine Learning.\n"
    ),
}


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """Two cores are shared by several engineers' test runs; one thread is faster here."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TINY_NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def store(tmp_path: Path, tiny_corpus: Path) -> Any:
    from memory import MemoryStore

    return MemoryStore(path=tmp_path / "store", corpus_dir=tiny_corpus)


@pytest.fixture
def bare_store(tmp_path: Path) -> Any:
    """A store without any corpus: its literature collection starts empty."""
    from memory import MemoryStore

    return MemoryStore(path=tmp_path / "bare", corpus_dir=None)


def _profile(**overrides: Any) -> Any:
    from automl_backend import DatasetProfile

    fields: dict[str, Any] = {
        "name": "iris",
        "task": "multiclass",
        "target": "species",
        "n_rows": 150,
        "n_features": 4,
        "n_numeric": 4,
        "n_categorical": 0,
        "n_classes": 3,
        "minority_class_share": 1 / 3,
        "share_categorical": 0.0,
        "share_missing": 0.0,
        "landmark_stump": 0.66,
        "landmark_nb": 0.95,
    }
    fields.update(overrides)
    return DatasetProfile(**fields)


@pytest.fixture
def make_profile() -> Callable[..., Any]:
    return _profile


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one Helvetica text block per page ('' gives a blank page)."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    kids = []
    for i, text in enumerate(pages):
        page_id, content_id = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page_id} 0 R")
        lines = " ".join(f"({_pdf_string(line)}) Tj T*" for line in text.splitlines())
        stream = f"BT /F1 11 Tf 14 TL 72 720 Td {lines} ET".encode() if lines else b""
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
        ).encode()
        objects[content_id] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[[str, list[str]], Path]:
    def _make(name: str, pages: list[str]) -> Path:
        path = tmp_path / name
        path.write_bytes(build_pdf(pages))
        return path

    return _make
