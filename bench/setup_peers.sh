#!/usr/bin/env bash
# The peers of bench/automl.py in their own environment, .venv-peers: AutoGluon
# (autogluon.tabular 1.6 with its LightGBM, CatBoost and XGBoost extras) pins numpy,
# pandas, scikit-learn and lightgbm versions of its own, and FLAML's `automl` extra
# pulls a CUDA build of XGBoost, so neither goes into cosci's .venv. FLAML is installed
# without extras: it finds LightGBM and XGBoost (xgboost-cpu) from AutoGluon's.
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv-peers
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet torch==2.13.0
"$VENV/bin/python" -m pip install --quiet 'autogluon.tabular[lightgbm,catboost,xgboost]==1.6.*'
"$VENV/bin/python" -m pip install --quiet flaml==2.8.0
"$VENV/bin/python" -c "import autogluon.tabular, flaml, sys; print('autogluon.tabular', autogluon.tabular.__version__, 'flaml', flaml.__version__, 'in', sys.prefix)"
