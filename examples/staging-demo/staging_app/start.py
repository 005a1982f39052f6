"""Setup step: (re)start the staging service in the background and wait until it answers.

Writes `.staging/url` (read by the tests' conftest) and `.staging/pid`; the server's own log
goes to `.staging/server.log`. Exits non-zero, with the log's tail, when it does not come up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

STATE_DIR = Path(".staging")
START_TIMEOUT_SECONDS = 15.0


def stop_previous() -> None:
    pid_file = STATE_DIR / "pid"
    if pid_file.exists():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()


def start() -> subprocess.Popen[bytes]:
    STATE_DIR.mkdir(exist_ok=True)
    (STATE_DIR / "url").unlink(missing_ok=True)
    log = (STATE_DIR / "server.log").open("wb")
    idle = os.environ.get("STAGING_IDLE_SECONDS", "300")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "staging_app.server",
            "--url-file",
            str(STATE_DIR / "url"),
            "--idle-seconds",
            idle,
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # outlives this step; it exits by itself when idle
    )


def wait_until_up(proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    url_file = STATE_DIR / "url"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if url_file.exists():
            url = url_file.read_text().strip()
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer,
            ):
                if answer.status == 200:
                    return url
        time.sleep(0.05)
    log = (STATE_DIR / "server.log").read_text(errors="replace")[-2000:]
    sys.exit(f"staging service did not come up within {START_TIMEOUT_SECONDS:g} s\n{log}")


def main() -> None:
    stop_previous()
    proc = start()
    (STATE_DIR / "pid").write_text(str(proc.pid))
    url = wait_until_up(proc)
    broken = os.environ.get("GOLDEN_PATH_DEMO_BREAK")
    print(
        f"staging service up at {url} (pid {proc.pid})" + (f", broken: {broken}" if broken else "")
    )


if __name__ == "__main__":
    main()
