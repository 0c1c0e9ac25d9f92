"""Property-based fuzzing of what people type: specs, CSV files and the review page's form.

Whatever the input, the answer is a result or a user-facing one-line error (an exception
with ``user_facing = True``), never another exception: a traceback means a bug.
"""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agents import ResearchRun, RunContext
from automl_backend import (
    BackendError,
    Dataset,
    ExperimentSpec,
    family_names,
    load_dataset,
    parse_spec,
)
from cosci._review_page import render_review_page
from cosci._review_web import check_form_decisions, decisions_from_form

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---------------------------------------------------------------- strategies

SPEC_KEYS = [
    "name", "task", "metric", "models", "preprocessing", "search", "budget", "cv",
    "ensemble", "features", "warm_start", "seed", "kind", "nas",
    "family", "params", "type", "low", "high", "log", "choices", "step",
    "time_s", "n_trials", "n_jobs", "threads_per_trial", "trial_memory_mb",
    "folds", "strategy", "holdout_fraction", "size", "sampler", "pruner", "objectives",
]  # fmt: skip
"""Names a spec uses, so that generated mappings get past the first level often."""

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["auto", "binary", "hpo", "nas", "accuracy", "float", "int", "categorical"])
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SPEC_KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def model_spaces(draw: st.DrawFn) -> dict[str, Any]:
    """A models entry: a real or made-up family with numeric/categorical parameter spaces."""
    family = draw(st.sampled_from([*family_names(), "no_such_family", ""]))
    params = draw(
        st.dictionaries(
            st.sampled_from(["C", "n_neighbors", "max_depth", "alpha", "learning_rate", "x"]),
            st.fixed_dictionaries(
                {"type": st.sampled_from(["float", "int", "categorical", "bogus"])},
                optional={
                    "low": scalars,
                    "high": scalars,
                    "log": scalars,
                    "step": scalars,
                    "choices": st.lists(scalars, max_size=4),
                },
            )
            | scalars,
            max_size=3,
        )
    )
    return {"family": family, "params": params}


spec_dicts = st.dictionaries(
    st.sampled_from(SPEC_KEYS) | st.text(max_size=8), json_like, max_size=6
) | st.fixed_dictionaries(
    {"models": st.lists(model_spaces(), max_size=3)},
    optional={
        "task": scalars,
        "metric": scalars,
        "budget": st.dictionaries(st.sampled_from(SPEC_KEYS), scalars, max_size=4),
        "cv": st.dictionaries(st.sampled_from(SPEC_KEYS), scalars, max_size=4),
        "seed": scalars,
        "kind": scalars,
    },
)


def _is_user_facing(exc: BaseException) -> bool:
    return bool(getattr(exc, "user_facing", False)) and bool(str(exc).strip())


# ---------------------------------------------------------------- specs


@FUZZ
@given(data=spec_dicts)
def test_parse_spec_gives_a_spec_or_a_one_line_spec_error(data: dict[str, Any]) -> None:
    try:
        spec = parse_spec(data)
    except BackendError as exc:
        event("refused")
        assert _is_user_facing(exc)
        assert "\n" not in str(exc), str(exc)
    else:
        event("a spec")
        assert isinstance(spec, ExperimentSpec)


spec_files = st.tuples(
    st.sampled_from([".yaml", ".yml", ".json", ".txt"]),
    st.binary(max_size=300)
    | spec_dicts.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode("utf-8"))
    | spec_dicts.map(lambda d: json.dumps(d).encode("utf-8"))
    | st.text(alphabet=" -:[]{}&*!|>'\"#%@`\n\tab1", max_size=80).map(str.encode),
)


@FUZZ
@given(file=spec_files)
def test_spec_files_of_any_bytes_give_a_spec_or_a_spec_error(
    file: tuple[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    suffix, content = file
    path = tmp_path_factory.mktemp("spec") / f"spec{suffix}"
    path.write_bytes(content)
    try:
        spec = ExperimentSpec.from_file(path)
    except BackendError as exc:
        event("refused")
        assert _is_user_facing(exc)
    else:
        event("a spec")
        assert isinstance(spec, ExperimentSpec)


# ---------------------------------------------------------------- CSV files

cells = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "NA", "None", "a", "b", "1e999", '"']),
    st.text(alphabet=string.printable, max_size=6),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> tuple[str, str | None]:
    """Small CSV text (rectangular or ragged) and a target: a header name, junk or None."""
    shape = draw(st.sampled_from(["text", "table", "nearly valid"]))
    if shape == "text":
        return draw(st.text(max_size=200)), draw(st.none() | st.text(max_size=5))
    if shape == "nearly valid":
        # Numeric columns and a two-class target, a few cells spoiled: most load.
        n_rows = draw(st.integers(min_value=8, max_value=40))
        names = ["a", "b", "c", "y"]
        good = st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: f"{x:.3g}")
        rows = [
            [*(draw(good | cells if draw(st.integers(0, 9)) == 0 else good) for _ in names[:-1]),
             draw(st.sampled_from(["0", "1"]) | cells if draw(st.integers(0, 19)) == 0
                  else st.sampled_from(["0", "1"]))]
            for _ in range(n_rows)
        ]  # fmt: skip
        text = "\n".join(",".join(row) for row in [names, *rows])
        return text, draw(st.just("y") | st.sampled_from(names) | st.none())
    n_columns = draw(st.integers(min_value=1, max_value=5))
    header = draw(
        st.lists(
            st.text(alphabet=string.ascii_letters + '_ ,"', max_size=5),
            min_size=n_columns,
            max_size=n_columns,
        )
    )
    rows = draw(
        st.lists(st.lists(cells, min_size=0, max_size=n_columns + 1), min_size=0, max_size=40)
    )
    text = "\n".join(",".join(row) for row in [header, *rows])
    target = draw(st.none() | st.sampled_from(header) | st.text(max_size=4))
    return text, target


@FUZZ
@given(case=csv_texts(), suffix=st.sampled_from([".csv", ".tsv"]))
def test_csv_files_of_any_text_give_a_dataset_or_a_data_error(
    case: tuple[str, str | None], suffix: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text, target = case
    path = tmp_path_factory.mktemp("csv") / f"data{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        dataset = load_dataset(path, target=target)
    except BackendError as exc:
        event("refused")
        assert _is_user_facing(exc)
    else:
        event("a dataset")
        assert isinstance(dataset, Dataset)


# ---------------------------------------------------------------- the review page's form


@pytest.fixture(scope="module")
def paused(
    tmp_path_factory: pytest.TempPathFactory, fakes: ModuleType, tiny_context: RunContext
) -> ResearchRun:
    """A run paused for review of two proposals (scripted fake LLM, no compute)."""
    context = tiny_context.model_copy(update={"experiment_time_s": 30})
    run_dir = tmp_path_factory.mktemp("review") / "run"
    run = fakes.start_run(run_dir, fakes.ScriptedFakeLLM(["knn", "extra_trees"]), context)
    assert run.pending_review() is not None
    return run


@st.composite
def review_forms(draw: st.DrawFn, hypothesis_ids: list[str], spec_texts: list[str]) -> dict:
    """Posted fields: the page's own names (for real and made-up ids) with wild values."""
    ids = [*hypothesis_ids, "H99", "", "H1 "]
    names = [
        *(f"{field}-{hid}" for hid in ids
          for field in ("action", "reason", "statement", "families", "spec", "note")),
        *(f"add-{field}-{slot}" for slot in (1, 2, 3, 4)
          for field in ("statement", "families", "gain", "rationale")),
    ]  # fmt: skip
    values = st.one_of(
        st.text(max_size=40),
        st.sampled_from(["approve", "reject", "edit", "", " ", "knn", "knn, svm", "nope,,"]),
        st.sampled_from(["nan", "inf", "-inf", "1e309", "-5", "1000", "0"]),
        st.sampled_from(spec_texts),
        json_like.map(json.dumps),
        spec_dicts.map(json.dumps),
    )
    return draw(st.dictionaries(st.sampled_from(names) | st.text(max_size=10), values, max_size=12))


def test_review_form_of_any_fields_gives_decisions_or_a_one_line_error(
    paused: ResearchRun, tmp_path: Path
) -> None:
    run = ResearchRun.open(shutil.copytree(paused.dir, tmp_path / "run"))
    state = run.state()
    request = run.pending_review()
    assert request is not None
    waiting = request.hypothesis_ids
    shown = [state["hypotheses"][h].experiment.model_dump_json() for h in waiting]

    @FUZZ
    @given(form=review_forms(waiting, shown))
    def check(form: dict[str, str]) -> None:
        try:
            decisions = decisions_from_form(form, state["hypotheses"], waiting)
            check_form_decisions(decisions, state, waiting)
            event("decisions")
        except Exception as exc:
            event("refused")
            assert _is_user_facing(exc), f"{type(exc).__name__}: {exc}"
            # The page comes back with the error and what was typed.
            assert "<form" in render_review_page(
                state, request, action="/", form=form, error=str(exc)
            )

    check()
