"""MemoryStore over a local PersistentClient: add, query, filters, corpus, ingest, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memory import MemoryStore, MemoryStoreError


def _snapshot(store: Any, collection: str = "literature") -> dict[str, tuple[str, str]]:
    """Every stored id with its text and metadata, to prove nothing changed."""
    col = store._collection(collection)
    got = col.get(include=["documents", "metadatas"])
    return {
        i: (doc, json.dumps(meta, sort_keys=True))
        for i, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    }


def test_add_then_query_by_meaning(bare_store: Any) -> None:
    bare_store.add(
        "literature",
        ids=["a", "b", "c"],
        texts=[
            "Hyperband runs successive halving with several budgets.",
            "Prototypical networks classify by distance to class means.",
            "Quantisation stores weights in eight-bit integers.",
        ],
        metadatas=[{"topic": "hpo"}, {"topic": "metalearning"}, {"topic": "compression"}],
    )
    hits = bare_store.query("literature", "few-shot learning with class prototypes", k=2)
    assert hits[0].id == "b"
    assert len(hits) == 2
    assert hits[0].distance <= hits[1].distance
    assert hits[0].metadata == {"topic": "metalearning"}


def test_filter_by_metadata(bare_store: Any) -> None:
    bare_store.add(
        "literature",
        ids=["x", "y"],
        texts=["Pruning removes small weights.", "Pruning removes hopeless HPO trials early."],
        metadatas=[{"topic": "compression"}, {"topic": "hpo"}],
    )
    hits = bare_store.query("literature", "pruning weights", k=5, where={"topic": "hpo"})
    assert [h.id for h in hits] == ["y"]
    assert bare_store.query("literature", "pruning", where={"topic": "nas"}) == []


def test_adding_the_same_ids_replaces_instead_of_duplicating(bare_store: Any) -> None:
    for text in ("first version", "second version"):
        bare_store.add("literature", ids=["same"], texts=[text], metadatas=[{"kind": "user"}])
    assert bare_store.count("literature") == 1
    assert bare_store.query("literature", "version", k=3)[0].text == "second version"


def test_query_on_an_empty_store_is_a_clear_error(bare_store: Any) -> None:
    with pytest.raises(MemoryStoreError, match=r"'literature' collection .* is empty"):
        bare_store.search_literature("anything")
    with pytest.raises(MemoryStoreError, match="query is empty"):
        bare_store.query("literature", "   ")


def test_store_needs_exactly_one_location(tmp_path: Path) -> None:
    with pytest.raises(MemoryStoreError, match="exactly one"):
        MemoryStore()
    with pytest.raises(MemoryStoreError, match="exactly one"):
        MemoryStore(path=tmp_path, url="http://127.0.0.1:8000")
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(MemoryStoreError, match="not a folder"):
        MemoryStore(path=afile).count("runs")
    with pytest.raises(MemoryStoreError, match="must look like http"):
        MemoryStore(url="127.0.0.1:8000").count("runs")


def test_corpus_loads_on_first_search_once_with_stable_ids(
    store: Any, tiny_corpus: Path, tmp_path: Path
) -> None:
    assert store.count("literature") == 0
    hits = store.search_literature("keep the best third and triple the budget", k=1)
    assert hits[0].title == "Successive halving"
    assert hits[0].source == "corpus/hpo-halving.md"
    assert hits[0].topic == "hpo" and hits[0].kind == "corpus"
    assert hits[0].references and "Jamieson" in hits[0].references
    loaded = _snapshot(store)
    assert len(loaded) == 3
    assert store.load_corpus() == 0
    # A second store on the same folder (a new session) finds the corpus already there.
    again = MemoryStore(path=tmp_path / "store", corpus_dir=tiny_corpus)
    assert again.load_corpus() == 0
    again.search_literature("decision trees", k=1)
    assert _snapshot(again) == loaded


def test_an_edited_corpus_replaces_the_old_version(
    store: Any, tiny_corpus: Path, tmp_path: Path
) -> None:
    store.load_corpus()
    (tiny_corpus / "nas-darts.md").write_text(
        "# DARTS\n\nA new text about mixed operations.\n", encoding="utf-8"
    )
    (tiny_corpus / "tabular-forests.md").unlink()
    fresh = MemoryStore(path=tmp_path / "store", corpus_dir=tiny_corpus)
    assert fresh.load_corpus() == 2
    texts = sorted(doc for doc, _ in _snapshot(fresh).values())
    assert len(texts) == 2
    assert any("mixed operations" in t for t in texts)
    assert not any("bootstrap" in t for t in texts)


def test_user_documents_are_searchable_with_source_and_page(
    store: Any, tmp_path: Path, make_pdf: Callable[[str, list[str]], Path]
) -> None:
    note = tmp_path / "my-notes.md"
    note.write_text("# Lab notes\n\nOur LightGBM runs overfit below 500 rows.\n", encoding="utf-8")
    pdf = make_pdf("paper.pdf", ["Intro page.", "Mixup interpolates pairs of training images."])
    report = store.ingest([note, pdf])
    assert report.chunks == 3 and report.replaced == 0
    assert report.files == sorted([str(note.resolve()), str(pdf.resolve())])

    hit = store.search_literature(
        "mixing two images and their labels", k=1, where={"kind": "user"}
    )[0]
    assert hit.source == str(pdf.resolve()) and hit.page == 2
    assert hit.citation.endswith(", p. 2")
    hit = store.search_literature("LightGBM overfits when there are few rows", k=1)[0]
    assert hit.title == "Lab notes" and hit.page is None
    stats = store.stats()
    assert stats.user_chunks == 3 and stats.corpus_chunks == 3
    assert stats.user_sources == report.files


def test_re_adding_a_shorter_file_drops_its_stale_chunks(store: Any, tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("\n\n".join(f"Paragraph {i}. " + "word " * 150 for i in range(6)), "utf-8")
    first = store.ingest([path])
    assert first.chunks > 1
    path.write_text("Now a single short paragraph.", encoding="utf-8")
    second = store.ingest([path])
    assert second.chunks == 1 and second.replaced == first.chunks - 1
    docs = [d for d, meta in _snapshot(store).values() if str(path.resolve()) in meta]
    assert docs == ["Now a single short paragraph."]


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.md", b""), ("table.xlsx", b"PK"), ("broken.pdf", b"%PDF-1.4 garbage")],
)
def test_bad_input_changes_nothing(store: Any, tmp_path: Path, name: str, content: bytes) -> None:
    good = tmp_path / "good.md"
    good.write_text("Ensemble selection adds models greedily.", encoding="utf-8")
    store.ingest([good])
    store.load_corpus()
    before = _snapshot(store)
    newcomer = tmp_path / "newcomer.md"
    newcomer.write_text("This would be new if the batch were valid.", encoding="utf-8")
    good.write_text("An edited version that must not be stored either.", encoding="utf-8")
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(MemoryStoreError, match=re.escape(name)):
        store.ingest([newcomer, good, bad])
    assert _snapshot(store) == before


def test_pdf_without_text_is_rejected_and_store_kept(
    store: Any, make_pdf: Callable[[str, list[str]], Path]
) -> None:
    store.load_corpus()
    before = _snapshot(store)
    with pytest.raises(MemoryStoreError, match="no extractable text"):
        store.ingest([make_pdf("scan.pdf", ["", ""])])
    assert _snapshot(store) == before


_REOPEN = textwrap.dedent(
    """
    import json, socket, sys
    def refuse(*args, **kwargs):
        raise AssertionError(f"network use: {args!r}")
    socket.socket.connect = refuse
    socket.getaddrinfo = refuse
    # Any use of chromadb's default embedder (it downloads an ONNX model) fails loudly.
    from chromadb.utils.embedding_functions import onnx_mini_lm_l6_v2 as onnx
    onnx.ONNXMiniLM_L6_V2.__call__ = refuse
    onnx.ONNXMiniLM_L6_V2._download_model_if_not_exists = refuse
    import torch; torch.set_num_threads(1)
    import chromadb
    from chromadb.config import Settings
    import memory
    from memory._chroma_embedding import MiniLMEmbeddingFunction
    path, corpus = sys.argv[1], sys.argv[2]
    store = memory.MemoryStore(path=path, corpus_dir=__import__("pathlib").Path(corpus))
    out = {"loaded": store.load_corpus()}
    out["store_hit"] = store.search_literature("architecture search by gradient descent", k=1)[0].title
    out["runs"] = [r.record.run_id for r in store.similar_runs(__import__("automl_backend").DatasetProfile.model_validate_json(sys.argv[3]), 1)]
    # A plain chromadb client, no embedding function given: rebuilt from the stored config.
    raw = chromadb.PersistentClient(path, settings=Settings(anonymized_telemetry=False))
    col = raw.get_collection("literature")
    out["ef"] = type(col.configuration["embedding_function"]).__name__
    got = col.query(query_texts=["bootstrap samples of decision trees"], n_results=1)
    out["raw_hit"] = got["metadatas"][0][0]["title"]
    print(json.dumps(out))
    """
)


def test_reopen_in_a_new_process_and_query_by_text(
    store: Any, tiny_corpus: Path, tmp_path: Path, make_profile: Callable[..., Any]
) -> None:
    from automl_backend import TrialConfig
    from memory import RunRecord

    store.load_corpus()
    profile = make_profile()
    store.record_run(
        RunRecord(
            run_id="r1",
            profile=profile,
            status="ok",
            metric="accuracy",
            best_score=0.95,
            best_config=TrialConfig(family="random_forest"),
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _REOPEN,
            str(tmp_path / "store"),
            str(tiny_corpus),
            profile.model_dump_json(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "loaded": 0,
        "store_hit": "DARTS",
        "runs": ["r1"],
        "ef": "MiniLMEmbeddingFunction",
        "raw_hit": "Random forests",
    }
