"""Every benchmark under bench/ runs once at a small size: it still starts, drives the real
processes and prints its figures. No thresholds: figures on a shared CI machine mean little, and
bench/README.md says how to measure them properly. Run by scripts/test (`-m bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SMALL = {
    "webhook_throughput.py": ["--rounds", "1", "--seconds", "1", "--burst", "200"],
    "webhook_latency.py": ["--runs", "1", "--gap", "0"],
    "process_memory.py": ["--rounds", "1", "--tests", "50", "--webhooks", "200"],
    "runner_overhead.py": ["--runs", "1"],
    "supersede_latency.py": ["--runs", "1"],
    "github_write_pacing.py": ["--runs", "3", "--slots", "2"],
    "worker_loss.py": ["--kills", "1", "--stale", "4", "--interval", "1"],
    "shards.py": ["--rounds", "1", "--tests", "40"],
}


@pytest.mark.bench
@pytest.mark.parametrize("script", sorted(SMALL))
def test_benchmark_runs_at_a_small_size(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *SMALL[script]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.strip(), "a benchmark prints its figures"
    print(done.stdout)


def test_every_benchmark_has_a_smoke_run() -> None:
    helpers = {"load.py", "bare_app.py", "bare_celery.py", "__init__.py"}
    scripts = {p.name for p in (ROOT / "bench").glob("*.py")} - helpers
    assert scripts == set(SMALL)
