"""A full disk under the output folder: one `error:` line, exit 2, and nothing finished lost.

A small tmpfs is mounted (root only; skipped with the reason where mounting fails) and
filled to a chosen number of free KiB. Where no tmpfs can be mounted, ENOSPC is raised at
the report's first write instead, so the co-scientist case is checked on every machine.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from agents import ResearchRun, RunConfig, RunContext

TMPFS_SIZE = "16m"
"""Room for a finished tiny co-scientist run (about 7 MB) before the filler goes in."""

Fill = Callable[[int], None]
Cli = Callable[..., subprocess.CompletedProcess[str]]
OneErrorLine = Callable[[subprocess.CompletedProcess[str]], str]
ONE_THREAD = {"OMP_NUM_THREADS": "1"}
"""The environment laid over this one for `cosci` (the configured LLM is left alone)."""


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Fill]]:
    """A tmpfs folder, and ``fill(kib)`` that leaves only ``kib`` KiB free on it."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs to fill (no mount command: {exc})")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")

    def fill(free_kib: int) -> None:
        filler = mount_point / "filler"
        filler.unlink(missing_ok=True)
        free = shutil.disk_usage(mount_point).free
        with filler.open("wb") as handle:
            handle.truncate(0)
            chunk = b"\0" * (1 << 16)
            left = max(free - free_kib * 1024, 0)
            while left > 0:
                try:
                    handle.write(chunk[: min(len(chunk), left)])
                    handle.flush()
                except OSError:
                    break
                left -= min(len(chunk), left)

    try:
        yield mount_point, fill
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


@pytest.mark.parametrize("free_kib", [0, 100])
def test_automl_on_a_full_disk_is_one_error_line(
    full_disk: tuple[Path, Fill], free_kib: int, cli: Cli, one_error_line: OneErrorLine
) -> None:
    disk, fill = full_disk
    fill(free_kib)
    args = ["automl", "--data", "sklearn:iris", "--time-budget", "5", "--out", str(disk / "o")]
    line = one_error_line(cli(*args, env=ONE_THREAD))
    assert line.startswith("error: ") and "disk is full" in line


# ---------------------------------------------------------------- co-scientist report


@pytest.fixture(scope="module")
def finished_run(
    tmp_path_factory: pytest.TempPathFactory, fakes: ModuleType, tiny_context: RunContext
) -> Path:
    """A finished tiny run (scripted fake LLM) whose report was never written."""
    context = tiny_context.model_copy(update={"auto_approve": True})
    config = RunConfig(
        goal="Which model family predicts the target best?",
        data="sklearn:breast_cancer",
        context=context,
        use_memory=False,
    )
    run = ResearchRun.create(tmp_path_factory.mktemp("disk") / "run", config)
    llm = fakes.ScriptedFakeLLM(["logistic", "knn"])
    for _ in run.advance(llm, run.toolbox(None, embed=fakes.hash_embed)):
        pass
    assert run.status() == "finished" and not (run.dir / "report.md").exists()
    return run.dir


def _digests(run_dir: Path) -> dict[str, str]:
    """What a run finished: its checkpoints and experiment folders, file by file."""
    files = [run_dir / "checkpoints.sqlite", *sorted((run_dir / "experiments").rglob("*"))]
    return {
        str(f.relative_to(run_dir)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in files
        if f.is_file()
    }


@pytest.mark.slow
def test_a_report_that_cannot_be_written_loses_nothing_and_is_written_later(
    full_disk: tuple[Path, Fill],
    finished_run: Path,
    cli: Cli,
    one_error_line: OneErrorLine,
) -> None:
    disk, fill = full_disk
    run_dir = disk / "run"
    shutil.copytree(finished_run, run_dir)
    finished = _digests(run_dir)
    fill(64)

    line = one_error_line(cli("resume", str(run_dir), env=ONE_THREAD))
    assert line.startswith("error: ") and "disk is full" in line and "cosci resume" in line
    assert _digests(run_dir) == finished

    (disk / "filler").unlink()  # space is freed: the report is written now
    assert ResearchRun.open(run_dir).status() == "finished"
    done = cli("resume", str(run_dir), env=ONE_THREAD)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run_dir / "report.md").is_file() and (run_dir / "best_model").is_dir()
    assert _digests(run_dir) == finished


def test_enospc_while_writing_the_report_is_one_line_and_resume_writes_it(
    finished_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same without a tmpfs: ENOSPC raised at the report's first write (elo.png)."""
    import cosci._report
    from cosci.cli import main

    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    finished = _digests(run_dir)

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir / "elo.png"))

    monkeypatch.setattr(cosci._report, "plot_elo", no_space)
    monkeypatch.setattr(sys, "argv", ["cosci", "resume", str(run_dir)])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the disk is full writing "), err
    assert _digests(run_dir) == finished

    monkeypatch.undo()
    monkeypatch.setattr(sys, "argv", ["cosci", "resume", str(run_dir)])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 0
    assert (run_dir / "report.md").is_file()
    assert _digests(run_dir) == finished
