"""``python -m kd_efficacy.launch --launcher=ray|slurm --gin_file=F.gin [...]``: see __init__.py.

The study flags are kd_efficacy.run's (--gin_file, --gin_bindings, --model_dir); the exit status
is the study command's (0: every run complete).
"""

from absl import app, flags

from kd_efficacy import run  # noqa: F401  (defines --gin_file, --gin_bindings, --model_dir)
from kd_efficacy.errors import EXIT_CONFIG_ERROR, ConfigError, exit_in_one_line

flags.DEFINE_enum("launcher", None, ["ray", "slurm"], "the engine that runs the study's runs")
flags.DEFINE_string("ray_address", None, "Ray: an existing cluster ('auto'); default: local")
flags.DEFINE_integer(
    "gpus_per_run", None, "GPUs per run (Ray default: 1 if it has GPUs, else 0; Slurm: 1)"
)
flags.DEFINE_integer("cpus_per_run", None, "CPUs per run (Ray default 1, Slurm 4)")
flags.DEFINE_string("slurm_partition", None, "Slurm: the partition")
flags.DEFINE_integer("slurm_timeout_min", 24 * 60, "Slurm: time limit of each job, minutes")
flags.DEFINE_string("slurm_folder", None, "Slurm: submitit's logs (default <study>/slurm)")
flags.DEFINE_bool("slurm_wait", False, "Slurm: wait for the report instead of exiting once queued")
FLAGS = flags.FLAGS


def _launch():
    study = (list(FLAGS.gin_file), list(FLAGS.gin_bindings), FLAGS.model_dir)
    if not FLAGS.gin_file:
        raise ConfigError(
            "no --gin_file given; e.g. --gin_file=gin_configs/experiments/capacity_gap/digits.gin"
        )
    cpus = {} if FLAGS.cpus_per_run is None else {"cpus_per_run": FLAGS.cpus_per_run}
    if FLAGS.launcher == "ray":
        from kd_efficacy.launch import ray_tasks

        return ray_tasks.launch(
            *study, address=FLAGS.ray_address, gpus_per_run=FLAGS.gpus_per_run, **cpus
        )
    if FLAGS.launcher == "slurm":
        from kd_efficacy.launch import slurm_jobs

        gpus = {} if FLAGS.gpus_per_run is None else {"gpus_per_run": FLAGS.gpus_per_run}
        partition = {"slurm_partition": FLAGS.slurm_partition} if FLAGS.slurm_partition else {}
        job = slurm_jobs.launch(
            *study,
            folder=FLAGS.slurm_folder,
            timeout_min=FLAGS.slurm_timeout_min,
            slurm_parameters=partition,
            wait=FLAGS.slurm_wait,
            **gpus,
            **cpus,
        )
        return job if FLAGS.slurm_wait else 0
    raise ConfigError("no --launcher given; use --launcher=ray or --launcher=slurm")


def main(argv):
    if len(argv) > 1:
        exit_in_one_line(f"error: unexpected arguments {argv[1:]}", EXIT_CONFIG_ERROR)
    try:
        code = _launch()
    except ConfigError as e:
        exit_in_one_line(f"error: {e}", EXIT_CONFIG_ERROR)
    raise SystemExit(code)


if __name__ == "__main__":
    app.run(main)
