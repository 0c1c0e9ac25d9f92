"""manifest.json checks, and model.skops: every family's pipeline saves with allow-listed types."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_backend import FittedModel, TrialConfig, UntrustedModelError, load_model
from automl_backend._integrity import MANIFEST_FILE, record_files, verify_folder
from automl_backend._preprocess import build_pipeline, coerce_columns
from automl_backend._registry import REGISTRY

# ------------------------------------------------------------------ manifest


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "a.bin").write_bytes(b"first")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("second", encoding="utf-8")
    record_files(tmp_path, ["a.bin"])
    record_files(tmp_path, ["sub/b.txt", "missing.txt"], missing_ok=True)
    return tmp_path


def test_recorded_files_verify(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert sorted(json.loads((folder / MANIFEST_FILE).read_text())) == ["a.bin", "sub/b.txt"]
    verify_folder(folder, ["a.bin"])
    (folder / "unlisted.txt").write_text("files the manifest does not list are ignored")
    verify_folder(folder, [])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / MANIFEST_FILE).unlink(), r"no manifest\.json"),
        (lambda f: (f / "sub" / "b.txt").write_text("changed"), r"b\.txt does not match"),
        (lambda f: (f / "a.bin").unlink(), r"a\.bin, listed in manifest\.json, is missing"),
        (lambda f: (f / MANIFEST_FILE).write_text("{not json"), r"manifest\.json is not valid"),
        (lambda f: (f / MANIFEST_FILE).write_text('{"../a.bin": "' + "0" * 64 + '"}'),
         "outside the folder"),
        (lambda f: (f / MANIFEST_FILE).write_text('{"a.bin": "abc"}'), "bad SHA-256"),
    ],
)  # fmt: skip
def test_a_damaged_folder_is_refused_with_one_line(
    tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    folder = _folder(tmp_path)
    damage(folder)
    with pytest.raises(UntrustedModelError, match=message) as refused:
        verify_folder(folder, ["a.bin"])
    text = str(refused.value)
    assert "\n" not in text and "--trust" in text and "runs code" in text


def test_a_required_file_must_be_listed(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "model.joblib").write_bytes(b"planted")
    with pytest.raises(UntrustedModelError, match=r"model\.joblib is not listed"):
        verify_folder(folder, ["model.joblib"])


# ------------------------------------------------------------------ model.skops

N_ROWS = 120
COLUMN_TYPES = {"a": "numeric", "b": "numeric", "c": "categorical", "d": "datetime",
                "e": "boolean"}  # fmt: skip


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "a": rng.normal(size=N_ROWS), "b": rng.normal(size=N_ROWS),
        "c": rng.choice(["x", "y", "z"], size=N_ROWS),
        "d": pd.date_range("2020-01-01", periods=N_ROWS),
        "e": rng.choice([True, False], size=N_ROWS),
    })  # fmt: skip


def _fitted(
    family: str, task: str, preprocessing: dict[str, object], params: dict[str, object]
) -> FittedModel:
    X = coerce_columns(_table(), COLUMN_TYPES)
    classification = task != "regression"
    y = np.asarray(X["a"] > 0, dtype=int) if classification else 2 * X["a"].to_numpy()
    if task == "multiclass":
        y = np.digitize(X["a"].to_numpy(), [-0.5, 0.5])
    config = TrialConfig(family=family, params=params, preprocessing=preprocessing)
    pipeline = build_pipeline(config, COLUMN_TYPES, classification=classification,
                              n_train=N_ROWS)  # fmt: skip
    pipeline.fit(X, y)
    return FittedModel(
        task=task, target="y", column_types=COLUMN_TYPES,
        classes=sorted(set(y.tolist())) if classification else [],
        members=[(1.0, pipeline)], member_configs=[{"family": family}], metric="",
    )  # fmt: skip


SMALL = {"random_forest": {"n_estimators": 10}, "extra_trees": {"n_estimators": 10},
         "hist_gradient_boosting": {"max_iter": 10}, "lightgbm": {"n_estimators": 10},
         "mlp": {"layer_width": 8, "max_iter": 20}}  # fmt: skip
CASES = [
    (family, task)
    for family, info in REGISTRY.items()
    for task in (["binary", "multiclass"] if "classification" in info.tasks else [])
    + (["regression"] if "regression" in info.tasks else [])
]


@pytest.mark.parametrize(("family", "task"), CASES)
@pytest.mark.filterwarnings("ignore")
def test_every_family_saves_as_skops_and_loads_without_trust(
    family: str, task: str, tmp_path: Path
) -> None:
    variants: list[tuple[dict[str, object], dict[str, object]]] = [({}, {})]
    if family == "knn":
        variants.append(({"scaling": "quantile", "encoding": "target"}, {"p": 1}))
    if family in ("logistic", "ridge"):
        variants.append(({"scaling": "robust", "encoding": "ordinal",
                          "feature_selection": "kbest", "kbest_fraction": 0.5}, {}))  # fmt: skip
    X = _table()
    for i, (preprocessing, params) in enumerate(variants):
        model = _fitted(family, task, preprocessing, {**SMALL.get(family, {}), **params})
        folder = tmp_path / str(i)
        folder.mkdir()
        assert model.save(folder / "model.skops") == folder / "model.skops"
        loaded = load_model(folder)
        assert np.allclose(loaded.predict_matrix(X), model.predict_matrix(X))


def test_a_type_off_the_allow_list_needs_trust(tmp_path: Path) -> None:
    model = _fitted("logistic", "binary", {}, {})
    model.members = [(Decimal(1), model.members[0][1])]
    model.save(tmp_path / "model.skops")
    with pytest.raises(UntrustedModelError, match=r"allow-list \(decimal\.Decimal\)"):
        load_model(tmp_path)
    assert load_model(tmp_path, trust=True).members[0][0] == Decimal(1)


def test_a_model_skops_cannot_store_falls_back_to_a_pickle_that_needs_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skops.io

    def cannot(*args: object, **kwargs: object) -> None:
        raise TypeError("unsupported")

    monkeypatch.setattr(skops.io, "dump", cannot)
    model = _fitted("logistic", "binary", {}, {})
    written = model.save(tmp_path / "model.skops")
    assert written == tmp_path / "model.joblib" and not (tmp_path / "model.skops").exists()
    assert "model.joblib" in json.loads((tmp_path / MANIFEST_FILE).read_text())
    with pytest.raises(UntrustedModelError, match=r"model\.joblib is a pickle"):
        load_model(tmp_path)
    X = _table()
    assert np.allclose(load_model(tmp_path, trust=True).predict_matrix(X),
                       model.predict_matrix(X))  # fmt: skip


def test_skops_is_imported_without_torch_and_trusts_the_same_estimators() -> None:
    """The marked import leaves torch out, unmarks the adapter, and skops lists the same
    scikit-learn estimators as a plain import (each in a fresh interpreter)."""
    import subprocess
    import sys

    report = (
        "import sys; from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as n; "
        "print(len(n), 'torch' in sys.modules, "
        "'sklearn.externals.array_api_compat.torch' in sys.modules)"
    )
    marked = "from automl_backend._model import import_skops_io; import_skops_io(); " + report

    def run(code: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    names, torch_loaded, adapter_loaded = run(marked)
    assert (torch_loaded, adapter_loaded) == ("False", "False")
    plain_names, plain_torch, _ = run("import skops.io; " + report)
    assert plain_torch == "True"  # what the marked import avoids
    assert int(names) == int(plain_names) > 100
