"""Truthful results from real pytest processes: counts equal to pytest's own summary line, and
what ran, what was running and the output's tail when a session ends abnormally."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from bot.core.plan import parse_plan
from bot.core.results import Outcome, PhaseStatus, PhaseVerdict, summary_line
from workers.engine import executor

LIBRARY = "def parse(x):\n    return helper(x)\n\n\ndef helper(x):\n    return x[5]\n"
SUITES = {
    "lib/__init__.py": LIBRARY,
    "tests/test_mixed.py": textwrap.dedent(
        """
        import pytest
        from lib import parse

        @pytest.fixture
        def bad_teardown():
            yield
            raise RuntimeError("teardown broke")

        def test_pass():
            pass

        def test_library_raises():
            value = [1]
            assert parse(value) == 1

        @pytest.mark.xfail
        def test_xfail():
            assert 0

        @pytest.mark.xfail
        def test_xpass():
            pass

        def test_skip():
            pytest.skip("not today")

        def test_teardown(bad_teardown):
            pass
        """
    ),
    "tests/test_skipped.py": (
        "import pytest\n\n@pytest.mark.skip\ndef test_a(): pass\n\n"
        "@pytest.mark.skip\ndef test_b(): pass\n\n@pytest.mark.skip\ndef test_c(): pass\n"
    ),
    "tests/test_exit.py": (
        "import os\n\ndef test_first():\n    pass\n\ndef test_crash():\n"
        "    print('about to die')\n    os._exit(1)\n\ndef test_never():\n    pass\n"
    ),
    "tests/test_hang.py": (
        "import time\n\ndef test_quick():\n    pass\n\ndef test_hang():\n"
        "    print('waiting for staging', flush=True)\n    time.sleep(600)\n"
    ),
    "broken/conftest.py": "import nonexistent_module_for_golden_path\n",
    "broken/test_x.py": "def test_x():\n    pass\n",
}


def run_phase(tmp: Path, suite: str, timeout: float = 120) -> PhaseVerdict:
    for rel, text in SUITES.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    plan = parse_plan(
        f"phases:\n  - {{id: p, suites: [{suite}], timeout_minutes: {timeout / 60}}}\n"
    )
    env = executor.build_env(plan, {"PATH": "/usr/bin:/bin", "HOME": str(tmp)})
    report = executor.execute(tmp, plan, ("p",), env=env, artifacts=tmp / "artifacts", scrub=str)
    return report.phases[0]


def pytest_summary(tmp: Path) -> str:
    log = (tmp / "artifacts" / "pytest-p.log").read_text()
    [line] = re.findall(r"^(\d+ \w+.*?) in [\d.]+s", log, re.MULTILINE)
    return str(line)


def test_counts_equal_pytests_own_summary(tmp_path: Path) -> None:
    phase = run_phase(tmp_path, "tests/test_mixed.py")
    assert summary_line(phase.counts) == pytest_summary(tmp_path)
    assert phase.counts == {
        "failed": 1, "passed": 2, "skipped": 1, "xfailed": 1, "xpassed": 1, "errors": 1
    }  # fmt: skip
    outcomes = {t.node_id.split("::")[1]: t.outcome for t in phase.tests}
    assert outcomes["test_xfail"] is Outcome.XFAILED
    assert outcomes["test_xpass"] is Outcome.XPASSED
    assert outcomes["test_teardown"] is Outcome.ERROR


def test_annotation_line_is_the_tests_own_line_when_library_code_raises(tmp_path: Path) -> None:
    phase = run_phase(tmp_path, "tests/test_mixed.py")
    failure = next(t for t in phase.failures if t.node_id.endswith("test_library_raises"))
    line = SUITES["tests/test_mixed.py"].splitlines().index("    assert parse(value) == 1") + 1
    assert (failure.file, failure.line) == ("tests/test_mixed.py", line)
    assert [(f.path, f.function) for f in failure.frames if not f.path.startswith("/")] == [
        ("tests/test_mixed.py", "test_library_raises"),
        ("lib/__init__.py", "parse"),
        ("lib/__init__.py", "helper"),
    ]


def test_all_skipped_phase_says_so(tmp_path: Path) -> None:
    phase = run_phase(tmp_path, "tests/test_skipped.py")
    assert phase.status is PhaseStatus.FAILED
    assert phase.reasons == ("3 skipped, no test passed or failed",)
    assert summary_line(phase.counts) == pytest_summary(tmp_path) == "3 skipped"


def test_crash_keeps_what_ran_and_names_the_running_test(tmp_path: Path) -> None:
    phase = run_phase(tmp_path, "tests/test_exit.py")
    assert phase.passed == 1
    assert phase.running == "tests/test_exit.py::test_crash"
    assert phase.reasons[0] == (
        "pytest ended before finishing its session (exit code 1) "
        "while running tests/test_exit.py::test_crash"
    )
    [crashed] = phase.failures
    assert crashed.node_id == "tests/test_exit.py::test_crash"
    assert crashed.message == "the test process ended (exit code 1) during this test"
    assert phase.output_tail  # pytest's own progress line: os._exit() loses the captured print


def test_timeout_keeps_what_ran_and_names_the_hanging_test(tmp_path: Path) -> None:
    phase = run_phase(tmp_path, "tests/test_hang.py", timeout=8)
    assert phase.status is PhaseStatus.TIMED_OUT
    assert phase.passed == 1
    assert phase.running == "tests/test_hang.py::test_hang"
    [hung] = phase.failures
    assert hung.message == "the phase's timeout stopped it during this test"
    assert "waiting for staging" in phase.output_tail


def test_conftest_import_error_is_a_collection_error_at_its_line(tmp_path: Path) -> None:
    phase = run_phase(tmp_path, "broken")
    [error] = phase.failures
    assert (error.file, error.line) == ("broken/conftest.py", 1)
    assert error.message == (
        "ModuleNotFoundError: No module named 'nonexistent_module_for_golden_path'"
    )
    assert phase.reasons[0] == f"collection error in broken/conftest.py: {error.message}"
    assert "ImportError while loading conftest" in phase.output_tail


@pytest.mark.parametrize("env_path", ["", "/somewhere/else"])
def test_plugin_env_keeps_the_plans_pythonpath(tmp_path: Path, env_path: str) -> None:
    env = executor.plugin_env({"PYTHONPATH": env_path} if env_path else {}, tmp_path)
    folders = env["PYTHONPATH"].split(":")
    assert folders[0] == str(tmp_path / "plugin")
    assert (tmp_path / "plugin" / "golden_path_stream.py").is_file()
    assert folders[1:] == ([env_path] if env_path else [])
