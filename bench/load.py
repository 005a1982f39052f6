"""A small HTTP/1.1 load generator: asyncio over raw keep-alive sockets, no external tools.

httpx spends more CPU per request than the server under test, so this client writes prebuilt
request bytes and reads only the status line and `Content-Length`. Every request carries its own
`X-GitHub-Delivery` (the signature covers the body only, as GitHub's does), so de-duplication
never short-circuits a measured request.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Result:
    """What one load run saw: statuses, per-request latencies (s), wall time and errors."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    server_cpu: float = 0.0  # filled in by the caller when it can measure it

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def request_bytes(
    host: str, path: str, body: bytes, headers: dict[str, str], delivery_id: str
) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"X-GitHub-Delivery: {delivery_id}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def unique_requests(host: str, path: str, body: bytes, headers: dict[str, str]) -> Iterator[bytes]:
    prefix = uuid.uuid4().hex[:12]
    for n in itertools.count():
        yield request_bytes(host, path, body, headers, f"{prefix}-{n:08d}")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    port: int,
    next_request: Callable[[], bytes | None],
    result: Result,
    stop_at: float | None,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while stop_at is None or time.perf_counter() < stop_at:
            request = next_request()
            if request is None:
                return
            started = time.perf_counter()
            writer.write(request)
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] += 1
    finally:
        writer.close()


async def run(
    port: int,
    requests: Iterator[bytes],
    *,
    connections: int,
    seconds: float | None = None,
    total: int | None = None,
) -> Result:
    """Send `requests` over `connections` keep-alive sockets for `seconds`, or `total` of them."""
    result = Result()
    sent = itertools.count()

    def next_request() -> bytes | None:
        if total is not None and next(sent) >= total:
            return None
        return next(requests)

    started = time.perf_counter()
    stop_at = started + seconds if seconds is not None else None
    await asyncio.gather(
        *(_connection(port, next_request, result, stop_at) for _ in range(connections))
    )
    result.wall = time.perf_counter() - started
    return result
