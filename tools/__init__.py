"""tools: the typed functions agents may call, thin adapters over the backend and memory.

``Toolbox`` binds them to one run (its data, memory and folder): ``profile_dataset``,
``run_arm`` (an experiment arm and what it cost), ``search_literature``,
``similar_runs``, plus ``record_run`` (the runs ledger) and ``embed`` (sentence
embeddings for proximity).
"""

from tools._errors import ToolError
from tools._experiment import run_experiment
from tools._lookups import LookupLog
from tools._toolbox import ArmRun, EmbedFunction, Toolbox

__all__ = ["ArmRun", "EmbedFunction", "LookupLog", "ToolError", "Toolbox", "run_experiment"]
