"""LightGBM's threads in a process that forks.

Once a process has run LightGBM on several threads, a child it forks hangs as soon as
LightGBM starts several threads there: libgomp's thread pool does not survive ``fork``
(LightGBM's FAQ says so and recommends one thread before forking). The backend forks
every trial and every refit, so measured here: after a run's test score was computed in
the parent, every LightGBM trial of the next run in that process timed out, and on magic
a refit of 1.5 s ran into its 7 s deadline after the previous member's model was loaded.

So the parent keeps LightGBM to one thread while it loads or predicts with a model
(:func:`single_threaded_lightgbm`, LightGBM's process-wide ``LGBM_SetMaxThreads``), and
every forked child lifts that cap again for its own fits.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_holders = 0
_previous = -1


def _library(load: bool) -> Any:
    """LightGBM's C library, or None when LightGBM is not imported (``load``: import it
    first when it is installed, for a model about to be unpickled)."""
    module = sys.modules.get("lightgbm.basic")
    if module is None and load and importlib.util.find_spec("lightgbm") is not None:
        module = importlib.import_module("lightgbm.basic")
    library = getattr(module, "_LIB", None)
    if library is None or not hasattr(library, "LGBM_SetMaxThreads"):
        return None
    return library


def max_threads() -> int:
    """LightGBM's process-wide thread cap now (-1: none, or LightGBM not imported)."""
    library = _library(load=False)
    if library is None:
        return -1
    value = ctypes.c_int(-1)
    library.LGBM_GetMaxThreads(ctypes.byref(value))
    return value.value


@contextmanager
def single_threaded_lightgbm(load: bool = False) -> Iterator[None]:
    """Cap LightGBM at one thread in this process inside the block; nested and concurrent
    blocks (threads) share one cap, lifted when the last one ends. ``load``: import
    LightGBM first if it is installed, for code that may unpickle a LightGBM model."""
    global _holders, _previous
    library = _library(load)
    if library is None:
        yield
        return
    with _lock:
        if _holders == 0:
            _previous = max_threads()
            library.LGBM_SetMaxThreads(ctypes.c_int(1))
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                library.LGBM_SetMaxThreads(ctypes.c_int(_previous))


def _lift_in_child() -> None:
    """In a forked child: no cap held, and LightGBM may use its threads again."""
    global _holders, _previous, _lock
    _lock = threading.Lock()
    _holders, _previous = 0, -1
    library = _library(load=False)
    if library is not None:
        library.LGBM_SetMaxThreads(ctypes.c_int(-1))


os.register_at_fork(after_in_child=_lift_in_child)
