"""Print a study's runs as independent commands, to spread them over machines or GPUs.

    python tools/sweep.py --gin_file=gin_configs/experiments/capacity_gap/digits.gin [--model_dir=D]

Runs are grouped in waves: every run of a wave depends only on runs of earlier waves (teachers
before their students, chain links in order), so a scheduler may start a whole wave at once.
Each command trains one run (``experiment.only_run``) into the shared study directory; the
final command, the study's own, trains nothing that is complete and assembles the report.
"""

import dataclasses
import shlex

from absl import app, flags

from kd_efficacy.errors import EXIT_CONFIG_ERROR, ConfigError

FLAGS = flags.FLAGS


def waves(runs):
    """Lists of run names; a run's wave is one more than its latest teacher's."""
    depth = {}
    for run in runs:
        depth[run.name] = 1 + max((depth[t] for t in run.teachers), default=-1)
    grouped = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for run in runs:
        grouped[depth[run.name]].append(run.name)
    return grouped


@dataclasses.dataclass(frozen=True)
class RunCommand:
    """One planned run as a command: its argv trains only it into the shared study directory."""

    name: str
    teachers: tuple[str, ...]  # runs that must finish first
    wave: int
    argv: tuple[str, ...]


def plan(gin_files, gin_bindings, model_dir=None):
    """(study directory, [RunCommand] in plan order, argv of the final assembling command).

    Plans and checks the study (nothing is written or trained); the launchers in
    ``kd_efficacy/launch`` and ``commands`` below read it.
    """
    import gin

    from kd_efficacy import experiment, gin_errors, run

    run.parse_gin(gin_files, gin_bindings)
    with gin_errors.as_config_errors():
        kwargs = {"model_dir": model_dir} if model_dir else {}
        ready = experiment.run(plan_only=True, **kwargs)
    study_dir = model_dir or gin.query_parameter("experiment.model_dir")
    base = ["python", "-m", "kd_efficacy.run"]
    base += [f"--gin_file={f}" for f in gin_files]
    base += [f"--gin_bindings={b}" for b in gin_bindings]
    base += [f"--model_dir={study_dir}"]
    by_name = {r.name: r for r in ready.runs}
    out = []
    for index, names in enumerate(waves(ready.runs)):
        for name in names:
            only = f'--gin_bindings=experiment.only_run = "{name}"'
            out.append(RunCommand(name, tuple(by_name[name].teachers), index, (*base, only)))
    return study_dir, out, tuple(base)


def commands(gin_files, gin_bindings, model_dir=None):
    """(wave index, command) pairs, and the final assembling command, as shell lines."""
    _, per_run, final = plan(gin_files, gin_bindings, model_dir)
    return [(r.wave, shlex.join(r.argv)) for r in per_run], shlex.join(final)


def main(argv):
    del argv
    try:
        per_run, final = commands(FLAGS.gin_file, FLAGS.gin_bindings, FLAGS.model_dir)
    except ConfigError as e:
        print(f"error: {e}")
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    wave = None
    for index, command in per_run:
        if index != wave:
            wave = index
            print(f"# wave {index}: needs every run of the waves before it")
        print(command)
    print("# assemble: trains nothing complete, writes summary.csv and report.md")
    print(final)


if __name__ == "__main__":
    from kd_efficacy import run as _flags  # noqa: F401  (defines --gin_file and friends)

    app.run(main)
