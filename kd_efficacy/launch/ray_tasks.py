"""A study on Ray: one task per run with its GPU request, each run after its teachers' tasks.

Works wherever ``ray.init`` does: a laptop (a local instance), a multi-GPU host (one run per
GPU: Ray sets each task's CUDA_VISIBLE_DEVICES), a Ray cluster or Ray started inside a Slurm
allocation (``address='auto'``). A task depends on its teachers' tasks, not on whole waves,
so a student starts as soon as its own teacher is done. The last task runs the study's own
command, which assembles the report. Needs ``pip install -e '.[ray]'``.
"""

from kd_efficacy.errors import ConfigError
from kd_efficacy.launch import commands


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--launcher=ray needs Ray; pip install -e '.[ray]' (or pip install ray)"
        ) from None
    return ray


def launch(
    gin_files,
    gin_bindings,
    model_dir=None,
    *,
    address=None,
    gpus_per_run=None,
    cpus_per_run=1,
    init_kwargs=None,
):
    """Runs the study's runs as Ray tasks; returns the exit status of its assembling command.

    ``gpus_per_run`` None: 1 when the Ray instance has GPUs, else 0 (a CPU laptop).
    ``address`` None starts a local instance unless one is running or RAY_ADDRESS is set.
    """
    ray = _ray()
    study_dir, runs, final = commands.planned(gin_files, gin_bindings, model_dir)
    if not ray.is_initialized():
        ray.init(address=address, **(init_kwargs or {}))
    if gpus_per_run is None:
        gpus_per_run = 1 if ray.cluster_resources().get("GPU", 0) else 0
    cwd, env = commands.job_setup()
    task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=0)(
        commands.run_command
    )
    refs = {}
    for run in runs:  # plan order: a run's teachers have their tasks already
        after = [refs[t] for t in run.teachers]
        refs[run.name] = task.options(name=run.name).remote(run.argv, cwd, env, *after)
    codes = dict(zip(refs, ray.get(list(refs.values()))))
    for name, code in codes.items():
        if code:
            print(f"[kd_efficacy] run {name} exited with status {code}")
    assemble = task.options(name="assemble").remote(final, cwd, env, *refs.values())
    code = ray.get(assemble)
    print(f"[kd_efficacy] study {study_dir}: {len(runs)} runs on Ray, assembled (status {code})")
    return code
