"""Memory and readiness of the Procfile's `worker` and `web`, as production starts them.

Starts redis-server and the GitHub sandbox (sandbox/stack.py), then:
  - `worker`: time from spawn until every Celery worker in it logged `ready`, then its idle PSS
    (the sum over its processes, from /proc/PID/smaps_rollup) and RSS;
  - a run of an N-test suite through the whole stack, sampling the worker's PSS while it runs
    (the Celery processes only: the suite's own pytest process is the project's, not ours);
  - `web`: time until /healthz answers, PSS after start-up and after M signed webhooks.
Each figure is the median [min-max] over --rounds fresh starts.

    .venv/bin/python bench/process_memory.py [--rounds 3] [--tests 1000] [--webhooks 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from sandbox import webhook_delivery, webhooks  # noqa: E402
from sandbox.stack import Stack, wait_until  # noqa: E402

PLAN = """
phases:
  - id: many
    suites: [tests/test_many.py]
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=5000)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {}
    for index in range(args.rounds):
        for name, value in one_round(index, args).items():
            figures.setdefault(name, []).append(value)
    print(f"process memory over {args.rounds} fresh starts (median [min-max]):")
    for name, values in figures.items():
        med, low, high = statistics.median(values), min(values), max(values)
        print(f"  {name:<34} {med:8.1f} [{low:.1f}-{high:.1f}]")
    return 0


def one_round(index: int, args: argparse.Namespace) -> dict[str, float]:
    stack = Stack(processes=()).start()
    try:
        figures = _worker_figures(stack)
        figures.update(_web_start_figures(stack))
        figures.update(_run_figures(stack, index, args.tests))
        stack.kill_process("worker")  # its event tasks would only add noise to the web's load
        figures.update(_web_load_figures(stack, args.webhooks))
        return figures
    finally:
        stack.stop()


def _bare_celery_ready(stack: Stack) -> float:
    """Seconds until a task-less Celery worker with the same flags is ready (the yardstick)."""
    log = stack.workdir / "bare-celery.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *("celery", "-A", "bench.bare_celery", "worker", "--loglevel", "INFO"),
                *("-Q", "bare", "-n", f"bare-{os.getpid()}@%h", "--pool", "threads"),
                *("--without-mingle", "--without-gossip", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=stack.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: " ready." in log.read_text(errors="replace"), timeout=60, interval=0.01)
        return time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _worker_figures(stack: Stack) -> dict[str, float]:
    bare = _bare_celery_ready(stack)
    started = time.perf_counter()
    proc = stack.start_process("worker")
    wait_until(lambda: stack.log("worker").count(" ready.") >= 2, timeout=60, interval=0.01)
    ready = time.perf_counter() - started
    time.sleep(2)  # idle: whatever the workers do after start-up has settled
    pss, rss, count = tree_memory(proc.pid, only="celery")
    return {
        "bare Celery worker ready (s)": bare,
        "worker ready (s)": ready,
        "worker ready / bare Celery": ready / bare,
        "worker idle PSS (MB)": pss,
        "worker idle RSS (MB)": rss,
        "worker processes": count,
    }


def _run_figures(stack: Stack, index: int, tests: int) -> dict[str, float]:
    suite = "".join(f"def test_{n}():\n    assert True\n\n" for n in range(tests))
    repo = f"bench/memory-{index}"
    _, sha = stack.add_project(repo, {".github/golden-path.yml": PLAN, "tests/test_many.py": suite})
    worker = stack._procs["worker"].pid
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_memory(worker, only="celery")[0])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert stack.comment(repo, 1, "/golden-path run").status_code == 202
    fake = stack.github.fake
    wait_until(
        lambda: any(r["status"] == "completed" for r in fake.check_runs(repo, sha)),
        timeout=300,
        interval=0.2,
        what=f"the {tests}-test run",
    )
    done.set()
    sampler.join()
    return {f"worker peak PSS, {tests}-test run (MB)": peak[0]}


def _web_start_figures(stack: Stack) -> dict[str, float]:
    started = time.perf_counter()
    proc = stack.start_process("web")
    wait_until(stack._web_ready, timeout=30, interval=0.01, what="web /healthz")
    ready = time.perf_counter() - started
    return {"web ready (s)": ready, "web PSS ready (MB)": tree_memory(proc.pid, only="uvicorn")[0]}


def _web_load_figures(stack: Stack, webhooks_count: int) -> dict[str, float]:
    proc = stack._procs["web"]
    payload = webhooks.comment_on_pr(
        "bench/web", 1, "/golden-path run", installation_id=77, base_url=stack.github.url
    )
    body = webhook_delivery.json_body(payload)
    headers = webhook_delivery.delivery_headers("issue_comment", body, stack.secret)
    headers.pop("X-GitHub-Delivery")
    requests = load.unique_requests(f"127.0.0.1:{stack.web_port}", "/webhook", body, headers)
    result = asyncio.run(load.run(stack.web_port, requests, connections=64, total=webhooks_count))
    assert result.statuses[202] == webhooks_count, result.statuses
    loaded = tree_memory(proc.pid, only="uvicorn")[0]
    return {f"web PSS after {webhooks_count} webhooks (MB)": loaded}


def tree_memory(root: int, *, only: str = "") -> tuple[float, float, int]:
    """PSS and RSS (MB) summed over `root` and its descendants whose command line has `only`."""
    pss = rss = 0.0
    count = 0
    for pid in descendants(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue  # exited meanwhile
        if only and only not in cmdline:
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in rollup.splitlines()[1:]}
        pss += int(fields.get("Pss", 0)) / 1024
        rss += int(fields.get("Rss", 0)) / 1024
        count += 1
    return pss, rss, count


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


if __name__ == "__main__":
    sys.exit(main())
