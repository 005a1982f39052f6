"""The fault suite's stack and its table.

One stack for the suite: redis-server with AOF on (so a restart keeps its keys), the fake GitHub,
`web` and `worker` from the Procfile, no `beat` (the worker's own reconcile loop must do). Its
workdir is a small tmpfs when this machine lets us mount one (root), so the full-disk case can fill
it. A lost worker is noticed after 6 s of silence here (30 s in production).

At the end the table of faults is printed, and written into docs/RELIABILITY.md when every case of
the suite ran and passed (`scripts/reliability-table` runs just this suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack import Stack
from tests.faults import harness

pytestmark = pytest.mark.e2e

DOC = harness.ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- fault-table:start -->", "<!-- fault-table:end -->"
TMPFS_BYTES = 256 * 1024**2


def _mount_tmpfs(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture(scope="session")
def fault_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fault")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, fault_dir: Path) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("fault-stack")
    work = root / "work"
    mounted = _mount_tmpfs(work)
    bin_dir = harness.hold_git_script(fault_dir)
    path = f"{bin_dir}:{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    stack = Stack(
        processes=("web", "worker"),
        workdir=root,
        redis_appendonly=True,
        extra_env={
            "PATH": path,
            "GOLDEN_PATH_RUN_SLOTS": "4",
            "GOLDEN_PATH_STALE_AFTER_SECONDS": "6",
            "GOLDEN_PATH_REAP_INTERVAL_SECONDS": "1",
            "GOLDEN_PATH_GITHUB_TIMEOUT_SECONDS": "2",
            "GOLDEN_PATH_GITHUB_RETRY_SECONDS": "20",
            # The cases watch the runs' processes and marker files from the host; isolation has
            # its own suite (tests/test_sandbox_isolation.py). Lost workers take their bwrap
            # sandbox with them (--die-with-parent); here the orphan guard does.
            "GOLDEN_PATH_SANDBOX": "none",
        },
    )
    stack.tmpfs = mounted  # type: ignore[attr-defined]
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        if mounted:
            subprocess.run(["umount", "-l", str(work)], check=False)


# --- the table -------------------------------------------------------------------------------

_collected: set[str] = set()
_passed: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _collected.update(i.nodeid for i in items if "tests/faults/" in i.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "tests/faults/" in report.nodeid:
        _passed.add(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not harness.ROWS:
        return
    terminalreporter.write_sep("=", "fault table")
    terminalreporter.write_line(harness.render_table(harness.ROWS))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The doc is the suite's own output: rewritten only from a full, green run."""
    all_fault_cases = _all_fault_cases()
    if not harness.ROWS or exitstatus != 0 or not all_fault_cases <= _passed:
        return
    text = DOC.read_text() if DOC.exists() else f"{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{harness.render_table(harness.ROWS)}\n{END}{tail}")


def _all_fault_cases() -> set[str]:
    """Every test the suite has (a -k or single-file run does not rewrite the doc)."""
    folder = Path(__file__).parent
    names = {p.name for p in folder.glob("test_*.py")}
    seen_files = {nodeid.split("::")[0].rsplit("/", 1)[-1] for nodeid in _collected}
    return _collected if names <= seen_files else _collected | {"(not all files ran)"}


@pytest.fixture(autouse=True)
def _requests_match_github_api(stack: Stack) -> Iterator[None]:
    """Everything the bot sent during a case matches GitHub's OpenAPI description."""
    before = len(stack.github.fake.request_log())
    yield
    sent = stack.github.fake.request_log()[before:]
    problems = [
        f"{r['method']} {r['path']}: {p}" for r in sent for p in r.get("openapi_problems", [])
    ]
    assert not problems, problems
