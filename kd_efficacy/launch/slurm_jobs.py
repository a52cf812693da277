"""A study on Slurm through submitit: one job array per wave, each chained to the wave before.

Every run of a wave depends only on earlier waves (``sweep.waves``), so wave k is one job array
submitted with ``--dependency=afterany`` on the arrays of wave k-1, and the assembling job
after the last: the whole study is queued at once and the submitter may log out. ``afterany``,
not ``afterok``: a student of a failed teacher still starts, finds it failed and records itself
blocked, as a one-process study does, and the report is still written. submitit's local
executor (``cluster='local'``, the tests) has no dependencies: there each wave is waited for
before the next is started. Needs ``pip install -e '.[slurm]'``.
"""

import os

from kd_efficacy.errors import ConfigError
from kd_efficacy.launch import commands


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ConfigError(
            "--launcher=slurm needs submitit; pip install -e '.[slurm]' (or pip install submitit)"
        ) from None
    return submitit


def launch(
    gin_files,
    gin_bindings,
    model_dir=None,
    *,
    folder=None,
    cluster=None,
    gpus_per_run=1,
    cpus_per_run=4,
    timeout_min=24 * 60,
    slurm_parameters=None,
    wait=True,
):
    """Submits the study; returns the assembling job's exit status (``wait``) or the job.

    ``folder``: submitit's logs and pickles, by default ``<study>/slurm``; ``cluster``: None
    lets submitit choose (Slurm when ``sbatch`` exists, else local), or 'slurm' / 'local'.
    ``slurm_parameters``: more submitit parameters, e.g. ``{'slurm_partition': 'gpu'}``.
    """
    submitit = _submitit()
    study_dir, runs, final = commands.planned(gin_files, gin_bindings, model_dir)
    executor = submitit.AutoExecutor(
        folder=folder or os.path.join(study_dir, "slurm"), cluster=cluster
    )
    executor.update_parameters(
        name="kd_efficacy",
        timeout_min=timeout_min,
        gpus_per_node=gpus_per_run,
        cpus_per_task=cpus_per_run,
        **(slurm_parameters or {}),
    )
    chained = executor.cluster == "slurm"
    cwd, env = commands.job_setup()
    previous = []
    waves = sorted({r.wave for r in runs})
    for wave in waves:
        argvs = [r.argv for r in runs if r.wave == wave]
        _after(executor, previous, chained)
        jobs = executor.map_array(
            commands.run_command, argvs, [cwd] * len(argvs), [env] * len(argvs)
        )
        print(f"[kd_efficacy] wave {wave}: {len(jobs)} runs submitted ({_ids(jobs)})")
        if not chained:
            _report([job.result() for job in jobs], [r.name for r in runs if r.wave == wave])
        previous = jobs
    _after(executor, previous, chained)
    assemble = executor.submit(commands.run_command, final, cwd, env)
    print(f"[kd_efficacy] study {study_dir}: assembling job {assemble.job_id}")
    return assemble.result() if wait else assemble


def _after(executor, jobs, chained):
    """Makes the next submission start after ``jobs`` end, whatever their status (Slurm)."""
    if chained and jobs:
        arrays = sorted({str(job.job_id).split("_")[0] for job in jobs})
        executor.update_parameters(
            slurm_additional_parameters={"dependency": "afterany:" + ":".join(arrays)}
        )


def _ids(jobs):
    return ", ".join(str(job.job_id) for job in jobs[:3]) + (" ..." if len(jobs) > 3 else "")


def _report(codes, names):
    for name, code in zip(names, codes):
        if code:
            print(f"[kd_efficacy] run {name} exited with status {code}")
