"""A sharded phase against the same phase whole, through the real stack.

Starts redis-server, the GitHub sandbox, the Procfile's `web` and two `worker` processes (as two
machines would run them against one Redis), each with `--slots` run slots (default 2, the
production default of `GOLDEN_PATH_RUN_SLOTS`). One repository holds N tests,
each waiting 20 ms (I/O-bound), in 20 files, and two phases over the same files: `whole`
(`shards: 1`) and `sharded` (`shards: 4`). Each round asks `/golden-path run whole`, then
`/golden-path run sharded` (interleaved), and times each run's phase (the `duration_seconds` of
its verdict) and the run from the comment to its check run's conclusion. Prints every round, the
median and spread (min-max), and the ratio whole / sharded (issue 11: >= 1.8x).

    .venv/bin/python bench/shards.py [--rounds 3] [--tests 1000] [--shards 4] [--slots 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bot.state.run_records import RunRecord, RunRecords
from sandbox.stack import Stack, wait_until

FILES = 20
WAIT_SECONDS = 0.02

PLAN = """
check_name: Golden Path P0
fail_fast: false
phases:
  - id: whole
    shards: 1
    timeout_minutes: 30
    suites: [tests]
  - id: sharded
    shards: {shards}
    timeout_minutes: 30
    suites: [tests]
"""


def suite(tests: int) -> str:
    body = [f"import time\n\nWAIT = {WAIT_SECONDS}\n"]
    body += [f"\ndef test_{i:04}():\n    time.sleep(WAIT)\n" for i in range(tests)]
    return "".join(body)


def project_files(tests: int, shards: int) -> dict[str, str]:
    per_file = [tests // FILES + (1 if i < tests % FILES else 0) for i in range(FILES)]
    files = {f"tests/test_io_{i:02}.py": suite(n) for i, n in enumerate(per_file) if n}
    return {".github/golden-path.yml": PLAN.format(shards=shards), **files}


def one_run(stack: Stack, repo: str, phase: str, known: set[str]) -> tuple[float, float]:
    """(phase seconds, comment-to-conclusion seconds) of `/golden-path run <phase>`."""
    records = RunRecords(redis.Redis.from_url(stack.redis.url))
    started = time.monotonic()
    stack.comment(repo, 1, f"/golden-path run {phase}")

    def finished() -> RunRecord | None:
        record = records.latest_for_pr(repo, 1)
        if record is None or record.run_id in known or record.state != "completed":
            return None
        return record

    record = wait_until(finished, timeout=600, interval=0.05, what=f"the {phase} run")
    wall = time.monotonic() - started
    known.add(record.run_id)
    verdict = next(v for v in record.verdicts if v.get("phase_id") == phase)
    if record.conclusion != "success":
        raise SystemExit(f"the {phase} run concluded {record.conclusion}: {record.reason}")
    return float(verdict["duration_seconds"]), wall


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--slots", type=int, default=2, help="run slots per worker process")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gp-bench-shards-"))
    (root / "stack").mkdir(parents=True)
    stack = Stack(
        processes=("web", "worker"),
        workdir=root / "stack",
        extra_env={"GOLDEN_PATH_RUN_SLOTS": str(args.slots)},
    )
    stack.start()
    try:
        stack.start_process("worker", key="worker-2")  # a second machine, the same Redis
        repo = "acme/shards"
        stack.add_project(repo, project_files(args.tests, args.shards), path=root / "repo")
        known: set[str] = set()
        whole: list[tuple[float, float]] = []
        sharded: list[tuple[float, float]] = []
        for number in range(1, args.rounds + 1):
            whole.append(one_run(stack, repo, "whole", known))
            sharded.append(one_run(stack, repo, "sharded", known))
            print(
                f"round {number}: whole phase {whole[-1][0]:.2f} s (run {whole[-1][1]:.2f} s), "
                f"sharded phase {sharded[-1][0]:.2f} s (run {sharded[-1][1]:.2f} s)",
                flush=True,
            )
    finally:
        stack.stop()
    ratios = [w[0] / s[0] for w, s in zip(whole, sharded, strict=True)]
    wall_ratios = [w[1] / s[1] for w, s in zip(whole, sharded, strict=True)]
    print(
        f"{args.tests} tests of {WAIT_SECONDS * 1000:.0f} ms in {FILES} files, two worker "
        f"processes with {args.slots} run slot(s) each, {args.rounds} interleaved rounds "
        "(s; median [min-max]):"
    )
    print(
        f"  shards: 1            phase {spread([w[0] for w in whole])}  "
        f"run {spread([w[1] for w in whole])}"
    )
    print(
        f"  shards: {args.shards:<12} phase {spread([s[0] for s in sharded])}  "
        f"run {spread([s[1] for s in sharded])}"
    )
    print(f"  speedup (whole / sharded): phase {spread(ratios)}x  run {spread(wall_ratios)}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
