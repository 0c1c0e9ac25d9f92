"""Reliability item 1: loading a model folder must not run code planted in it.

A crafted ``model.joblib`` whose unpickling touches a marker file stands in for an
attacker's payload (it never runs a shell command). ``cosci predict``, ``cosci compress``,
``combine_runs`` and the co-scientist's ``best_model/`` must refuse such a folder with
one error line before unpickling anything, unless told ``--trust`` / ``trust=True``.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from automl_backend import (
    BackendError,
    ExperimentSpec,
    UntrustedModelError,
    combine_runs,
    load_dataset,
    load_model,
)
from automl_backend._hpo.run import run_hpo
from cosci._best_model import write_best_model

COSCI = Path(sys.executable).with_name("cosci")
MODEL_FILES = ("model.skops", "model.joblib")


class _TouchOnLoad:
    """Unpickling this creates ``marker``: proof that loading ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def _plant(file: Path, marker: Path) -> None:
    joblib.dump(_TouchOnLoad(marker), file)
    assert not marker.exists()


def _model_file(folder: Path) -> Path:
    """The saved model of a run folder, whatever format this version writes."""
    return next(folder / name for name in MODEL_FILES if (folder / name).is_file())


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": (x > 0).astype(int)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two real tiny runs on the same table, their in-memory models, and new rows."""
    root = tmp_path_factory.mktemp("faults")
    _table(60, 0).to_csv(root / "train.csv", index=False)
    _table(12, 1).drop(columns="y").to_csv(root / "new.csv", index=False)
    dataset = load_dataset(str(root / "train.csv"), "y")
    out: dict[str, Any] = {"root": root, "new": root / "new.csv"}
    for family in ("logistic", "knn"):
        spec = ExperimentSpec.for_families([family], n_trials=2, metric="accuracy", cv={"folds": 3})
        done = run_hpo(spec, dataset, out_dir=root / family)
        assert done.result.ok and done.model is not None
        out[family] = root / family
        out[f"{family}_model"] = done.model
    return out


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _cosci(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COSCI), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _predict(
    model: Path, runs: dict[str, Any], tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "preds.csv"
    return _cosci("predict", "--model", str(model), "--data", str(runs["new"]),
                  "--out", str(out), *extra, cwd=tmp_path)  # fmt: skip


def _assert_refused(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr
    assert "--trust" in lines[0]


# ------------------------------------------------------------------ cosci predict


def test_predict_refuses_a_crafted_model_folder(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "crafted"
    folder.mkdir()
    marker = tmp_path / "marker"
    _plant(folder / "model.joblib", marker)
    done = _predict(folder, runs, tmp_path)
    assert not marker.exists()
    _assert_refused(done)
    assert "manifest" in done.stderr
    assert not (tmp_path / "preds.csv").exists()


def test_predict_refuses_a_model_file_changed_after_saving(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    folder = _copy(runs["logistic"], tmp_path / "tampered")
    marker = tmp_path / "marker"
    _plant(_model_file(folder), marker)
    done = _predict(folder, runs, tmp_path)
    assert not marker.exists()
    _assert_refused(done)
    assert _model_file(folder).name in done.stderr


def test_predict_refuses_a_pickle_dropped_beside_a_manifest(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    """A valid manifest does not vouch for a model.joblib it does not list."""
    folder = _copy(runs["logistic"], tmp_path / "swapped")
    for name in MODEL_FILES:
        (folder / name).unlink(missing_ok=True)
    marker = tmp_path / "marker"
    _plant(folder / "model.joblib", marker)
    done = _predict(folder, runs, tmp_path)
    assert not marker.exists()
    _assert_refused(done)


def test_predict_with_trust_loads_the_folder_and_so_runs_its_code(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "crafted"
    folder.mkdir()
    marker = tmp_path / "marker"
    _plant(folder / "model.joblib", marker)
    done = _predict(folder, runs, tmp_path, "--trust")
    assert marker.exists(), done.stderr  # what --trust means: the folder's code ran
    # The payload is no model, so the command still fails, cleanly.
    assert done.returncode == 2 and "does not hold a cosci model" in done.stderr
    assert "Traceback" not in done.stderr


def test_predict_loads_a_normally_saved_folder_without_trust(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    done = _predict(runs["logistic"], runs, tmp_path)
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(tmp_path / "preds.csv")
    model = runs["logistic_model"]
    new = pd.read_csv(runs["new"])
    assert (written["prediction"].to_numpy() == model.predict(new)).all()
    proba = written[[f"proba_{c}" for c in model.classes]].to_numpy()
    assert np.allclose(proba, model.predict_proba(new))


# ------------------------------------------------------------------ Python API


def test_load_model_refuses_then_trusts(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "crafted"
    folder.mkdir()
    marker = tmp_path / "marker"
    _plant(folder / "model.joblib", marker)
    with pytest.raises(BackendError) as refused:
        load_model(folder)
    assert not marker.exists()
    assert "trust" in str(refused.value)
    with pytest.raises(BackendError, match="trust"):
        load_model(folder / "model.joblib")
    assert not marker.exists()
    with pytest.raises(BackendError, match="does not hold a cosci model"):
        load_model(folder, trust=True)
    assert marker.exists()


def test_load_model_round_trip_predicts_as_before(runs: dict[str, Any]) -> None:
    model = runs["knn_model"]
    new = pd.read_csv(runs["new"])
    loaded = load_model(runs["knn"])
    assert np.allclose(loaded.predict_proba(new), model.predict_proba(new))


# ------------------------------------------------------------------ cosci compress


def test_compress_refuses_a_crafted_model_folder(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = _copy(runs["logistic"], tmp_path / "crafted")
    marker = tmp_path / "marker"
    for name in ("manifest.json", *MODEL_FILES):
        (folder / name).unlink(missing_ok=True)
    _plant(folder / "model.joblib", marker)
    done = _cosci("compress", "--model", str(folder), "--target-size-kb", "5", cwd=tmp_path)
    assert not marker.exists()
    _assert_refused(done)
    done = _cosci("compress", "--model", str(folder), "--target-size-kb", "5", "--trust",
                  cwd=tmp_path)  # fmt: skip
    assert marker.exists(), done.stderr
    assert done.returncode == 2 and "Traceback" not in done.stderr


# ------------------------------------------------------------------ combining runs


def test_combine_runs_refuses_a_tampered_run(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = _copy(runs["logistic"], tmp_path / "tampered")
    marker = tmp_path / "marker"
    _plant(_model_file(folder), marker)
    with pytest.raises(BackendError) as refused:
        combine_runs([folder], out_dir=None)
    assert not marker.exists()
    assert "trust" in str(refused.value)
    with pytest.raises(BackendError, match="trust"):
        combine_runs([runs["knn"], folder], out_dir=tmp_path / "combined")
    assert not marker.exists()
    assert not (tmp_path / "combined").exists()


def test_combine_runs_with_trust_loads_an_older_style_folder(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    folder = _copy(runs["logistic"], tmp_path / "old")
    for name in ("manifest.json", *MODEL_FILES):
        (folder / name).unlink(missing_ok=True)
    marker = tmp_path / "marker"
    _plant(folder / "model.joblib", marker)
    with pytest.raises(BackendError, match="trust"):
        combine_runs([folder], out_dir=None)
    assert not marker.exists()
    # Combining reads out-of-fold predictions only; the pickle is linked, not loaded.
    combine_runs([folder], out_dir=tmp_path / "combined", trust=True)
    assert not marker.exists()
    # Loading the combination loads the pickle: refused unless trusted, as on its own.
    with pytest.raises(UntrustedModelError, match="pickle"):
        load_model(tmp_path / "combined")
    assert not marker.exists()
    with pytest.raises(BackendError, match="does not hold a cosci model"):
        load_model(tmp_path / "combined", trust=True)
    assert marker.exists()


def test_best_model_is_not_built_from_tampered_experiments(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    run_dir = tmp_path / "research"
    experiments = run_dir / "experiments"
    marker = tmp_path / "marker"
    for hypothesis, family in (("h1", "logistic"), ("h2", "knn")):
        folder = _copy(runs[family], experiments / hypothesis)
        _plant(_model_file(folder), marker)
    best = write_best_model(run_dir, "h1", ["h1", "h2"], "accuracy", None)
    assert not marker.exists()
    assert best is not None and best.kind == "leader"
    assert best.reason is not None and "trust" in best.reason
    # The copy of the leader keeps its manifest, so predicting with it refuses as well.
    _assert_refused(_predict(run_dir / "best_model", runs, tmp_path))
    assert not marker.exists()


def test_best_model_of_normal_experiments_loads_without_trust(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    run_dir = tmp_path / "research"
    for hypothesis, family in (("h1", "logistic"), ("h2", "knn")):
        _copy(runs[family], run_dir / "experiments" / hypothesis)
    best = write_best_model(run_dir, "h1", ["h1", "h2"], "accuracy", None)
    assert best is not None and best.kind == "ensemble", best
    new = pd.read_csv(runs["new"])
    shipped = load_model(run_dir / "best_model").predict_proba(new)
    mixed = sum(
        m.weight * runs[{"h1": "logistic", "h2": "knn"}[m.hypothesis] + "_model"].predict_proba(new)
        for m in best.members
    )
    assert np.allclose(shipped, mixed, atol=1e-6)


def test_predict_refuses_a_combination_whose_part_changed(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    combined = tmp_path / "combined"
    combine_runs([runs["logistic"], runs["knn"]], out_dir=combined)
    part = next((combined / "parts").iterdir())
    marker = tmp_path / "marker"
    part.unlink()  # a hard link to the run's file: replace it, never write through it
    _plant(part, marker)
    _assert_refused(_predict(combined, runs, tmp_path))
    assert not marker.exists()
    # The runs the parts came from are untouched.
    assert len(load_model(runs["logistic"]).members) >= 1
