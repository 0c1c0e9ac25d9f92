"""Hyperparameter optimisation, private to automl_backend (reached through ``run_spec``).

- ``run``: one HPO experiment, from spec and data to result, model and run directory;
- ``study``: the Optuna study with the sampler and pruner the spec names;
- ``suggest``: the resolved search space, and configurations to and from Optuna;
- ``search``: the ask/tell loop within the time and trial budgets;
- ``executor``: the ``TrialExecutor`` seam and the default ``ForkExecutor``;
- ``worker``: the forked child processes that fit trials and refits;
- ``storage``, ``shared``, ``exchange``, ``study_worker``: a study shared on a database
  server: the heartbeat storage and artifact stores, the search loop every process of
  the study runs, the files they exchange, and the loop of ``cosci worker``;
- ``finalize``: ensemble members, the refit reserve, the refit of the final model;
- ``ensemble``: greedy (bagged) ensemble selection;
- ``oof``: the final model's out-of-fold predictions, kept for combining runs.
"""
