"""The meta-learned portfolio: the shipped file, greedy selection, leave-one-out
rebuilding, the zero-shot chooser and how the HPO run queues it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression

from automl_backend import (
    BackendError,
    TrialConfig,
    default_config,
    family_info,
    family_names,
    load_dataset,
    parse_spec,
)
from automl_backend._hpo.run import _space, _warm_start, portfolio_configs, run_hpo
from automl_backend._portfolio import (
    Portfolio,
    PortfolioCandidate,
    choose_configs,
    greedy_order,
    load_portfolio,
    nearest_datasets,
    normalise_errors,
)
from automl_backend._profile import profile_dataset
from automl_backend._spec import accepts

HELD_OUT = {"chess", "contraceptive", "crx", "letter", "magic", "optdigits", "penbased",
            "pima", "splice", "vehicle"}  # fmt: skip


@pytest.fixture(scope="module")
def shipped() -> Portfolio:
    return load_portfolio()


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(y=y)
    return load_dataset(frame, "y")


def _config(family: str, **params: Any) -> TrialConfig:
    return TrialConfig(family=family, params={**default_config(family, "binary"), **params})


def _toy(scores: list[list[float | None]], sources: list[str]) -> Portfolio:
    """A small portfolio: candidate i is knn with n_neighbors i + 1."""
    names = [f"set{j}" for j in range(len(scores[0]))]
    return Portfolio(
        candidates=[
            PortfolioCandidate(config=_config("knn", n_neighbors=i + 1), source=s)
            for i, s in enumerate(sources)
        ],
        datasets=names,
        meta_vectors={n: [float(j), 0.0] for j, n in enumerate(names)},
        scores=scores,
        order=[],
    )


# ---------------------------------------------------------------- the shipped file


def test_shipped_portfolio_loads_and_every_config_is_valid(shipped: Portfolio) -> None:
    assert 16 <= len(shipped.order) <= 32
    for candidate in shipped.candidates:
        config = candidate.config
        assert config.family in family_names("binary")
        limits = family_info(config.family).hyperparameters
        for name, value in config.params.items():
            assert name in limits and accepts(limits[name], value), (config.family, name, value)
        # Re-validating the dumped config through the spec's own model succeeds.
        TrialConfig.model_validate(config.model_dump(mode="json"))


def test_shipped_portfolio_never_saw_a_held_out_set(shipped: Portfolio) -> None:
    assert not HELD_OUT & set(shipped.datasets)
    assert not HELD_OUT & {c.source for c in shipped.candidates}
    assert shipped.provenance["datasets"] == shipped.datasets
    for key in ("date", "command", "git_commit", "row_cap", "folds", "seed", "versions"):
        assert key in shipped.provenance


def test_shipped_order_is_the_greedy_order_of_its_matrix(shipped: Portfolio) -> None:
    assert shipped.order == greedy_order(shipped.normalised_errors(), len(shipped.order))


def test_a_bad_portfolio_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps({"candidates": [], "datasets": ["a"]}), encoding="utf-8")
    with pytest.raises(BackendError, match="invalid at candidates") as info:
        load_portfolio(path)
    assert "\n" not in str(info.value)
    with pytest.raises(BackendError, match="missing; rebuild"):
        load_portfolio(tmp_path / "absent.json")


# ---------------------------------------------------------------- greedy maths


def test_normalised_errors_scale_each_set_and_fail_as_worst() -> None:
    errors = normalise_errors([[0.9, 0.5], [0.8, None], [0.7, 0.5]])
    assert errors == [[0.0, 0.0], [pytest.approx(0.5), 1.0], [1.0, 0.0]]


def test_greedy_picks_the_best_then_the_complement() -> None:
    # 0 is best on average, 2 covers where 0 is weak, 1 adds nothing.
    errors = [[0.0, 0.0, 1.0], [0.5, 0.5, 0.5], [1.0, 1.0, 0.0], [0.2, 0.2, 0.9]]
    assert greedy_order(errors, 2) == [0, 2]
    # On set 2 alone, 2 is perfect; the rest follow by their error there.
    assert greedy_order(errors, 4, columns=[2]) == [2, 1, 3, 0]
    assert greedy_order(errors, 4, allowed=[1, 3]) == [3, 1]


def test_without_drops_the_sets_candidates_and_ignores_its_column() -> None:
    scores: list[list[float | None]] = [
        [0.90, 0.80, 0.70],
        [0.85, 0.85, 0.60],
        [0.70, 0.70, 0.99],
        [0.80, 0.60, 0.95],
    ]
    full = _toy(scores, ["default", "set0", "set2", "set1"])
    full = full.with_order(greedy_order(full.normalised_errors(), 3))
    rest = full.without("set2")
    assert "set2" not in rest.datasets and "set2" not in rest.meta_vectors
    assert all(c.source != "set2" for c in rest.candidates)
    assert all(len(row) == 2 for row in rest.scores)
    # Whatever set2's column says, the portfolio built without it is the same.
    changed = [[*row[:2], 1.0 - (row[2] or 0.0)] for row in scores]
    again = _toy(changed, ["default", "set0", "set2", "set1"])
    again = again.with_order(greedy_order(again.normalised_errors(), 3)).without("set2")
    assert again.configs() == rest.configs()
    with pytest.raises(BackendError, match="not in the portfolio"):
        full.without("chess")


def test_without_on_the_shipped_file(shipped: Portfolio) -> None:
    name = shipped.datasets[0]
    rest = shipped.without(name)
    assert len(rest.order) == len(shipped.order)
    assert all(rest.candidates[i].source != name for i in rest.order)


# ---------------------------------------------------------------- the chooser


def test_chooser_orders_by_the_nearest_sets() -> None:
    scores: list[list[float | None]] = [[0.9, 0.5], [0.5, 0.9]]
    toy = _toy(scores, ["default", "default"]).with_order([0, 1])
    assert nearest_datasets(toy, [0.9, 0.0], k=1) == ["set1"]
    assert choose_configs(toy, [0.9, 0.0], k=1)[0] == toy.candidates[1].config
    assert choose_configs(toy, [0.1, 0.0], k=1)[0] == toy.candidates[0].config
    with pytest.raises(ValueError, match="rebuild the portfolio"):
        choose_configs(toy, [0.0, 0.0, 0.0])


def test_chooser_is_deterministic_within_and_across_processes(shipped: Portfolio, data) -> None:
    vector = profile_dataset(data).meta_vector()
    first = [c.model_dump(mode="json") for c in choose_configs(shipped, vector)]
    assert first == [c.model_dump(mode="json") for c in choose_configs(shipped, vector)]
    assert sorted(json.dumps(c, sort_keys=True) for c in first) == sorted(
        json.dumps(c.model_dump(mode="json"), sort_keys=True) for c in shipped.configs()
    )
    code = (
        "import json,sys;from automl_backend._portfolio import choose_configs, load_portfolio;"
        "v=json.loads(sys.argv[1]);"
        "print(json.dumps([c.model_dump(mode='json') for c in choose_configs(load_portfolio(), v)]))"
    )
    done = subprocess.run([sys.executable, "-c", code, json.dumps(vector)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(done.stdout) == first


# ---------------------------------------------------------------- in the HPO run


def _spec(**fields: Any):
    base: dict[str, Any] = {
        "models": [{"family": "knn"}, {"family": "logistic"}, {"family": "extra_trees"}],
        "budget": {"time_s": None, "n_trials": 6},
        "cv": {"folds": 2},
        "ensemble": {"enabled": False},
    }
    return parse_spec({**base, **fields})


def test_warm_start_order_spec_then_ledger_then_portfolio_with_defaults(data) -> None:
    spec = _spec()
    space = _space(spec, data)
    portfolio = [_config("knn", n_neighbors=7), _config("knn", n_neighbors=11)]
    ledger = [_config("logistic", C=3.0)]
    queued = _warm_start(spec, ledger, space, "binary", portfolio)
    knn_default = TrialConfig(family="knn", params=default_config("knn", "binary"))
    # knn's default follows its first portfolio entry; the others' come at the end.
    assert queued[:4] == [ledger[0], portfolio[0], knn_default, portfolio[1]]
    assert [c.family for c in queued[4:]] == ["extra_trees", "logistic"]
    assert all(c.params == default_config(c.family, "binary") for c in queued[4:])
    off = _spec(search={"enqueue_defaults": False})
    assert _warm_start(off, ledger, space, "binary", portfolio) == [ledger[0], *portfolio]


def test_run_queues_the_portfolio_after_the_warm_starts(data) -> None:
    own = _config("logistic", C=0.5)
    ledger = _config("knn", n_neighbors=3)
    spec = _spec(warm_start=[own.model_dump(mode="json")])
    space = _space(spec, data)
    expected = portfolio_configs(spec, data, space)
    assert expected and {c.family for c in expected} <= {"knn", "logistic", "extra_trees"}
    queue: list[TrialConfig] = []
    for config in _warm_start(spec, [ledger], space, "binary", expected):
        if config not in queue:
            queue.append(config)
    run = run_hpo(spec, data, warm_start=[ledger])
    first = [r.config for r in sorted(run.records, key=lambda r: r.number)]
    assert first[0].family == "logistic" and first[0].params["C"] == 0.5
    assert first[1].family == "knn" and first[1].params["n_neighbors"] == 3
    assert queue[2] == expected[0]
    for got, want in zip(first[2:], queue[2:], strict=False):
        assert got.family == want.family
        assert {k: got.params[k] for k in want.params if k in got.params} == {
            k: v for k, v in want.params.items() if k in got.params
        }
    assert any(n.startswith(f"portfolio: {len(expected)} configurations") for n in run.result.notes)


def test_the_switch_turns_it_off(data) -> None:
    spec = _spec(search={"portfolio": False}, budget={"time_s": None, "n_trials": 3})
    assert portfolio_configs(spec, data, _space(spec, data)) == []
    run = run_hpo(spec, data)
    assert not any(n.startswith("portfolio:") for n in run.result.notes)
    # Without a portfolio the defaults come first, in the usual order.
    first = [r.config for r in sorted(run.records, key=lambda r: r.number)]
    assert [c.family for c in first] == ["extra_trees", "logistic", "knn"]
    default = default_config("extra_trees", "binary")
    assert first[0].params == {k: default[k] for k in first[0].params}


def test_regression_gets_no_portfolio() -> None:
    X, y = make_regression(n_samples=60, n_features=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    dataset = load_dataset(frame, "y")
    spec = parse_spec({"models": [{"family": "ridge"}], "budget": {"n_trials": 1}})
    assert portfolio_configs(spec, dataset, _space(spec, dataset)) == []
