"""Webhook answer -> check run `in_progress`, through the real stack (median of N runs).

Starts redis-server, the GitHub sandbox, and the Procfile's `web` and `worker`; for each run it
creates a repository with a one-phase plan, posts a signed `/golden-path run` comment, and times:
the webhook's answer, then the `queued` check run, the 👀 reaction, and the `in_progress` update,
each measured from the moment the answer arrived. The baseline, measured in the same run, is a
`GET /healthz` round trip to the same web process. Then every run slot is filled with a slow run
and the `queued` check and the 👀 are timed again (busy: no `in_progress` until a slot frees).

All repositories share one installation, whose GitHub writes are paced (`bot.github.budget`: a
burst of 15, then one a second). A run makes about seven writes, so samples taken back to back
would soon measure that pacing, not the path to GitHub: each sample waits `--gap` seconds after
the one before (default 8: the budget rested again).

    .venv/bin/python bench/webhook_latency.py [--runs 10] [--gap 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.stack import Stack, wait_until

PLAN = """
phases:
  - id: smoke
    suites: [tests/test_smoke.py]
"""
SUITE = "def test_ok():\n    assert True\n"
SLOW_SUITE = "import time\n\n\ndef test_slow():\n    time.sleep(120)\n"
SLOTS = 2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--gap", type=float, default=8.0, help="seconds between samples")
    args = parser.parse_args()
    stack = Stack(
        processes=("web", "worker"), extra_env={"GOLDEN_PATH_RUN_SLOTS": str(SLOTS)}
    ).start()
    try:
        figures = {"answer": [], "queued": [], "eyes": [], "in_progress": [], "healthz": []}
        for index in range(args.runs + 1):  # the first run warms the workers up; not counted
            time.sleep(args.gap if index else 0)
            sample = one_run(stack, index)
            if index:
                for name, value in sample.items():
                    figures[name].append(value)
        print(f"webhook -> in_progress over {args.runs} runs (ms; median [min-max]):")
        for name, values in figures.items():
            ms = [v * 1000 for v in values]
            print(f"  {name:<12} {statistics.median(ms):8.1f}  [{min(ms):.1f}-{max(ms):.1f}]")
        base = statistics.median(figures["healthz"])
        ratio = statistics.median(figures["in_progress"]) / base
        print(f"  in_progress / healthz round trip: {ratio:.0f}x")
        busy = busy_runs(stack, args.runs, args.gap)
        print(f"every run slot busy ({SLOTS} slow runs), {args.runs} runs (ms; median [min-max]):")
        for name, values in busy.items():
            ms = [v * 1000 for v in values]
            print(f"  {name:<12} {statistics.median(ms):8.1f}  [{min(ms):.1f}-{max(ms):.1f}]")
    finally:
        stack.stop()
    return 0


def busy_runs(stack: Stack, runs: int, gap: float) -> dict[str, list[float]]:
    """Fill every run slot with a slow run, then time `queued` and eyes of new commands."""
    fake = stack.github.fake
    for slot in range(SLOTS):
        repo = f"bench/busy-{slot}"
        _, sha = stack.add_project(
            repo, {".github/golden-path.yml": PLAN, "tests/test_smoke.py": SLOW_SUITE}
        )
        assert stack.comment(repo, 1, "/golden-path run").status_code == 202
        wait_until(
            lambda repo=repo, sha=sha: any(
                h["body"].get("status") == "in_progress"
                for r in fake.check_runs(repo, head_sha=sha)
                for h in r["history"]
            ),
            timeout=120,
            interval=0.05,
            what="a slow run in progress",
        )
    figures: dict[str, list[float]] = {"queued": [], "eyes": []}
    for index in range(runs):
        time.sleep(gap)
        sample = one_run(stack, 1000 + index, until=("queued", "eyes"))
        for name in figures:
            figures[name].append(sample[name])
    return figures


def one_run(
    stack: Stack, index: int, until: tuple[str, ...] = ("queued", "eyes", "in_progress")
) -> dict[str, float]:
    repo = f"bench/latency-{index}"
    _, sha = stack.add_project(
        repo, {".github/golden-path.yml": PLAN, "tests/test_smoke.py": SUITE}
    )
    fake = stack.github.fake
    start = time.perf_counter()
    answer = stack.comment(repo, 1, "/golden-path run")  # signed exactly as GitHub signs
    answered = time.perf_counter()
    comment_id = fake.comments(repo, 1)[-1]["id"]
    assert answer.status_code == 202, answer.text
    seen: dict[str, float] = {}

    def observe() -> bool:
        now = time.perf_counter()
        runs = fake.check_runs(repo, head_sha=sha)
        if runs and "queued" not in seen:
            seen["queued"] = now
        if "eyes" not in seen and fake.reactions(comment_id):
            seen["eyes"] = now
        statuses = [h["body"].get("status") for r in runs for h in r["history"]]
        if "in_progress" in statuses and "in_progress" not in seen:
            seen["in_progress"] = now
        return all(name in seen for name in until)

    wait_until(observe, timeout=60, interval=0.002, what=", ".join(until))
    sample = {name: at - answered for name, at in seen.items()}
    if "in_progress" not in until:
        return sample
    wait_until(
        lambda: any(r["status"] == "completed" for r in fake.check_runs(repo, sha)),
        timeout=60,
        interval=0.05,
    )
    ping_start = time.perf_counter()
    httpx.get(f"{stack.web_url}/healthz", timeout=5)
    healthz = time.perf_counter() - ping_start
    return {"answer": answered - start, **sample, "healthz": healthz}


if __name__ == "__main__":
    sys.exit(main())
