"""The packaged MiniLM model: embeddings, and its chromadb embedding function."""

from __future__ import annotations

import numpy as np
import pytest

from memory import EMBEDDING_DIM, SHIPPED_CORPUS, embed_texts


def test_embeddings_are_unit_rows_of_384_floats() -> None:
    vectors = embed_texts(["random search", "gradient boosting on tabular data"])
    assert vectors.shape == (2, EMBEDDING_DIM) == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embeddings_are_deterministic_and_batch_independent() -> None:
    texts = ["Hyperband", "prototypical networks", "knowledge distillation"]
    together = embed_texts(texts)
    alone = np.vstack([embed_texts([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_similar_meanings_are_closer_than_unrelated_ones() -> None:
    a, b, c = embed_texts(
        [
            "tuning hyperparameters with Bayesian optimisation",
            "hyperparameter search using a Gaussian process surrogate",
            "a recipe for baking sourdough bread",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_empty_input_and_a_bare_string() -> None:
    assert embed_texts([]).shape == (0, EMBEDDING_DIM)
    with pytest.raises(TypeError):
        embed_texts("not a list")  # type: ignore[arg-type]


def test_model_is_loaded_once_per_process() -> None:
    from memory._embedding import _load_model

    assert _load_model() is _load_model()


def test_shipped_corpus_chunks_fit_in_the_model_window() -> None:
    """No passage of the shipped notes may be silently truncated by the 256-token limit."""
    from memory._documents import read_document
    from memory._embedding import _load_model

    model = _load_model()
    texts = [
        f"{c.title}\n{c.text}"
        for path in sorted(SHIPPED_CORPUS.glob("*.md"))
        for c in read_document(path, kind="corpus", source=path.name)
    ]
    longest = max(len(model.tokenizer(t)["input_ids"]) for t in texts)
    assert longest <= model.max_seq_length == 256


def test_chroma_embedding_function_round_trips_through_its_config() -> None:
    from chromadb.utils.embedding_functions import known_embedding_functions

    from memory._chroma_embedding import EMBEDDING_FUNCTION_NAME, MiniLMEmbeddingFunction

    ef = MiniLMEmbeddingFunction()
    assert known_embedding_functions[EMBEDDING_FUNCTION_NAME] is MiniLMEmbeddingFunction
    rebuilt = MiniLMEmbeddingFunction.build_from_config(ef.get_config())
    assert isinstance(rebuilt, MiniLMEmbeddingFunction)
    assert not ef.is_legacy()
    assert ef.default_space() == "cosine"
    out = ef(["successive halving"])
    np.testing.assert_allclose(np.asarray(out[0]), embed_texts(["successive halving"])[0])
    with pytest.raises(ValueError, match="not 'all-MiniLM-L6-v2'"):
        MiniLMEmbeddingFunction.build_from_config({"model": "some-other-model"})
