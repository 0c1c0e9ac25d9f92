"""The MiniLM model as a chromadb embedding function, registered by name.

chromadb stores ``name()`` and ``get_config()`` in the collection's configuration and, when
a collection is opened without an explicit function, rebuilds it through the registry.
Registering ours means a collection reopened anywhere in a process that imported this
module queries with the same model, and never with chromadb's default embedder (which
would try to download an ONNX model).
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from memory._embedding import EMBEDDING_MODEL, embed_texts

EMBEDDING_FUNCTION_NAME = "cosci-minilm-l6-v2"


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embeds documents with the packaged all-MiniLM-L6-v2 (384 dims, unit length)."""

    def __init__(self) -> None:
        # Nothing to do: the model is loaded on the first call and shared per process.
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_texts(list(input)))

    @staticmethod
    def name() -> str:
        return EMBEDDING_FUNCTION_NAME

    def get_config(self) -> dict[str, Any]:
        return {"model": EMBEDDING_MODEL}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        MiniLMEmbeddingFunction.validate_config(config)
        return MiniLMEmbeddingFunction()

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if config.get("model", EMBEDDING_MODEL) != EMBEDDING_MODEL:
            raise ValueError(
                f"collection was embedded with {config.get('model')!r}, not {EMBEDDING_MODEL!r}"
            )

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]
