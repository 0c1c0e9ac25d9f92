"""Drive a co-scientist run in a separate process, with the scripted fake LLM (tests only).

    python run_helper.py RUN_DIR [--create DATA CONTEXT_JSON] [--decisions FILE]

Used by the tests that prove a run survives its process: resume from a new process,
and kill -9 followed by resume.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _fakes():
    spec = importlib.util.spec_from_file_location("fakes", Path(__file__).with_name("fakes.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--create", nargs=2, metavar=("DATA", "CONTEXT_JSON"))
    parser.add_argument("--families", default="logistic,knn,random_forest,extra_trees")
    parser.add_argument("--decisions", type=Path)
    args = parser.parse_args()

    from agents import ResearchRun, ReviewDecisions, RunConfig, RunContext

    fakes = _fakes()
    llm = fakes.ScriptedFakeLLM(args.families.split(","))
    if args.create:
        data, context = args.create
        config = RunConfig(
            goal="Which model family predicts the target best?",
            data=data,
            context=RunContext.model_validate(json.loads(context)),
            use_memory=False,
        )
        run = ResearchRun.create(args.run_dir, config)
    else:
        run = ResearchRun.open(args.run_dir)
    if args.decisions:
        run.save_decisions(ReviewDecisions.model_validate_json(args.decisions.read_text()))
    for event in run.advance(llm, run.toolbox(None, embed=fakes.hash_embed)):
        print(event.kind, event.hypothesis_id or "", event.message, flush=True)
    print("STATUS", run.status(), flush=True)


if __name__ == "__main__":
    main()
