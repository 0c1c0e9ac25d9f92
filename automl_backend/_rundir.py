"""Run directories: written to a hidden sibling and moved into place only when complete."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from automl_backend._errors import BackendError

log = logging.getLogger("automl_backend")

_PARTIAL_NAME = re.compile(r"^\..+\.partial-(\d+)$")
"""A run directory being written: ``.NAME.partial-PID`` of the process writing it."""


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def remove_stale_partials(parent: Path) -> list[Path]:
    """Delete the ``.NAME.partial-PID`` folders in ``parent`` whose process is dead.

    A run killed with SIGKILL cannot clean up after itself; the next run in the same
    folder does. Folders of live processes (runs still writing) are left alone.
    """
    removed: list[Path] = []
    with os.scandir(parent) as entries:
        candidates = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
    for folder in candidates:
        match = _PARTIAL_NAME.match(folder.name)
        if match and not _process_exists(int(match.group(1))):
            log.info("removing %s, left by a run that was killed", folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def prepare_run_dir(out_dir: str | Path | None) -> tuple[Path | None, Path | None]:
    """(final folder, hidden work folder to write into); (None, None) when ``out_dir`` is."""
    if out_dir is None:
        return None, None
    final = Path(out_dir).expanduser().resolve()
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise BackendError(f"run directory {final} already exists and is not empty")
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(final.parent)
    workdir = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    return final, workdir
