"""`POST /webhook` throughput against a bare FastAPI endpoint, and a burst, in one run.

Starts a redis-server and, one after the other, the Procfile's `web` line serving `bot.app:app`
and the same line serving `bench.bare_app:app` (same uvicorn flags). The server is pinned to
CPU 0, the load generator and redis-server to CPU 1 (when the machine has two). Each round runs,
interleaved: bare, `/webhook` queued (a signed `issue_comment` with `/golden-path run`, GitHub's
own example payload, a new delivery id per request), `/webhook` ignored (the same comment
`edited`). Prints req/s and p50/p99 per target (median [min-max] over rounds) and the ratios.
Then a burst of N deliveries at 64 connections: wall time, slowest answer, and the queued events
counted in Redis afterwards (exactly one per 202, none for anything else).

    .venv/bin/python bench/webhook_throughput.py [--rounds 5] [--seconds 10] [--burst 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from sandbox import webhook_delivery, webhooks  # noqa: E402
from sandbox.redis_server import RedisServer, free_port  # noqa: E402
from sandbox.stack import procfile_lines, wait_until  # noqa: E402

SECRET = b"bench-secret"
SERVER_CPU, LOAD_CPU = 0, 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    pinned = len(os.sched_getaffinity(0)) >= 2
    redis_server = RedisServer()
    redis_server.start()
    if pinned:
        os.sched_setaffinity(0, {LOAD_CPU})
        _pin(redis_server, LOAD_CPU)
    client = redis.Redis.from_url(redis_server.url)
    bodies = {"queued": _body("created"), "ignored": _body("edited")}
    apps = {"bare": "bench.bare_app:app", "queued": "bot.app:app", "ignored": "bot.app:app"}
    figures: dict[str, list[load.Result]] = {name: [] for name in apps}
    try:
        for _ in range(args.rounds):
            for name, app in apps.items():
                body = bodies["ignored" if name == "ignored" else "queued"]
                with _server(app, redis_server.url, pinned) as server:
                    _run(_load(server.port, body, args.connections, 0.5))  # warm up
                    client.flushdb()
                    cpu = server.cpu_seconds()
                    result = _run(_load(server.port, body, args.connections, args.seconds))
                    result.server_cpu = server.cpu_seconds() - cpu
                figures[name].append(result)
                _check_queued(client, name, result)
        _report(figures, args)
        with _server("bot.app:app", redis_server.url, pinned) as server:
            burst = _run(_load(server.port, bodies["queued"], 64, None, args.burst))
        _report_burst(client, burst)
    finally:
        redis_server.stop()
    return 0


def _run(coroutine: Any) -> load.Result:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _body(action: str) -> bytes:
    payload = webhooks.comment_on_pr(
        "octo-org/shop", 12, "/golden-path run", installation_id=77, base_url="http://gh"
    )
    payload["action"] = action
    return webhook_delivery.json_body(payload)


async def _load(
    port: int, body: bytes, connections: int, seconds: float | None, total: int | None = None
) -> load.Result:
    headers = webhook_delivery.delivery_headers("issue_comment", body, SECRET)
    headers.pop("X-GitHub-Delivery")
    requests = load.unique_requests(f"127.0.0.1:{port}", "/webhook", body, headers)
    return await load.run(port, requests, connections=connections, seconds=seconds, total=total)


class _server:
    """The Procfile's `web` line serving `app`, pinned; yields its port once /healthz-ready."""

    def __init__(self, app: str, redis_url: str, pinned: bool) -> None:
        self.app, self.redis_url, self.pinned = app, redis_url, pinned

    def __enter__(self) -> _server:
        self.port = port = free_port()
        line = procfile_lines()["web"].replace("bot.app:app", self.app)
        if self.pinned:
            line = f"exec taskset -c {SERVER_CPU} {line}"
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PORT": str(port),
            "REDIS_URL": self.redis_url,
            "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
        }
        self.proc = subprocess.Popen(
            ["bash", "-c", line],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _ready(port), timeout=30, interval=0.05, what=f"{self.app} up")
        return self

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=15)


def _ready(port: int) -> bool:
    try:
        return httpx.post(f"http://127.0.0.1:{port}/webhook", timeout=1).status_code > 0
    except httpx.HTTPError:
        return False


def _pin(server: RedisServer, cpu: int) -> None:
    process = getattr(server, "_process", None)
    if process is not None:
        subprocess.run(shlex.split(f"taskset -p -c {cpu} {process.pid}"), capture_output=True)


def _check_queued(client: redis.Redis, name: str, result: load.Result) -> None:
    queued = int(client.llen("events"))
    if name == "queued" and queued != result.statuses[202]:
        print(f"!! {result.statuses[202]} answered 202 but {queued} events queued")
    if name == "ignored" and queued:
        print(f"!! {queued} events queued for ignored deliveries")
    client.flushdb()


def _report(figures: dict[str, list[load.Result]], args: argparse.Namespace) -> None:
    print(
        f"/webhook vs bare FastAPI: {args.rounds} interleaved rounds of {args.seconds:g} s, "
        f"{args.connections} connections, body {len(_body('created'))} bytes"
    )
    rates = {}
    for name, results in figures.items():
        rate = [r.rate for r in results]
        p50 = [r.percentile(50) * 1000 for r in results]
        p99 = [r.percentile(99) * 1000 for r in results]
        statuses = sum((r.statuses for r in results), start=load.Counter())
        errors = sum(r.errors for r in results)
        cpu = [r.server_cpu / max(1, len(r.latencies)) * 1e6 for r in results]
        rates[name] = rate
        print(
            f"  {name:<8} {_spread(rate, '.0f')} req/s  p50 {_spread(p50, '.1f')} ms  "
            f"p99 {_spread(p99, '.1f')} ms  server CPU {_spread(cpu, '.0f')} us/req  "
            f"statuses {dict(statuses)} errors {errors}"
        )
    for name in ("queued", "ignored"):
        ratios = [a / b for a, b in zip(rates[name], rates["bare"], strict=True)]
        print(f"  {name}/bare  {_spread(ratios, '.2f')}x (per round)")


def _report_burst(client: redis.Redis, burst: load.Result) -> None:
    time.sleep(0.2)
    queued = int(client.llen("events"))
    expected = (b"golden-path:delivery:", b"events")
    others = [k for k in client.scan_iter() if not k.startswith(expected)]
    print(
        f"burst: {len(burst.latencies)} deliveries at 64 connections in {burst.wall:.2f} s wall, "
        f"slowest answer {max(burst.latencies) * 1000:.0f} ms, "
        f"p99 {burst.percentile(99) * 1000:.0f} ms, "
        f"statuses {dict(burst.statuses)}, connection errors {burst.errors}"
    )
    print(
        f"  queued events counted afterwards: {queued} (202s: {burst.statuses[202]}); "
        f"other keys: {others}"
    )


def _spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


if __name__ == "__main__":
    sys.exit(main())
