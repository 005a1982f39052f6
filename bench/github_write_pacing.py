"""GitHub writes per minute when many runs finish together, and nothing lost (issue 11).

Starts the stack (redis-server, GitHub sandbox, the Procfile's `web` and `worker` with
--slots run slots), creates N repositories each with a pull request that fixes an issue, comments
`/golden-path run` on all of them at once, and waits for every run's whole report: the check run
concluded, the PR comment, the linked issue's comment and label. Then, from the sandbox's
request log, prints the content-creating requests (POST, PATCH, PUT, DELETE on repositories):
total, the most in any sliding 60 s window (GitHub's secondary limit is 80 a minute per
installation), and how long the burst took.

    .venv/bin/python bench/github_write_pacing.py [--runs 20] [--slots 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.stack import Stack, wait_until  # noqa: E402

PLAN = """
phases:
  - id: smoke
    suites: [tests/test_smoke.py]
"""
SUITE = "def test_ok():\n    assert True\n"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
LINKED = 2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--slots", type=int, default=4)
    args = parser.parse_args()
    stack = Stack(
        processes=("web", "worker"), extra_env={"GOLDEN_PATH_RUN_SLOTS": str(args.slots)}
    ).start()
    try:
        repos = [f"bench/pacing-{n}" for n in range(args.runs)]
        for repo in repos:
            stack.add_project(
                repo,
                {".github/golden-path.yml": PLAN, "tests/test_smoke.py": SUITE},
                body=f"Fixes #{LINKED}",
            )
            stack.github.fake.add_issue(repo, LINKED, title="t", body="")
        started = time.time()
        for repo in repos:
            assert stack.comment(repo, 1, "/golden-path run").status_code == 202
        wait_until(
            lambda: all(_reported(stack, repo) for repo in repos),
            timeout=60 * 30,
            interval=0.5,
            what="every run's report",
        )
        finished = time.time()
        writes = sorted(
            r["at"]
            for r in stack.github.fake.request_log()
            if r["method"] in WRITES and r["path"].startswith("/repos/") and r["at"] >= started
        )
        print(f"{args.runs} runs at once on {args.slots} run slots, one installation:")
        print(f"  every report complete (check, PR comment, linked issue): {args.runs}/{args.runs}")
        print(f"  writes {len(writes)} in {finished - started:.0f} s")
        print(f"  most writes in any 60 s window: {_most_in_a_minute(writes)} (GitHub's limit: 80)")
    finally:
        stack.stop()
    return 0


def _reported(stack: Stack, repo: str) -> bool:
    fake = stack.github.fake
    checks = [r for r in fake.check_runs(repo) if r["status"] == "completed"]
    login = fake.bot_login
    commented = all(
        any(c["user"]["login"] == login for c in fake.comments(repo, number))
        for number in (1, LINKED)
    )
    return bool(checks) and commented and bool(fake.labels_of(repo, LINKED))


def _most_in_a_minute(times: list[float]) -> int:
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 60:
            start += 1
        most = max(most, end - start + 1)
    return most


if __name__ == "__main__":
    sys.exit(main())
