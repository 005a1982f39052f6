"""The web process: `POST /webhook`, `GET /healthz`, `/metrics` and the dashboard. It translates;
it decides nothing.

`uvicorn bot.app:app` imports this module, so nothing here reads the environment or opens a
connection at import: settings and the delivery intake are built at start-up or on first use (or
injected through `create_app(...)`).

A delivery goes: size cap (413) -> `webhook.parse_delivery` (401/400) -> `events.from_delivery`
(400 when malformed) -> `intake.admit` (one Redis round trip: record the delivery id and, for an
event we act on, queue its task message; repeat 200; Redis down 503) -> ignored (`None`, ping
included) 200, or queued 202. Every verified, well-formed delivery is recorded, ignored ones too:
contract §2's "Redis unreachable: 503" then holds for every delivery, and a repeat is answered the
same way whatever its event.

The webhook path stays on the event loop (async Redis, no thread hop) except for bodies over
`INLINE_PARSE_BYTES`, whose parsing would stall every other request. `POST /webhook` is answered
before FastAPI's middleware stack (`WebApp.__call__`): the stack's layers (error pages, exception
handlers, body limit, sessions, the router's scan) cost more than the webhook's own work, and the
endpoint needs none of them; an unexpected error still answers 500 as that stack would.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from bot.core import events
from bot.core.events import Event
from bot.core.webhook import (
    MAX_BODY_BYTES,
    Delivery,
    MalformedDelivery,
    PayloadTooLarge,
    SignatureError,
    parse_delivery,
)
from bot.settings import Settings, get_settings
from bot.state.deliveries import (
    DeliveryIntake,
    IntakeUnavailable,
    async_redis_client,
    redis_client,
)
from bot.state.event_queue import event_message
from bot.state.run_index import RunIndex
from bot.state.run_records import RunRecords
from bot.telemetry import logs, trace
from bot.telemetry.collector import WebMetrics
from bot.telemetry.metrics import RedisMetrics
from bot.web import auth, dashboard, metrics_endpoint

log = logging.getLogger("golden_path.web")


# Parsing a body this large takes long enough to stall the loop: it goes to a thread instead.
INLINE_PARSE_BYTES = 512 * 1024
WEBHOOK_PATH = "/webhook"


class Intake(Protocol):
    """Record a delivery and queue its event's message in one step (see `DeliveryIntake`)."""

    async def admit(self, delivery_id: str, message: bytes | None) -> bool: ...
    async def ping(self) -> bool: ...


class _Wiring:
    """Settings and intake: the injected ones, or built once on first use."""

    def __init__(self, settings: Settings | None, intake: Intake | None) -> None:
        self._settings, self._intake = settings, intake
        self._built: DeliveryIntake | None = None
        self._secret: bytes | None = None
        self._records: RunRecords | None = None
        self._metrics: WebMetrics | None = None
        self._redis: Any = None
        self._sign_in: auth.SignIn | bool | None = False  # False: not built yet
        self._lock = threading.Lock()

    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = get_settings()
            return self._settings

    def intake(self) -> Intake:
        if self._intake is None:  # only ever called on the event loop: no lock needed
            self._built = DeliveryIntake(async_redis_client(self.settings().redis_url))
            self._intake = self._built
        return self._intake

    def webhook_secret(self) -> bytes | None:
        if self._secret is None:
            self._secret = self.settings().webhook_secret()
        return self._secret

    async def close(self) -> None:
        if self._built is not None:
            await self._built.aclose()
            self._built = self._intake = None

    def records(self) -> RunRecords:
        url = self.settings().redis_url
        with self._lock:
            if self._records is None:
                self._records = RunRecords(redis_client(url))
            return self._records

    def metrics(self) -> WebMetrics:
        url = self.settings().redis_url
        with self._lock:
            if self._metrics is None:
                self._metrics = WebMetrics(redis_client(url))
            return self._metrics

    def redis(self) -> Any:
        """One client for the dashboard's reads (run index, environment queues, sessions)."""
        url = self.settings().redis_url
        with self._lock:
            if self._redis is None:
                self._redis = redis_client(url)
            return self._redis

    def index(self) -> RunIndex:
        return RunIndex(self.redis())

    def sign_in(self) -> auth.SignIn | None:
        """Sign-in with GitHub, or None when its OAuth client or session secret is not set."""
        settings, client = self.settings(), self.redis()
        with self._lock:
            if self._sign_in is False:
                observe = _observer(RedisMetrics(client))
                self._sign_in = (
                    auth.SignIn(settings, client, observe) if auth.enabled(settings) else None
                )
            return self._sign_in if isinstance(self._sign_in, auth.SignIn) else None


def _observer(metrics: RedisMetrics) -> Any:
    """The dashboard's GitHub requests (user token) counted like the workers' ones."""

    async def observe(method: str, path: str, status: int | str, remaining: str | None) -> None:
        await run_in_threadpool(metrics.github_response, None, method, path, status, remaining)

    return observe


def create_app(settings: Settings | None = None, *, intake: Intake | None = None) -> FastAPI:
    """The web app; whatever is not passed is built from settings on the first request."""
    wiring = _Wiring(settings, intake)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """Logging is set up when the server starts, not at import (settings come first)."""
        configured = wiring.settings()
        logs.configure(configured.log_format, configured.log_level, configured.secret_values())
        wiring.intake()  # the client is built now (it connects on first use)
        wiring.metrics()
        # Everything alive now lives as long as the process: keep it out of the collector's
        # full collections, which otherwise pause every request for tens of milliseconds.
        gc.collect()
        gc.freeze()
        yield
        await wiring.close()

    app = WebApp(
        title="Golden Path bot", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.wiring = wiring
    # Also a route, for whatever the fast path in `WebApp.__call__` leaves to the stack (a
    # root path): a plain Starlette one, without FastAPI's dependency solving and exit stack.
    app.add_route(WEBHOOK_PATH, receive_webhook, methods=["POST"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/metrics", metrics_endpoint.serve, methods=["GET"])
    dashboard.mount(app)  # /, /runs/{id} (the check run's details_url), /repos/..., sign-in
    app.add_middleware(auth.LazySessions, settings=wiring.settings)
    return app


class WebApp(FastAPI):
    """FastAPI, with `POST /webhook` answered directly (see the module's docstring)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == WEBHOOK_PATH
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            scope["app"] = self  # what `request.app` reads, as Starlette sets it
            try:
                response = await receive_webhook(Request(scope, receive))
            except Exception:
                # As Starlette's ServerErrorMiddleware: a plain 500, and the error to the server,
                # which logs it. Nothing was sent yet: the answer is built before it is sent.
                await PlainTextResponse("Internal Server Error", status_code=500)(
                    scope, receive, send
                )
                raise
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def receive_webhook(request: Request) -> Response:
    wiring: _Wiring = request.app.state.wiring
    verified: str | None = None
    try:
        body = await _read_capped(request)
        secret = wiring.webhook_secret()
        if len(body) > INLINE_PARSE_BYTES:
            delivery, event = await run_in_threadpool(_classify, request.headers, body, secret)
        else:
            delivery, event = _classify(request.headers, body, secret)
        verified = delivery.event
        answer = await _accept(delivery, event, wiring.intake())
    except PayloadTooLarge:
        answer = _answer(413, {"error": "payload too large"}, request.headers)
    except SignatureError as exc:
        answer = _answer(401, {"error": str(exc)}, request.headers)
    except MalformedDelivery as exc:
        answer = _answer(400, {"error": str(exc)}, request.headers)
    metrics_endpoint.count_delivery(request, verified, answer.status_code)
    return answer


async def _accept(delivery: Delivery, event: Event | None, intake: Intake) -> JSONResponse:
    ids = {"x-github-delivery": delivery.id, "x-github-event": delivery.event}
    action = event.action if event is not None else delivery.payload.get("action")
    _bind_trace(delivery)
    message = None if event is None else event_message(event, trace.current())
    try:
        first = await intake.admit(delivery.id, message)
    except IntakeUnavailable as exc:
        log.error("redis unavailable: %s", exc, extra={"delivery_id": delivery.id})
        return _answer(503, {"error": "redis unavailable"}, ids, action=action)
    if not first:
        return _answer(200, {"status": "duplicate"}, ids, action=action)
    if event is None:
        return _answer(200, {"status": "ignored", "event": delivery.event}, ids, action=action)
    return _answer(202, {"status": "queued", "kind": event.kind}, ids, action=action)


async def healthz(request: Request) -> JSONResponse:
    if await request.app.state.wiring.intake().ping():
        return JSONResponse({"redis": "ok"})
    return JSONResponse({"redis": "unavailable"}, status_code=503)


async def _read_capped(request: Request) -> bytes:
    """The raw body, refused as soon as it is known to exceed the cap (header or bytes read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Content-Length {declared}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:  # whatever Content-Length claimed
            raise PayloadTooLarge(f"over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _classify(
    headers: Mapping[str, str], body: bytes, secret: bytes | None
) -> tuple[Delivery, Event | None]:
    delivery = parse_delivery(headers, body, secret)
    return delivery, events.from_delivery(delivery)


def _bind_trace(delivery: Delivery) -> None:
    """The delivery's ids for every log line of this request and, through the task's headers,
    of the events and runs workers (`bot.telemetry.trace`)."""
    repository = delivery.payload.get("repository")
    installation = delivery.payload.get("installation")
    trace.adopt(
        {
            "delivery_id": delivery.id,
            "repo": repository.get("full_name") if isinstance(repository, dict) else None,
            "installation_id": installation.get("id") if isinstance(installation, dict) else None,
        }
    )


def _answer(
    status: int, content: dict[str, Any], headers: Mapping[str, str], action: Any = None
) -> JSONResponse:
    """The response, and one structured log line: ids and outcome only, never the body."""
    fields = {  # header values may be unverified: cut short
        "delivery_id": (headers.get("x-github-delivery") or "")[:128] or None,
        "github_event": (headers.get("x-github-event") or "")[:64] or None,
        "action": action if isinstance(action, str) else None,
        "status_code": status,
    }
    level = logging.WARNING if status in (400, 401, 413) else logging.INFO
    outcome = content.get("status") or content.get("error")
    log.log(level, "webhook %s: %s", status, outcome, extra=fields)
    return JSONResponse(content, status_code=status)


app = create_app()
