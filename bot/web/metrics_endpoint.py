"""`GET /metrics`: Prometheus text; with `GOLDEN_PATH_METRICS_TOKEN` set, only for its bearer."""

from __future__ import annotations

import hmac
import re

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from bot.telemetry.collector import WebMetrics

UNVERIFIED = "unverified"
_EVENT_NAME = re.compile(r"[a-z_]{1,50}")


async def serve(request: Request) -> Response:
    wiring = request.app.state.wiring
    token = wiring.settings().metrics_token
    if token is not None and token.get_secret_value():
        expected = f"Bearer {token.get_secret_value()}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse(
                "unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
    metrics: WebMetrics = wiring.metrics()
    body = await run_in_threadpool(generate_latest, metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def count_delivery(request: Request, event: str | None, status: int) -> None:
    """In-process, so the webhook answer costs no extra Redis trip. Only a verified delivery's
    event names a label (an unsigned request could otherwise invent labels without end)."""
    name = event if event and _EVENT_NAME.fullmatch(event) else UNVERIFIED
    request.app.state.wiring.metrics().deliveries.labels(name, str(status)).inc()
