"""POST /webhook and GET /healthz: the real app, a real redis-server, a recording queue."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.app import app_settings, create_app, delivery_store, event_queue
from bot.core.events import CommentEvent, Event, event_from_dict
from bot.settings import Settings, get_settings
from bot.state.deliveries import KEY_PREFIX, DeliveryStore, redis_client
from bot.state.event_queue import QueueUnavailable, default_queue
from tests.factories import comment_event

SECRET = "webhook-secret-for-tests"
MIB = 1024 * 1024


class RecordingQueue:
    """The queue seam: collects events, or refuses them like a dead broker."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.failing = False

    def enqueue(self, event: Event) -> None:
        if self.failing:
            raise QueueUnavailable("broker down (test)")
        self.events.append(event)


def settings_for(redis_url: str, secret: str | None = SECRET) -> Settings:
    values: dict[str, Any] = {"REDIS_URL": redis_url}
    if secret is not None:
        values["GITHUB_WEBHOOK_SECRET"] = secret
    return Settings(**values)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pr_comment(body: str = "/golden-path run auth") -> dict[str, Any]:
    """A minimal issue_comment created on a pull request, shaped as GitHub sends it."""
    return {
        "action": "created",
        "installation": {"id": 77},
        "repository": {"full_name": "octo-org/shop"},
        "sender": {"login": "octocat", "type": "User"},
        "issue": {
            "number": 12,
            "state": "open",
            "pull_request": {"url": "https://api.github.com/repos/octo-org/shop/pulls/12"},
        },
        "comment": {"id": 555, "body": body, "user": {"login": "octocat", "type": "User"}},
    }


def headers_for(
    body: bytes,
    *,
    event: str | None = "issue_comment",
    delivery: str | None = None,
    signature: str | None = "sign",
) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    headers["X-GitHub-Delivery"] = delivery or str(uuid.uuid4())
    if event is not None:
        headers["X-GitHub-Event"] = event
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return headers


class Harness:
    def __init__(self, client: TestClient, queue: RecordingQueue, redis_url: str) -> None:
        self.client, self.queue = client, queue
        self.redis = redis.Redis.from_url(redis_url)

    def post(self, payload: Any = None, *, body: bytes | None = None, **kwargs: Any) -> Any:
        raw = body if body is not None else json.dumps(payload).encode()
        headers = headers_for(raw, **kwargs)
        self.last_delivery = headers["X-GitHub-Delivery"]
        return self.client.post("/webhook", content=raw, headers=headers)

    def recorded(self, delivery_id: str) -> bool:
        return bool(self.redis.exists(KEY_PREFIX + delivery_id))


@pytest.fixture
def harness(redis_url: str) -> Iterator[Harness]:
    queue = RecordingQueue()
    store = DeliveryStore(redis_client(redis_url))
    app = create_app(settings_for(redis_url), store=store, queue=queue)
    with TestClient(app) as client:
        yield Harness(client, queue, redis_url)


# ---- refused: nothing queued, nothing recorded ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "signature", "status"),
    [
        ("unsigned", None, 401),
        ("wrong signature", "sha256=" + "0" * 64, 401),
        ("signed with another secret", sign(b"{}", "other"), 401),
        ("garbage signature", "hello", 401),
    ],
)
def test_bad_signatures_are_401(harness: Harness, name: str, signature: str, status: int) -> None:
    response = harness.post(pr_comment(), signature=signature)
    assert response.status_code == status
    assert harness.queue.events == []
    assert not harness.recorded(harness.last_delivery)


def test_no_secret_configured_refuses_every_delivery(redis_url: str) -> None:
    queue = RecordingQueue()
    app = create_app(settings_for(redis_url, secret=None), queue=queue)
    body = json.dumps(pr_comment()).encode()
    with TestClient(app) as client:
        response = client.post("/webhook", content=body, headers=headers_for(body))
    assert response.status_code == 401
    assert queue.events == []


@pytest.mark.parametrize(
    ("name", "body", "event"),
    [
        ("not json", b"payload=%7B%7D", "issue_comment"),
        ("json but not an object", b"[1, 2, 3]", "issue_comment"),
        ("missing X-GitHub-Event", json.dumps(pr_comment()).encode(), None),
        (
            "comment body missing",
            json.dumps({**pr_comment(), "comment": {"id": 1, "user": {"login": "a"}}}).encode(),
            "issue_comment",
        ),
        (
            "installation id of the wrong type",
            json.dumps({**pr_comment(), "installation": {"id": "77"}}).encode(),
            "issue_comment",
        ),
    ],
)
def test_malformed_deliveries_are_400(
    harness: Harness, name: str, body: bytes, event: str | None
) -> None:
    response = harness.post(body=body, event=event)
    assert response.status_code == 400
    assert harness.queue.events == []
    assert not harness.recorded(harness.last_delivery)


def test_oversize_body_is_413(harness: Harness) -> None:
    body = b" " * (26 * MIB)
    response = harness.post(body=body)
    assert response.status_code == 413
    assert harness.queue.events == []


def test_oversize_chunked_body_without_content_length_is_413(harness: Harness) -> None:
    chunks_sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal chunks_sent
        for _ in range(26):
            chunks_sent += 1
            yield b" " * MIB

    headers = headers_for(b"", event="issue_comment")
    headers.pop("Content-Length", None)
    response = harness.client.post("/webhook", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert harness.queue.events == []


def test_body_just_under_the_cap_is_read(harness: Harness) -> None:
    payload = json.dumps({"zen": "Design for failure."}).encode()
    body = payload + b" " * (25 * MIB - len(payload))
    response = harness.post(body=body, event="ping")
    assert response.status_code == 200


def call_asgi(app: FastAPI, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> Any:
    """Drive the ASGI app by hand, so Content-Length can lie about what is streamed."""
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received < len(messages):
            received += 1
            return messages[received - 1]
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhook",
        "raw_path": b"/webhook",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, received


def test_content_length_that_lies_is_caught_while_reading(redis_url: str) -> None:
    queue = RecordingQueue()
    app = create_app(settings_for(redis_url), queue=queue)
    chunks = [b" " * MIB for _ in range(40)]
    headers = [
        (b"content-length", b"100"),  # claims 100 bytes, streams 40 MiB
        (b"x-github-event", b"issue_comment"),
        (b"x-github-delivery", str(uuid.uuid4()).encode()),
        (b"x-hub-signature-256", sign(b"".join(chunks)).encode()),
    ]
    status, received = call_asgi(app, headers, chunks)
    assert status == 413
    assert received <= 27  # refused as soon as the cap was passed, not after 40 MiB
    assert queue.events == []


def test_content_length_over_the_cap_is_refused_before_reading(redis_url: str) -> None:
    app = create_app(settings_for(redis_url), queue=RecordingQueue())
    headers = [(b"content-length", str(26 * MIB).encode()), (b"x-github-event", b"ping")]
    status, received = call_asgi(app, headers, [b"{}"])
    assert (status, received) == (413, 0)


# ---- accepted, ignored, repeated ------------------------------------------------------------


def test_valid_pull_request_comment_is_queued(harness: Harness) -> None:
    response = harness.post(pr_comment())
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "kind": "comment"}
    assert harness.queue.events == [
        CommentEvent(
            delivery_id=harness.last_delivery,
            installation_id=77,
            repo="octo-org/shop",
            action="created",
            sender="octocat",
            number=12,
            is_pull_request=True,
            issue_state="open",
            comment_id=555,
            body="/golden-path run auth",
            author="octocat",
            author_type="User",
        )
    ]
    assert harness.recorded(harness.last_delivery)


def test_duplicate_delivery_is_done_once(harness: Harness) -> None:
    delivery = str(uuid.uuid4())
    first = harness.post(pr_comment(), delivery=delivery)
    second = harness.post(pr_comment(), delivery=delivery)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {"status": "duplicate"}
    assert len(harness.queue.events) == 1


def test_ping_is_answered_and_ignored(harness: Harness) -> None:
    response = harness.post({"zen": "Speak like a human.", "hook_id": 1}, event="ping")
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert harness.queue.events == []
    assert harness.recorded(harness.last_delivery)  # every verified delivery is de-duplicated


@pytest.mark.parametrize(
    ("name", "event", "payload"),
    [
        ("edited comment", "issue_comment", {**pr_comment(), "action": "edited"}),
        ("labeled pull request", "pull_request", {"action": "labeled", "installation": {"id": 1}}),
        ("push", "push", {"ref": "refs/heads/main", "installation": {"id": 1}}),
        (
            "no installation",
            "issue_comment",
            {k: v for k, v in pr_comment().items() if k != "installation"},
        ),
    ],
)
def test_ignored_events_are_200_and_nothing_queued(
    harness: Harness, name: str, event: str, payload: dict[str, Any]
) -> None:
    response = harness.post(payload, event=event)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert harness.queue.events == []


# ---- Redis or the broker down ---------------------------------------------------------------


def test_redis_down_is_503_for_webhook_and_healthz_then_recovers(
    redis_server_factory: Callable[[], Any],
) -> None:
    server = redis_server_factory()
    queue = RecordingQueue()
    app = create_app(settings_for(server.url), queue=queue)  # store built lazily from settings
    body = json.dumps(pr_comment()).encode()
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"redis": "ok"}
        server.stop()
        started = time.monotonic()
        assert client.get("/healthz").status_code == 503
        response = client.post("/webhook", content=body, headers=headers_for(body))
        assert response.status_code == 503
        ping = json.dumps({"zen": "hi"}).encode()
        response = client.post("/webhook", content=ping, headers=headers_for(ping, event="ping"))
        assert response.status_code == 503
        assert time.monotonic() - started < 5  # well inside GitHub's 10 s
        assert queue.events == []
        server.start()
        assert client.get("/healthz").status_code == 200
        response = client.post("/webhook", content=body, headers=headers_for(body))
        assert response.status_code == 202
        assert len(queue.events) == 1


def test_queue_failure_is_503_and_the_redelivery_succeeds(harness: Harness) -> None:
    delivery = str(uuid.uuid4())
    harness.queue.failing = True
    response = harness.post(pr_comment(), delivery=delivery)
    assert response.status_code == 503
    assert not harness.recorded(delivery)  # released: GitHub's redelivery is not a "repeat"
    harness.queue.failing = False
    response = harness.post(pr_comment(), delivery=delivery)
    assert response.status_code == 202
    assert len(harness.queue.events) == 1


def test_healthz_ok(harness: Harness) -> None:
    response = harness.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"redis": "ok"})


# ---- wiring ---------------------------------------------------------------------------------


def test_importing_bot_app_reads_no_environment_and_opens_nothing() -> None:
    code = (
        "import os, socket\n"
        "def refuse(*a, **k): raise AssertionError('connection at import')\n"
        "socket.socket.connect = refuse\n"
        "os.environ.clear()\n"
        "from bot.app import app\n"
        "from bot.settings import get_settings\n"
        "assert get_settings.cache_info().currsize == 0, 'settings read at import'\n"
        "print(type(app).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "FastAPI"


def test_module_app_builds_from_the_environment_on_first_request(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        app = create_app()
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            body = json.dumps({"zen": "hi"}).encode()
            response = client.post(
                "/webhook", content=body, headers=headers_for(body, event="ping")
            )
            assert response.status_code == 200
    finally:
        get_settings.cache_clear()


def test_dependency_overrides_replace_the_wiring(redis_url: str) -> None:
    from bot.app import app

    queue = RecordingQueue()
    app.dependency_overrides[app_settings] = lambda: settings_for(redis_url)
    app.dependency_overrides[delivery_store] = lambda: DeliveryStore(redis_client(redis_url))
    app.dependency_overrides[event_queue] = lambda: queue
    try:
        body = json.dumps(pr_comment()).encode()
        with TestClient(app) as client:
            response = client.post("/webhook", content=body, headers=headers_for(body))
        assert response.status_code == 202
        assert len(queue.events) == 1
    finally:
        app.dependency_overrides.clear()


# ---- the real Celery publisher ---------------------------------------------------------------


def sample_event() -> CommentEvent:
    return comment_event(delivery_id="d-celery", number=3, comment_id=4, body="/golden-path status")


def test_celery_queue_publishes_the_task_by_name_to_events(redis_url: str) -> None:
    broker = redis_url.rsplit("/", 1)[0] + "/3"
    client = redis.Redis.from_url(broker)
    client.delete("events")
    default_queue(broker).enqueue(sample_event())
    messages = client.lrange("events", 0, -1)
    assert len(messages) == 1
    message = json.loads(messages[0])
    assert message["headers"]["task"] == "golden_path.handle_event"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert args == []
    assert kwargs == {"event": sample_event().to_dict()}
    assert event_from_dict(kwargs["event"]) == sample_event()


def test_celery_queue_fails_fast_when_the_broker_is_down(
    redis_server_factory: Callable[[], Any],
) -> None:
    server = redis_server_factory()
    server.stop()  # a port where nothing listens any more
    started = time.monotonic()
    with pytest.raises(QueueUnavailable):
        default_queue(server.url).enqueue(sample_event())
    assert time.monotonic() - started < 3
