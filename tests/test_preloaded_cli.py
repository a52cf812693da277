"""The fork server the bad-input catalogue runs through (tests/preloaded_cli.py) reports what
``python -m kd_efficacy.run`` would: exit status, stdout and stderr, each command in its own
environment, so a catalogue case can fail."""

import preloaded_cli
from kd_testing import TEACHER_GIN, last_line


def test_each_command_gets_its_own_exit_status_output_and_environment(tmp_path):
    fresh = tmp_path / "fresh"
    multi_worker = [f"--gin_file={TEACHER_GIN}", "--gin_bindings=STRATEGY = 'multi_worker'"]
    commands = [
        (["--help"], None),
        (["--gin_fil=x.gin"], None),
        ([*multi_worker, f"--model_dir={fresh}"], {"TF_CONFIG": '{"cluster": {}}'}),
        ([*multi_worker, f"--model_dir={fresh}"], None),
    ]
    helped, typo, bad_config, no_config = (f.result(300) for f in preloaded_cli.run_all(commands))
    assert helped.returncode == 0 and "--gin_file" in helped.stdout, helped.stderr[-2000:]
    assert typo.returncode == 2 and "gin_fil" in last_line(typo.stderr), typo.stderr[-2000:]
    assert bad_config.returncode == 2, bad_config.stderr[-2000:]
    assert "TF_CONFIG is not usable" in last_line(bad_config.stderr)
    assert "needs TF_CONFIG" in last_line(no_config.stderr), no_config.stderr[-2000:]
    assert not fresh.exists()
