"""Launchers: a study's runs spread over GPUs and machines by an existing engine.

``python -m kd_efficacy.launch --launcher=ray|slurm --gin_file=...`` plans the study
(``sweep.plan``), starts one job per run, each the per-run command ``tools/sweep.py`` prints
(``experiment.only_run``), with teachers before their students, then the study's own command,
which trains nothing complete and writes the report. The study directory is the only shared
state: runs are idempotent and leased (run_lock.py), so a re-submitted study resumes.

- ``ray_tasks``: one Ray task per run with its GPU request (laptop, multi-GPU host, Ray cluster,
  Ray on Slurm); ``pip install -e '.[ray]'``.
- ``slurm_jobs``: submitit job arrays, one per wave, chained by Slurm dependencies (or run wave
  by wave by submitit's local executor); ``pip install -e '.[slurm]'``.
"""
