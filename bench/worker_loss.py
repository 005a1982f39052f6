"""A worker SIGKILLed during a run -> the run running again, through the real stack.

Starts redis-server, the GitHub sandbox and the Procfile's `web` and `worker` (no `beat`: the
worker's own reconcile loop must notice). For each sample it starts a run whose second phase is a
test sleeping 60 s, waits until that test runs, SIGKILLs the `worker` process group (as a machine
loss would), starts a new `worker` at once (as a process manager would), and times from the kill
until the run's record is `running` again as attempt 2 on the same commit, and until its check run
is back `in_progress`.

The production defaults apply (`GOLDEN_PATH_STALE_AFTER_SECONDS` 30, reconcile every 10 s) unless
`--stale` / `--interval` say otherwise; the runs are unsandboxed, so the slow test's pid file can
be read. Prints every sample, the median and the spread (min, max,
standard deviation) in seconds.

    .venv/bin/python bench/worker_loss.py [--kills 5] [--stale 30] [--interval 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.stack import Stack, wait_until
from tests.faults import harness


def sample(stack: Stack, root: Path) -> tuple[float, float]:
    project = harness.make_project(stack, root, slow_seconds=60)
    harness.say(stack, project)
    wait_until(lambda: harness.pids(project), timeout=120, what="the slow test")
    killed = time.monotonic()
    stack.kill_process("worker")
    stack.start_process("worker")
    harness.wait_record(
        stack, project, lambda r: r.attempt == 2 and r.state == "running", "restart", 300
    )
    running = time.monotonic() - killed

    def in_progress() -> bool:
        runs = harness.check_runs(stack, project)
        return bool(runs) and runs[-1]["status"] == "in_progress"

    wait_until(in_progress, timeout=120, what="the check run in_progress again")
    shown = time.monotonic() - killed
    harness.wait_done(stack, project, timeout=180)  # the second attempt is quick
    return running, shown


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--stale", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gp-bench-loss-"))
    stack = Stack(
        processes=("web", "worker"),
        workdir=root / "stack",
        extra_env={
            "GOLDEN_PATH_STALE_AFTER_SECONDS": str(args.stale),
            "GOLDEN_PATH_REAP_INTERVAL_SECONDS": str(args.interval),
            # the slow test's pid file is read from here (a sandboxed test's /tmp is its own);
            # a lost worker's sandbox dies with it (--die-with-parent), the orphan guard here
            "GOLDEN_PATH_SANDBOX": "none",
        },
    )
    (root / "stack").mkdir(parents=True)
    stack.start()
    samples = []
    try:
        for number in range(1, args.kills + 1):
            running, shown = sample(stack, root)
            samples.append((running, shown))
            print(f"kill {number}: running again after {running:.1f} s, shown after {shown:.1f} s")
    finally:
        stack.stop()
    for index, name in enumerate(("running again", "check run in_progress")):
        values = [s[index] for s in samples]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(
            f"{name}: median {statistics.median(values):.1f} s, min {min(values):.1f} s, "
            f"max {max(values):.1f} s, stdev {spread:.1f} s (n={len(values)}, stale after "
            f"{args.stale:g} s, reconcile every {args.interval:g} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
