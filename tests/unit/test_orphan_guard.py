"""A worker that dies mid-run takes its test processes with it (workers/orphan_guard.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from workers.engine import processes

SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _wait_for(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_killing_the_worker_kills_the_test_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                from pathlib import Path
                from workers.engine import processes
                processes.supervise(
                    [sys.executable, "-c", {SLEEPER!r}, {str(pid_file)!r}],
                    cwd=Path({str(tmp_path)!r}),
                    env={{"PATH": "/usr/bin:/bin"}},
                    timeout_seconds=120,
                    log_path=Path({str(tmp_path / "log")!r}),
                )
                """
            ),
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert _wait_for(lambda: pid_file.exists() and pid_file.read_text(), 20)
        sleeper = int(pid_file.read_text())
        assert _alive(sleeper)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert _wait_for(lambda: not _alive(sleeper), 5), "the test process outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()


def test_exit_codes_and_signals_pass_through_the_guard(tmp_path: Path) -> None:
    def outcome(code: str) -> processes.ProcessOutcome:
        return processes.supervise(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            timeout_seconds=30,
            log_path=tmp_path / "log",
        )

    assert outcome("raise SystemExit(5)").exit_code == 5  # pytest's "no tests ran"
    killed = outcome("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert killed.exit_code == -signal.SIGSEGV
