"""The web process: `POST /webhook`, `GET /healthz` and the run page. It translates; it decides
nothing.

`uvicorn bot.app:app` imports this module, so nothing here reads the environment or opens a
connection at import: settings, the delivery store and the queue are built on first use (or
injected through `create_app(...)` / `app.dependency_overrides`).

A delivery goes: size cap (413) -> `webhook.parse_delivery` (401/400) -> `events.from_delivery`
(400 when malformed) -> `store.first_time` (repeat 200; Redis down 503) -> ignored (`None`, ping
included) 200, or `queue.enqueue` (202; broker down: release the de-dup key, 503). Every verified,
well-formed delivery is recorded, ignored ones too: contract §2's "Redis unreachable: 503" then
holds for every delivery, and a repeat is answered the same way whatever its event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

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
from bot.state.deliveries import DeliveryStore, StoreUnavailable, redis_client
from bot.state.event_queue import QueueUnavailable, default_queue
from bot.state.run_index import RunIndex
from bot.state.run_records import RunRecords
from bot.telemetry import logs, trace
from bot.telemetry.collector import WebMetrics
from bot.telemetry.metrics import RedisMetrics
from bot.web import auth, dashboard, metrics_endpoint

log = logging.getLogger("golden_path.web")


class EventQueue(Protocol):
    def enqueue(self, event: Event) -> None: ...


class Deliveries(Protocol):
    def first_time(self, delivery_id: str) -> bool: ...
    def release(self, delivery_id: str) -> None: ...
    def ping(self) -> bool: ...


class _Wiring:
    """Settings, store and queue: the injected ones, or built once on first use."""

    def __init__(
        self, settings: Settings | None, store: Deliveries | None, queue: EventQueue | None
    ) -> None:
        self._settings, self._store, self._queue = settings, store, queue
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

    def store(self) -> Deliveries:
        url = self.settings().redis_url
        with self._lock:
            if self._store is None:
                self._store = DeliveryStore(redis_client(url))
            return self._store

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

    def queue(self) -> EventQueue:
        url = self.settings().redis_url
        with self._lock:
            if self._queue is None:
                self._queue = default_queue(url)
            return self._queue


def _observer(metrics: RedisMetrics) -> Any:
    """The dashboard's GitHub requests (user token) counted like the workers' ones."""

    async def observe(method: str, path: str, status: int | str, remaining: str | None) -> None:
        await run_in_threadpool(metrics.github_response, None, method, path, status, remaining)

    return observe


def app_settings(request: Request) -> Settings:
    return request.app.state.wiring.settings()


def delivery_store(request: Request) -> Deliveries:
    return request.app.state.wiring.store()


def event_queue(request: Request) -> EventQueue:
    return request.app.state.wiring.queue()


def create_app(
    settings: Settings | None = None,
    *,
    store: Deliveries | None = None,
    queue: EventQueue | None = None,
) -> FastAPI:
    """The web app; whatever is not passed is built from settings on the first request."""
    wiring = _Wiring(settings, store, queue)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """Logging is set up when the server starts, not at import (settings come first)."""
        configured = wiring.settings()
        logs.configure(configured.log_format, configured.log_level, configured.secret_values())
        yield

    app = FastAPI(
        title="Golden Path bot", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.wiring = wiring
    app.add_api_route("/webhook", receive_webhook, methods=["POST"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/metrics", metrics_endpoint.serve, methods=["GET"])
    dashboard.mount(app)  # /, /runs/{id} (the check run's details_url), /repos/..., sign-in
    app.add_middleware(auth.LazySessions, settings=wiring.settings)
    return app


async def receive_webhook(
    request: Request,
    settings: Settings = Depends(app_settings),  # noqa: B008 (FastAPI's dependency idiom)
    store: Deliveries = Depends(delivery_store),  # noqa: B008
    queue: EventQueue = Depends(event_queue),  # noqa: B008
) -> JSONResponse:
    verified: str | None = None
    try:
        body = await _read_capped(request)
        delivery, event = await run_in_threadpool(
            _classify, request.headers, body, settings.webhook_secret()
        )
        verified = delivery.event
        answer = await _accept(delivery, event, store, queue)
    except PayloadTooLarge:
        answer = _answer(413, {"error": "payload too large"}, request.headers)
    except SignatureError as exc:
        answer = _answer(401, {"error": str(exc)}, request.headers)
    except MalformedDelivery as exc:
        answer = _answer(400, {"error": str(exc)}, request.headers)
    metrics_endpoint.count_delivery(request, verified, answer.status_code)
    return answer


async def _accept(
    delivery: Delivery, event: Event | None, store: Deliveries, queue: EventQueue
) -> JSONResponse:
    ids = {"x-github-delivery": delivery.id, "x-github-event": delivery.event}
    action = delivery.payload.get("action")
    _bind_trace(delivery)
    try:
        if not await run_in_threadpool(store.first_time, delivery.id):
            return _answer(200, {"status": "duplicate"}, ids, action=action)
    except StoreUnavailable as exc:
        log.error("redis unavailable: %s", exc, extra={"delivery_id": delivery.id})
        return _answer(503, {"error": "redis unavailable"}, ids, action=action)
    if event is None:
        return _answer(200, {"status": "ignored", "event": delivery.event}, ids, action=action)
    try:
        await run_in_threadpool(queue.enqueue, event)
    except QueueUnavailable as exc:
        log.error("queue unavailable: %s", exc, extra={"delivery_id": delivery.id})
        await _release(store, delivery.id)
        return _answer(503, {"error": "queue unavailable"}, ids, action=event.action)
    except BaseException:
        await _release(store, delivery.id)
        raise
    return _answer(202, {"status": "queued", "kind": event.kind}, ids, action=event.action)


async def healthz(store: Deliveries = Depends(delivery_store)) -> JSONResponse:  # noqa: B008
    if await run_in_threadpool(store.ping):
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


async def _release(store: Deliveries, delivery_id: str) -> None:
    try:
        await run_in_threadpool(store.release, delivery_id)
    except StoreUnavailable as exc:
        # The key expires on its own; until then a redelivery is taken for a repeat.
        log.error("could not release delivery: %s", exc, extra={"delivery_id": delivery_id})


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
