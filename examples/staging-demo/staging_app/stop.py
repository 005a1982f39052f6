"""Stop the staging service started by `start.py` (the demo and the tests call it when done)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def main(state_dir: Path = Path(".staging")) -> None:
    pid_file = state_dir / "pid"
    if pid_file.exists():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()


if __name__ == "__main__":
    main()
