"""cosci: the application shell (CLI, settings, reports) and the Python API.

::

    import cosci

    result = cosci.research("Which model family predicts malignancy best, and why?",
                            "sklearn:breast_cancer", auto_approve=True)
    print(result.answer.sentence)
    result.ranking                       # a pandas DataFrame, leader first
    result.best_model.predict(new_rows)  # pandas or polars rows

``review`` and ``resume`` continue a run that paused for a person's decisions;
``open_result`` reads any run directory. Names load lazily, so ``import cosci`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from automl_backend.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "research": "_api",
    "review": "_api",
    "resume": "_api",
    "open_result": "_api",
    "ResearchResult": "_api",
    "ResultModel": "_api",
}

__all__ = ["ResearchResult", "ResultModel", "open_result", "research", "resume", "review"]

if TYPE_CHECKING:
    from cosci._api import ResearchResult, ResultModel, open_result, research, resume, review

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
