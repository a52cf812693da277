"""Launchers: a tiny study through a local Ray instance and through submitit's local executor.

Each run is its own ``python -m kd_efficacy.run`` subprocess (the per-run command of
tools/sweep.py), so these check what a cluster would do: teachers before students, the report
assembled at the end, and a re-submitted study that trains nothing again.
"""

import os

import pytest
from kd_testing import (
    CAPACITY_GAP_GIN,
    KD_ONLY,
    REPO_ROOT,
    TINY_RUN,
    TINY_STUDY,
    assert_study_contract,
)

from kd_efficacy import atomic_io

BINDINGS = [*TINY_RUN, *TINY_STUDY, KD_ONLY]  # teacher, scratch, kd (after the teacher)
RUNS = ["kd/resnet8/resnet8_s0", "scratch/resnet8_s0", "teacher/resnet8_s0"]


@pytest.fixture
def launch_env(monkeypatch):
    """Jobs run where a user would start them: the checkout, this checkout's code, quiet TF."""
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("TF_CONFIG", "SLURM_JOB_ID", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)


def _trained(study):
    log = atomic_io.read_json_lines(os.path.join(study, "study_log.jsonl"))
    return sorted(e["run"] for e in log if e["action"] == "trained")


def test_ray_runs_a_tiny_study_on_a_local_instance(tmp_path, launch_env):
    import ray

    from kd_efficacy.launch import ray_tasks

    study = str(tmp_path / "study")
    ray.init(num_cpus=2, include_dashboard=False)  # teacher and scratch at once, then kd
    try:
        assert ray_tasks.launch([CAPACITY_GAP_GIN], BINDINGS, study) == 0
    finally:
        ray.shutdown()
    assert_study_contract(study)
    assert _trained(study) == RUNS


@pytest.mark.slow
def test_submitit_local_runs_a_tiny_study_and_a_resubmission_trains_nothing(tmp_path, launch_env):
    from kd_efficacy.launch import slurm_jobs

    study = str(tmp_path / "study")
    options = {"cluster": "local", "gpus_per_run": 0, "cpus_per_run": 1, "timeout_min": 30}
    assert slurm_jobs.launch([CAPACITY_GAP_GIN], BINDINGS, study, **options) == 0
    assert_study_contract(study)
    assert _trained(study) == RUNS
    assert slurm_jobs.launch([CAPACITY_GAP_GIN], BINDINGS, study, **options) == 0
    assert _trained(study) == RUNS  # the second submission found every run complete


class _Job:
    def __init__(self, job_id):
        self.job_id = job_id


class _RecordingExecutor:
    def __init__(self):
        self.parameters = {}

    def update_parameters(self, **kwargs):
        self.parameters.update(kwargs)


def test_slurm_waves_wait_for_the_whole_previous_array_whatever_its_status():
    from kd_efficacy.launch import slurm_jobs

    executor = _RecordingExecutor()
    slurm_jobs._after(executor, [_Job("41_0"), _Job("41_1"), _Job("40")], chained=True)
    assert executor.parameters == {"slurm_additional_parameters": {"dependency": "afterany:40:41"}}
    local = _RecordingExecutor()
    slurm_jobs._after(local, [_Job("7")], chained=False)  # the local executor waits instead
    assert local.parameters == {}
