"""LightGBM's thread cap in the parent process, so forked trials do not hang; and
OpenMP's wait policy, which the backend leaves to libgomp or the user."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap

import lightgbm  # noqa: F401  (the cap needs LightGBM's library loaded)

from automl_backend._openmp import max_threads, single_threaded_lightgbm


def _child_cap(conn: object) -> None:
    conn.send(max_threads())  # type: ignore[attr-defined]


def test_the_cap_holds_inside_nested_blocks_and_is_lifted_after_and_in_children() -> None:
    before = max_threads()
    with single_threaded_lightgbm():
        assert max_threads() == 1
        with single_threaded_lightgbm():
            assert max_threads() == 1
        assert max_threads() == 1  # the outer block still holds it
        receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
        child = multiprocessing.get_context("fork").Process(target=_child_cap, args=(send,))
        child.start()
        assert receive.poll(30) and receive.recv() == -1  # a forked child may use its threads
        child.join()
    assert max_threads() == before


SCRIPT = textwrap.dedent(
    """
    import json
    import pandas as pd
    from sklearn.datasets import make_classification
    from automl_backend import load_dataset, parse_spec
    from automl_backend._hpo.run import run_hpo

    X, y = make_classification(3000, 8, random_state=0)
    data = load_dataset(pd.DataFrame(X).rename(columns=str).assign(y=y), "y")
    spec = parse_spec({
        "models": [{"family": "lightgbm"}], "cv": {"folds": 2},
        "budget": {"time_s": None, "n_trials": 2, "trial_timeout_s": 30, "threads_per_trial": 2},
        "search": {"portfolio": False},
    })
    states = []
    for _ in range(2):  # the first run's refits, loads and test score happen in this process
        run = run_hpo(spec, data, test=data)
        states.append([[r.state, r.reason] for r in run.records])
    print(json.dumps(states))
    """
)


def test_a_second_run_in_the_same_process_still_completes_its_lightgbm_trials() -> None:
    # A fresh interpreter: the test process may already have run LightGBM on threads.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert first == [["complete", None]] * 2
    assert second == [["complete", None]] * 2  # hung to their 30 s limit before the cap


def test_the_backend_leaves_openmp_wait_policy_to_libgomp_or_the_user() -> None:
    # A forced OMP_WAIT_POLICY=PASSIVE made LightGBM on 2 threads 7-13x slower on a quiet
    # machine; importing the trial machinery must not set it, and must keep a user's value.
    code = (
        "import os, automl_backend._hpo.worker, automl_backend._hpo.run; "
        "print(os.environ.get('OMP_WAIT_POLICY'))"
    )
    for given, expected in ((None, "None"), ("ACTIVE", "ACTIVE")):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if given is not None:
            env["OMP_WAIT_POLICY"] = given
        shown = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert shown.stdout.strip() == expected
