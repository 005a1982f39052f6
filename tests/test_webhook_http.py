"""POST /webhook and GET /healthz: the real app, a real redis-server, events read back from it."""

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

from bot.app import create_app
from bot.core.events import CommentEvent, Event, event_from_dict
from bot.settings import Settings, get_settings
from bot.state.deliveries import KEY_PREFIX, DeliveryIntake, async_redis_client
from tests.factories import comment_event

SECRET = "webhook-secret-for-tests"
MIB = 1024 * 1024


def queued_events(client: redis.Redis, queue: str = "events") -> list[Event]:
    """The events on a queue, oldest first, decoded as the Celery worker decodes them."""
    events = []
    for raw in reversed(client.lrange(queue, 0, -1)):  # LPUSH: newest first
        message = json.loads(raw)
        assert message["headers"]["task"] == "golden_path.handle_event"
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert args == []
        events.append(event_from_dict(kwargs["event"]))
    return events


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
    """The app with a real intake on the session's redis-server, on a queue of its own."""

    def __init__(self, client: TestClient, redis_url: str, queue: str) -> None:
        self.client, self.queue = client, queue
        self.redis = redis.Redis.from_url(redis_url)

    @property
    def events(self) -> list[Event]:
        return queued_events(self.redis, self.queue)

    def post(self, payload: Any = None, *, body: bytes | None = None, **kwargs: Any) -> Any:
        raw = body if body is not None else json.dumps(payload).encode()
        headers = headers_for(raw, **kwargs)
        self.last_delivery = headers["X-GitHub-Delivery"]
        return self.client.post("/webhook", content=raw, headers=headers)

    def recorded(self, delivery_id: str) -> bool:
        return bool(self.redis.exists(KEY_PREFIX + delivery_id))


@pytest.fixture
def harness(redis_url: str) -> Iterator[Harness]:
    queue = f"events-{uuid.uuid4().hex}"
    intake = DeliveryIntake(async_redis_client(redis_url), queue=queue)
    app = create_app(settings_for(redis_url), intake=intake)
    with TestClient(app) as client:
        yield Harness(client, redis_url, queue)


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
    assert harness.events == []
    assert not harness.recorded(harness.last_delivery)


def test_no_secret_configured_refuses_every_delivery(redis_url: str) -> None:
    app = create_app(settings_for(redis_url, secret=None))
    body = json.dumps(pr_comment()).encode()
    with TestClient(app) as client:
        response = client.post("/webhook", content=body, headers=headers_for(body))
    assert response.status_code == 401


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
    assert harness.events == []
    assert not harness.recorded(harness.last_delivery)


def test_oversize_body_is_413(harness: Harness) -> None:
    body = b" " * (26 * MIB)
    response = harness.post(body=body)
    assert response.status_code == 413
    assert harness.events == []


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
    assert harness.events == []


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
    app = create_app(settings_for(redis_url))
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


def test_content_length_over_the_cap_is_refused_before_reading(redis_url: str) -> None:
    app = create_app(settings_for(redis_url))
    headers = [(b"content-length", str(26 * MIB).encode()), (b"x-github-event", b"ping")]
    status, received = call_asgi(app, headers, [b"{}"])
    assert (status, received) == (413, 0)


# ---- accepted, ignored, repeated ------------------------------------------------------------


def test_valid_pull_request_comment_is_queued(harness: Harness) -> None:
    response = harness.post(pr_comment())
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "kind": "comment"}
    assert harness.events == [
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
    assert len(harness.events) == 1


def test_ping_is_answered_and_ignored(harness: Harness) -> None:
    response = harness.post({"zen": "Speak like a human.", "hook_id": 1}, event="ping")
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert harness.events == []
    assert harness.recorded(harness.last_delivery)  # every verified delivery is de-duplicated


@pytest.mark.parametrize(
    ("name", "event", "payload"),
    [
        ("edited comment", "issue_comment", {**pr_comment(), "action": "edited"}),
        ("labeled pull request", "pull_request", {"action": "labeled", "installation": {"id": 1}}),
        (
            "push, not to the default branch",
            "push",
            {"ref": "refs/heads/main", "installation": {"id": 1}},
        ),
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
    assert harness.events == []


# ---- Redis down ------------------------------------------------------------------------------


def test_redis_down_is_503_for_webhook_and_healthz_then_the_redelivery_is_queued(
    redis_server_factory: Callable[[], Any],
) -> None:
    server = redis_server_factory()
    app = create_app(settings_for(server.url))  # intake built lazily from settings
    body = json.dumps(pr_comment()).encode()
    comment = headers_for(body)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"redis": "ok"}
        server.stop()
        started = time.monotonic()
        assert client.get("/healthz").status_code == 503
        response = client.post("/webhook", content=body, headers=comment)
        assert response.status_code == 503
        ping = json.dumps({"zen": "hi"}).encode()
        response = client.post("/webhook", content=ping, headers=headers_for(ping, event="ping"))
        assert response.status_code == 503
        assert time.monotonic() - started < 5  # well inside GitHub's 10 s
        server.start()  # empty: no record of the refused delivery, no script cached
        assert client.get("/healthz").status_code == 200
        response = client.post("/webhook", content=body, headers=comment)  # same delivery id
        assert response.status_code == 202  # GitHub's redelivery is not taken for a repeat
        assert len(queued_events(redis.Redis.from_url(server.url))) == 1


def test_healthz_ok(harness: Harness) -> None:
    response = harness.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"redis": "ok"})


class _BrokenIntake:
    async def admit(self, delivery_id: str, message: bytes | None) -> bool:
        raise RuntimeError("a bug, not an outage")

    async def ping(self) -> bool:
        return True


def test_an_unexpected_error_is_a_plain_500_as_the_middleware_stack_gives(redis_url: str) -> None:
    """`POST /webhook` skips FastAPI's middleware stack; its error page is kept all the same."""
    app = create_app(settings_for(redis_url), intake=_BrokenIntake())
    body = json.dumps(pr_comment()).encode()
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/webhook", content=body, headers=headers_for(body))
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_behind_a_root_path_the_route_answers_the_same(harness: Harness) -> None:
    """A server mounted under a prefix goes through the stack's own route: same answers."""
    body = json.dumps(pr_comment()).encode()
    client = TestClient(harness.client.app, root_path="/bot")
    response = client.post("/bot/webhook", content=body, headers=headers_for(body))
    assert (response.status_code, response.json()["status"]) == (202, "queued")
    unsigned = client.post("/bot/webhook", content=body, headers=headers_for(body, signature=None))
    assert unsigned.status_code == 401
    assert len(harness.events) == 1


# ---- the intake: one script call per batch ---------------------------------------------------


def test_concurrent_deliveries_are_admitted_together_each_with_its_own_answer(
    redis_url: str,
) -> None:
    queue = f"events-{uuid.uuid4().hex}"
    intake = DeliveryIntake(async_redis_client(redis_url), queue=queue)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    calls = [(i, b"m-" + i.encode()) for i in ids] + [(ids[0], b"again"), (ids[1], None)]
    calls.append((str(uuid.uuid4()), None))  # ignored: recorded, nothing queued

    async def admit_all() -> list[bool]:
        answers = await asyncio.gather(*(intake.admit(i, m) for i, m in calls))
        await intake.aclose()
        return answers

    assert asyncio.run(admit_all()) == [True] * 5 + [False, False, True]
    client = redis.Redis.from_url(redis_url)
    assert client.lrange(queue, 0, -1)[::-1] == [b"m-" + i.encode() for i in ids]
    assert all(client.ttl(KEY_PREFIX + i) > 6 * 24 * 3600 for i in ids)


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
        "from fastapi import FastAPI\n"
        "print(isinstance(app, FastAPI))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


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


def test_webhook_messages_are_what_the_celery_worker_consumes(redis_url: str) -> None:
    """kombu's own Redis transport reads the message the web pushed, as a worker would."""
    from celery import Celery

    from bot.state.event_queue import event_message

    broker = redis_url.rsplit("/", 1)[0] + "/3"
    sent = comment_event(delivery_id="d-celery", number=3, comment_id=4, body='50% "done"')
    redis.Redis.from_url(broker).delete("events")
    trace = {"delivery_id": "d-celery", "repo": "o/r", "installation_id": 1}
    asyncio.run(_admit(broker, "d-celery-" + uuid.uuid4().hex, event_message(sent, trace)))
    consumer = Celery("consumer", broker=broker, set_as_current=False)
    with consumer.connection_for_read() as connection:
        queue = connection.SimpleQueue("events", no_ack=True)
        message = queue.get(timeout=5)
        queue.close()
    assert message.headers["task"] == "golden_path.handle_event"
    assert message.headers["id"] == message.properties["correlation_id"]
    assert message.delivery_info["routing_key"] == "events"
    assert message.headers["gp_trace"] == trace  # the worker's logs carry the delivery's ids
    args, kwargs, embed = message.decode()
    assert (args, embed["chain"]) == ([], None)
    assert event_from_dict(kwargs["event"]) == sent


async def _admit(url: str, delivery_id: str, message: bytes) -> None:
    intake = DeliveryIntake(async_redis_client(url))
    assert await intake.admit(delivery_id, message)
    await intake.aclose()
