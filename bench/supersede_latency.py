"""`pull_request` `synchronize` webhook -> the old check run `cancelled`, through the real stack.

Starts redis-server, the GitHub sandbox and the Procfile's `web` and `worker`. For each sample it
creates a repository whose plan has a quick phase and then a slow one (a test sleeping 60 s),
starts a run with a signed `/golden-path run` comment, waits until the check run is `in_progress`
in the slow phase, pushes a new commit, and times from the moment the signed `synchronize`
delivery is sent until:

- `answer`: the webhook's answer (202);
- `cancelled`: the superseded check run is `completed` / `cancelled`, naming the new commit;
- `killed`: the slow test's process no longer exists.

The first sample warms the workers up and is not counted. Prints the median and the spread
(min, max, standard deviation) in milliseconds.

    .venv/bin/python bench/supersede_latency.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import webhooks
from sandbox.stack import Stack, commit_all, pytest_pids, wait_until

PLAN = """
env:
  SLOW_SECONDS: "60"
  RUN_MARKER: "{pid_file}"
phases:
  - id: quick
    suites: [tests/test_quick.py]
  - id: slow
    name: Slow journey
    suites: [tests/test_slow.py]
"""
QUICK = "def test_ok():\n    assert True\n"
SLOW = """
import os
import time


def test_slow():
    time.sleep(float(os.environ["SLOW_SECONDS"]))
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    stack = Stack(processes=("web", "worker")).start()
    try:
        figures: dict[str, list[float]] = {"answer": [], "cancelled": [], "killed": []}
        for index in range(args.runs + 1):  # the first sample warms the workers up
            sample = one_sample(stack, index)
            if index:
                for name, value in sample.items():
                    figures[name].append(value * 1000)
        print(f"synchronize webhook -> old check run cancelled, {args.runs} samples (ms):")
        print(f"  {'':<10} {'median':>8} {'min':>8} {'max':>8} {'stdev':>8}")
        for name, ms in figures.items():
            spread = statistics.stdev(ms) if len(ms) > 1 else 0.0
            print(
                f"  {name:<10} {statistics.median(ms):8.1f} {min(ms):8.1f} {max(ms):8.1f} "
                f"{spread:8.1f}"
            )
        print("  samples (cancelled): " + ", ".join(f"{v:.0f}" for v in figures["cancelled"]))
    finally:
        stack.stop()
    return 0


def one_sample(stack: Stack, index: int) -> dict[str, float]:
    repo = f"bench/supersede-{index}"
    pid_file = stack.workdir / f"supersede-{index}.pid"
    path, old = stack.add_project(
        repo,
        {
            ".github/golden-path.yml": PLAN.format(pid_file=pid_file),
            "tests/test_quick.py": QUICK,
            "tests/test_slow.py": SLOW,
        },
    )
    fake = stack.github.fake
    assert stack.comment(repo, 1, "/golden-path run").status_code == 202

    def running() -> dict | None:
        for run in fake.check_runs(repo, head_sha=old):
            title = run["output"]["title"] or ""
            if run["status"] == "in_progress" and "Slow journey" in title:
                return run
        return None

    check = wait_until(running, timeout=60, interval=0.01, what="the slow phase in progress")
    [pid] = wait_until(lambda: pytest_pids(str(pid_file)), timeout=30, what="the slow pytest")

    (path / "README.md").write_text(f"push {index}\n")
    new = commit_all(path, "push")
    fake.set_head(repo, 1, new)
    payload = webhooks.pull_request_event(
        "synchronize",
        repo,
        1,
        new,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        head_clone_url=str(path),
        before=old,
    )
    start = time.perf_counter()
    answer = stack.deliver("pull_request", payload)
    answered = time.perf_counter()
    assert answer.status_code == 202, answer.text
    seen: dict[str, float] = {}

    def observe() -> bool:
        now = time.perf_counter()
        if "cancelled" not in seen:
            run = next(r for r in fake.check_runs(repo, head_sha=old) if r["id"] == check["id"])
            if run["status"] == "completed":
                assert run["conclusion"] == "cancelled", run["conclusion"]
                assert new[:7] in run["output"]["summary"], run["output"]["summary"]
                seen["cancelled"] = now
        if "killed" not in seen and not _alive(pid):
            seen["killed"] = now
        return len(seen) == 2

    wait_until(observe, timeout=30, interval=0.002, what="cancelled and killed")
    return {"answer": answered - start, **{k: at - start for k, at in seen.items()}}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
