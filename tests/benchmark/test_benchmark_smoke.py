"""The benchmark runs end to end at a tiny size and writes sane JSON (no timing assertions)."""

import json
import subprocess
import sys

from kd_efficacy import benchmark

MODES = {"student", "teacher", "kd", "multi", "pipeline"}


def test_tiny_benchmark_writes_one_sane_json_line_per_batch_size(tmp_path, capsys):
    output = tmp_path / "bench.jsonl"
    results = benchmark.main(["--tiny", "--students", "2", "--output", str(output)])
    lines = output.read_text().splitlines()
    assert len(lines) == len(results) == 1
    result = json.loads(lines[0])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    assert (result["teacher"], result["student"], result["batch_size"]) == ("resnet8", "resnet8", 8)
    for prefix in ("", "cpu_"):
        ips = result[f"{prefix}images_per_s"]
        assert set(ips) == MODES
        for stats in ips.values():
            assert len(stats["values"]) == result["windows"]
            assert 0 < stats["min"] <= stats["median"] <= stats["max"]
        student, teacher = ips["student"]["median"], ips["teacher"]["median"]
        limit = result[f"{prefix}limit_images_per_s"]
        assert 0 < limit < min(student, teacher)
        assert result[f"{prefix}kd_over_limit"] > 0
        multi = result[f"{prefix}multi"]
        assert multi["students"] == 2
        assert multi["student_images_per_s"] == 2 * multi["images_per_s"]
    assert all(mb > 0 for mb in result["peak_rss_mb"].values())
    assert result["gpu_memory_mb"] is None or isinstance(result["gpu_memory_mb"], dict)


def test_help_lists_the_flags():
    completed = subprocess.run(
        [sys.executable, "-m", "kd_efficacy.benchmark", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for flag in ("--teacher", "--student", "--batch_sizes", "--image_shape", "--num_classes"):
        assert flag in completed.stdout
    for flag in ("--windows", "--window_steps", "--output", "--tiny", "--students"):
        assert flag in completed.stdout
