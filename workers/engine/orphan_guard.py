"""Run a command; if the worker that started it dies, take the command's process group down too.

`workers.engine.processes` starts every setup step and pytest run as
`python -I orphan_guard.py CMD...`, the leader of a new process group. The guard starts CMD in
that group and waits. Should its parent (the Celery worker) disappear (SIGKILL, out of memory),
the guard kills the whole group: otherwise the dead run's tests would keep hitting staging after
its environment lock expired and the next run started, and two runs would overlap.

Standalone on purpose (stdlib only, run by path with `-I`): the checkout's files can never shadow
it, and it needs nothing of the bot installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

POLL_SECONDS = 0.5


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: orphan_guard.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    parent = os.getppid()
    child = subprocess.Popen(argv)
    # A stop or timeout signals the whole group: the child gets it too. The guard outlives it
    # just long enough to reap it and report how it ended (no zombie, the true exit status).
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: None)
    while True:
        try:
            code = child.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:  # re-parented: the worker is gone
                os.killpg(0, signal.SIGKILL)
            continue
        if code < 0:  # killed by a signal: die the same way, so the caller sees it as such
            signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
