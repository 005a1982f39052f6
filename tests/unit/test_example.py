"""The bundled example (examples/staging-demo) runs green, and its break switch fails one phase."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.plan import PLAN_PATH, parse_plan
from bot.core.results import Conclusion, PhaseStatus, RunReport
from bot.core.scrub import Scrubber
from workers.engine import executor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "staging-demo"
PHASES = {"auth": 120000, "agent": 150000, "websocket": 90000, "journeys": 140000}


def copy_into_git_repo(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".staging", "__pycache__"))
    git = ["git", "-c", "user.name=demo", "-c", "user.email=demo@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "demo"], cwd=dest, check=True)
    return dest


def run_example(root: Path, worker_env: dict[str, str]) -> RunReport:
    plan = parse_plan((root / PLAN_PATH).read_text())
    return executor.execute(
        root,
        plan,
        plan.phase_ids,
        env=executor.build_env(plan, worker_env),
        artifacts=root.parent / f"{root.name}-artifacts",
        scrub=Scrubber(executor.secret_values(plan, worker_env)),
        # A bound, not a speed test: a loaded CI machine must not turn a healthy run red.
        deadline=time.monotonic() + 300,
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Path]:
    root = copy_into_git_repo(tmp_path / "demo")
    yield root
    subprocess.run([sys.executable, "staging_app/stop.py"], cwd=root, check=False)


def test_plan_is_valid_and_models_the_golden_path() -> None:
    plan = parse_plan((EXAMPLE / PLAN_PATH).read_text())
    assert {p.id: p.mrr_at_risk for p in plan.phases} == PHASES
    assert all(p.criteria.max_p95_seconds for p in plan.phases)
    assert all(3 <= len(_test_names(EXAMPLE / s)) <= 6 for p in plan.phases for s in p.suites)
    assert plan.pass_env == ("GOLDEN_PATH_DEMO_BREAK",)


def _test_names(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if ln.startswith("def test_")]


def test_healthy_service_passes_every_phase(demo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GOLDEN_PATH_DEMO_BREAK"}
    report = run_example(demo, env)
    assert report.conclusion is Conclusion.SUCCESS, [p.reasons for p in report.phases]
    assert [p.status for p in report.phases] == [PhaseStatus.PASSED] * 4
    assert all(p.passed >= 3 for p in report.phases)
    assert report.mrr_at_risk == 0
    # The billing history's cold cache: its test failed once, passed alone (`flaky: pass`).
    [flaky] = [t for p in report.phases for t in p.flaky_tests]
    assert flaky.node_id.endswith("test_billing_history_lists_the_invoices")
    assert [a.outcome.value for a in flaky.attempts] == ["failed", "passed"]
    assert "invoice cache warming up" in flaky.attempts[0].message


def test_break_switch_fails_only_the_named_phase(demo: Path) -> None:
    report = run_example(demo, {**os.environ, "GOLDEN_PATH_DEMO_BREAK": "break:websocket:demo"})
    assert report.conclusion is Conclusion.FAILURE
    statuses = {p.phase_id: p.status for p in report.phases}
    assert statuses == {
        "auth": PhaseStatus.PASSED,
        "agent": PhaseStatus.PASSED,
        "websocket": PhaseStatus.FAILED,
        "journeys": PhaseStatus.PASSED,
    }
    websocket = report.phases[2]
    messages = " | ".join(f.message for f in websocket.failures)
    assert "TimeoutError" in messages  # the dropped tool_completed event
    assert "events lost their run" in messages
    assert report.mrr_at_risk == PHASES["websocket"]
    assert all(f.file and f.line for f in websocket.failures)
    # The switch is a pass_env secret, masked with its 8+ character ends: the phase stays readable.
    assert all("test_websocket.py" in f.node_id for f in websocket.failures)
