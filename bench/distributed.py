"""Benchmark: one study on PostgreSQL with 0, 1 and 3 `cosci worker`s beside the driver.

The same 120 s study (KEEL satimage, its fixed first fold: 5148 training rows, 36
features, 6 classes; default families, one thread per trial, one trial at a time per
process) runs four times:

- ``memory``: the driver alone with Optuna's in-process storage (the default path);
- ``postgres``: the driver alone on PostgreSQL;
- ``postgres+1``, ``postgres+3``: the driver with 1 and 3 `cosci worker` processes.

For each: finished trials (complete + pruned) per second of the run, the final CV score
(best trial and ensemble), the test accuracy of the shipped model, and how many trials
each process ran. Then PostgreSQL's per-trial overhead: 40 trials of a model that fits
in milliseconds, in-process storage vs PostgreSQL, so the difference is the storage.

A PostgreSQL cluster is initdb'ed in a temporary folder and run on a free loopback port
(as ``nobody`` when run as root). Workers here are processes on the same machine: the
cores, not the database, bound the speed-up; the JSON records the core count and the
load average before each case.

    OMP_NUM_THREADS=1 .venv/bin/python bench/distributed.py            # ~9 min
    .venv/bin/python bench/distributed.py --budget 30 --cases memory,postgres+1
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results" / "distributed.json"
CASES = ("memory", "postgres", "postgres+1", "postgres+3")
OVERHEAD_TRIALS = 40


class Postgres:
    """A throw-away PostgreSQL cluster on a loopback port."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            sys.exit("PostgreSQL's server binaries are missing: make postgres")
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="cosci-bench-pg-"))
        self.as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, user="nobody")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._run("initdb", "-D", str(self.folder / "data"), "-U", "cosci", "--auth=trust",
                  "--no-sync")  # fmt: skip
        # Durable commits, as a real server would have (fsync stays on).
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                  "-w", "start")  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / program), *args], check=True,
                       capture_output=True, timeout=120)  # fmt: skip

    def database(self) -> str:
        import psycopg

        name = f"bench_{uuid.uuid4().hex[:8]}"
        url = f"postgresql://cosci@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://cosci@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _study_counts(url: str, name: str) -> dict[str, Any]:
    import optuna

    from automl_backend._hpo.storage import sqlalchemy_url

    study = optuna.load_study(study_name=name, storage=sqlalchemy_url(url))
    states = Counter(t.state.name.lower() for t in study.trials)
    processes = Counter(
        t.user_attrs.get("process", "?") for t in study.trials if t.state.is_finished()
    )
    # Why trials failed, by the first words of the reason ("timed out after 40 s", ...).
    reasons = Counter(
        " ".join(str(t.user_attrs.get("fail_reason", "no reason")).split()[:4])
        for t in study.trials
        if t.state.name == "FAIL"
    )
    return {
        "states": dict(states),
        "trials_per_process": sorted(processes.values(), reverse=True),
        "fail_reasons": dict(reasons),
    }


def run_case(case: str, budget: float, db: Postgres | None, workdir: Path) -> dict[str, Any]:
    from automl_backend import ExperimentSpec, run_spec
    from automl_backend._loaders import keel_train_test

    train, test = keel_train_test("satimage", 0)
    n_workers = int(case.split("+")[1]) if "+" in case else 0
    name = f"bench-{case}-{uuid.uuid4().hex[:6]}"
    spec = ExperimentSpec.model_validate(
        {"name": name, "metric": "accuracy", "seed": 0,
         "budget": {"time_s": budget, "n_jobs": 1, "threads_per_trial": 1}}
    )  # fmt: skip
    url = db.database() if db is not None and case != "memory" else None
    load = os.getloadavg()[0]
    workers: list[subprocess.Popen[bytes]] = []
    if url is not None:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        for index in range(n_workers):
            log = (workdir / f"{case}-worker{index}.log").open("wb")
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "cosci.cli", "worker", "--storage", url, "--study", name,
                 "--wait", "60"], stdout=log, stderr=subprocess.STDOUT, env=env,
            ))  # fmt: skip
    started = time.monotonic()
    try:
        result = run_spec(spec, train, test=test, storage=url)
        wall = time.monotonic() - started
        for worker in workers:
            worker.wait(timeout=120)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    finished = result.n_trials - result.n_failed_trials
    row: dict[str, Any] = {
        "case": case, "workers": n_workers, "wall_s": round(wall, 1),
        "trials_finished": finished, "trials_failed": result.n_failed_trials,
        "trials_pruned": result.n_pruned_trials,
        "finished_per_s": round(finished / wall, 3),
        "best_cv_accuracy": result.best_score, "ensemble_cv_accuracy": result.ensemble_score,
        "test_accuracy": result.test_score, "load_avg_before": round(load, 2),
        "worker_exit_codes": [w.returncode for w in workers],
    }  # fmt: skip
    if url is not None:
        row.update(_study_counts(url, name))
    return row


def storage_overhead(db: Postgres) -> dict[str, Any]:
    """Seconds per trial that PostgreSQL adds over in-process storage (tiny, fast trials)."""
    import pandas as pd
    from sklearn.datasets import make_classification

    from automl_backend import ExperimentSpec, load_dataset, run_spec

    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    data = load_dataset(pd.DataFrame(X, columns=list("abcde")).assign(y=y), "y")
    timings: dict[str, float] = {}
    for label in ("memory", "postgres"):
        spec = ExperimentSpec.model_validate({
            "name": f"overhead-{uuid.uuid4().hex[:6]}", "models": [{"family": "logistic"}],
            "budget": {"time_s": None, "n_trials": OVERHEAD_TRIALS}, "cv": {"folds": 3},
            "search": {"enqueue_defaults": False, "sampler": "random"},
            "ensemble": {"enabled": False},
        })  # fmt: skip
        url = db.database() if label == "postgres" else None
        started = time.monotonic()
        result = run_spec(spec, data, storage=url)
        timings[label] = (time.monotonic() - started) / result.n_trials
    return {
        "trials": OVERHEAD_TRIALS,
        "s_per_trial_memory": round(timings["memory"], 4),
        "s_per_trial_postgres": round(timings["postgres"], 4),
        "postgres_overhead_ms_per_trial": round(
            1000 * (timings["postgres"] - timings["memory"]), 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        sys.exit(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    db = Postgres()
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            overhead = storage_overhead(db)
            print(json.dumps(overhead), flush=True)
            for case in cases:
                row = run_case(case, args.budget, db, Path(folder))
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        db.stop()
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB",
        "data": "KEEL satimage, fixed first fold (5148 train / 1287 test rows)",
        "budget_s": args.budget,
        "threads_per_trial": 1,
        "cases": rows,
        "storage_overhead": overhead,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
