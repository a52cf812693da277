"""One process per run directory (kd_efficacy/run_lock.py), with real concurrent processes.

Unit tests of the lease (refusal naming the holder, stale takeovers, heartbeat, N processes
racing to take over one stale lease), then the command line: two starts of one single run (one
trains, the other refuses naming it) and two processes on one study (they split its runs, each
trained once, and both end with the complete study and its report).
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from kd_testing import (
    CAPACITY_GAP_GIN,
    KD_ONLY,
    REPO_ROOT,
    TEACHER_GIN,
    TINY_RUN,
    TINY_STUDY,
    assert_run_contract,
    assert_study_contract,
    cli_command,
    cli_env,
    last_line,
)

from kd_efficacy import atomic_io, run_dir, run_lock
from kd_efficacy.errors import EXIT_LOCKED
from kd_efficacy.run_lock import Held

FAST = run_lock.Settings(lease_seconds=1.0, heartbeat_seconds=0.1)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _plant(directory, number=0, mtime=None, **fields):
    """A lease file as another process would have left it."""
    record = {**run_lock._record(), **fields}
    path = os.path.join(directory, f"{run_dir.LOCK_PREFIX}{number}")
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(record, f)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return record


def _leases(directory):
    return sorted(n for n in os.listdir(directory) if n.startswith(run_dir.LOCK_PREFIX))


def test_a_held_run_is_refused_naming_its_holder_and_free_again_after_release(tmp_path):
    lease = run_lock.try_acquire(str(tmp_path / "run"), FAST)
    with pytest.raises(run_lock.Held) as refused:
        run_lock.try_acquire(str(tmp_path / "run"), FAST)
    message = str(refused.value)
    assert f"pid {os.getpid()} on {run_lock.HOST} since " in message
    assert "run_lock.wait = True" in message and "\n" not in message
    lease.release()
    assert run_lock.holder(str(tmp_path / "run")) is None
    again = run_lock.try_acquire(str(tmp_path / "run"), FAST)
    assert _leases(tmp_path / "run") == ["run.lock.1"]  # the released one cleaned up
    again.release()


def test_stale_leases_are_taken_over(tmp_path):
    dead = tmp_path / "dead"
    _plant(dead, pid=_dead_pid())
    run_lock.try_acquire(str(dead), FAST).release()
    reused = tmp_path / "reused"  # our pid, but another process's start time: pid reused
    _plant(reused, pid=os.getpid(), pid_start=1)
    run_lock.try_acquire(str(reused), FAST).release()
    rebooted = tmp_path / "rebooted"
    _plant(rebooted, boot_id="another-boot", mtime=time.time() - 10)
    run_lock.try_acquire(str(rebooted), FAST).release()
    expired = tmp_path / "expired"  # another host: only the heartbeat's age tells
    _plant(expired, host="elsewhere", pid=1, mtime=time.time() - 10)
    run_lock.try_acquire(str(expired), FAST).release()
    alive = tmp_path / "alive"
    _plant(alive, host="elsewhere", pid=1)
    with pytest.raises(run_lock.Held, match="pid 1 on elsewhere"):
        run_lock.try_acquire(str(alive), FAST)


def test_the_heartbeat_keeps_a_lease_fresh_and_wait_mode_waits(tmp_path):
    directory = str(tmp_path / "run")
    lease = run_lock.try_acquire(directory, FAST)
    path = lease.path
    os.utime(path, (time.time() - 10, time.time() - 10))
    time.sleep(0.5)
    assert time.time() - os.stat(path).st_mtime < 1.0
    threading.Timer(0.5, lease.release).start()
    started = time.time()
    with run_lock.holding(directory, FAST, wait=True) as second:
        assert second.number == 1 and time.time() - started >= 0.4


RACER = """
import sys, time
from kd_efficacy import run_lock
directory, start = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
try:
    lease = run_lock.try_acquire(directory)
except run_lock.Held:
    print("held")
else:
    print("won", lease.number)
    time.sleep(1.0)  # keeps it while the others judge it
"""


@pytest.mark.parametrize("stale", ["dead_pid", "expired", "none"])
def test_racing_processes_take_a_lease_exactly_once(tmp_path, stale):
    directory = tmp_path / "run"
    if stale == "dead_pid":
        _plant(directory, number=3, pid=_dead_pid())
    elif stale == "expired":
        _plant(directory, number=3, host="elsewhere", mtime=time.time() - 600)
    start = time.time() + 1.5  # after every racer's start-up
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(directory), str(start)],
            cwd=REPO_ROOT,
            env=cli_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=60)[0].split() for p in racers]
    winners = [o for o in outputs if o[0] == "won"]
    assert len(winners) == 1, outputs
    assert all(o == ["held"] for o in outputs if o[0] != "won")
    assert _leases(directory) == [f"run.lock.{winners[0][1]}"]


def _start_together(commands):
    procs = [
        subprocess.Popen(
            c, cwd=REPO_ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for c in commands
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    return [(p.returncode, out.decode(), err.decode()) for p, (out, err) in zip(procs, outputs)]


RUN_BINDINGS = [*TINY_RUN, "MODEL = 'resnet8'", "recipe.train_set_metrics = False"]


def test_the_cli_refuses_a_run_another_process_holds(tmp_path):
    """The holder is this test process; the refusal comes before anything is trained."""
    model_dir = tmp_path / "teacher"
    lease = run_lock.try_acquire(str(model_dir))
    try:
        [(rc, _, err)] = _start_together([cli_command(TEACHER_GIN, RUN_BINDINGS, model_dir)])
    finally:
        lease.release()
    assert rc == EXIT_LOCKED, err[-3000:]
    last = last_line(err)
    assert last == f"error: {Held(str(model_dir), lease.record)}", last
    assert "Traceback" not in err
    assert not (model_dir / "run.json").exists() and not (model_dir / "checkpoints").exists()


@pytest.mark.slow
def test_two_starts_of_one_run_train_it_once(tmp_path):
    model_dir = tmp_path / "teacher"
    command = cli_command(TEACHER_GIN, RUN_BINDINGS, model_dir)
    results = _start_together([command, command])
    assert sorted(rc for rc, _, _ in results) == [0, EXIT_LOCKED], results
    refused = next(err for rc, _, err in results if rc == EXIT_LOCKED)
    last = last_line(refused)
    assert last.startswith(f"error: {model_dir} is being trained by pid ") and " since " in last
    assert "Traceback" not in refused
    assert_run_contract(model_dir)  # complete, trained once (2 epochs), no live lease


STUDY_BINDINGS = [*TINY_RUN, *TINY_STUDY, KD_ONLY, "recipe.train_set_metrics = False"]


@pytest.mark.parametrize(
    "teachers",
    # Slow, both: tests/studies/test_parallel_runs.py splits a study between two processes in CI.
    [
        pytest.param(["resnet8"], marks=pytest.mark.slow),
        pytest.param(["resnet8", "resnet14"], marks=pytest.mark.slow),
    ],
    ids=["3_runs", "5_runs"],
)
def test_two_processes_on_one_study_split_its_runs(tmp_path, teachers):
    study = tmp_path / "study"
    bindings = [*STUDY_BINDINGS, f"TEACHERS = {teachers}"]
    command = cli_command(CAPACITY_GAP_GIN, bindings, study)
    results = _start_together([command, command])
    assert [rc for rc, _, _ in results] == [0, 0], results
    log = atomic_io.read_json_lines(study / "study_log.jsonl")
    trained = sorted(e["run"] for e in log if e["action"] == "trained")
    runs = sorted(os.path.relpath(p.parent, study / "runs") for p in study.glob("runs/**/run.json"))
    assert len(runs) == 1 + 2 * len(teachers) and trained == runs, (
        log
    )  # each trained once, by one of the two
    assert sorted(e["run"] for e in log if e["action"] == "skipped") == runs
    assert sorted(assert_study_contract(study)) == runs  # every run complete, the report written
