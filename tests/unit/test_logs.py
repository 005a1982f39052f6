"""Structured logs: trace ids carried, secrets masked, format chosen by where the lines go."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bot.telemetry import logs, trace


@pytest.fixture(autouse=True)
def _fresh_context() -> Iterator[None]:
    trace.clear()
    yield
    trace.clear()


def render(
    record_extra: dict[str, Any],
    message: str = "hello %s",
    arg: Any = "world",
    secrets: tuple[str, ...] = (),
) -> dict[str, Any]:
    record = logging.LogRecord("golden_path.test", logging.INFO, __file__, 1, message, (arg,), None)
    record.__dict__.update(record_extra)
    return json.loads(logs.formatter(True, secrets).format(record))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("name", "fmt", "stream", "expected"),
    [
        ("auto on a pipe is JSON", "auto", io.StringIO(), True),
        ("auto on a terminal is readable", "auto", _Tty(), False),
        ("json forced on a terminal", "json", _Tty(), True),
        ("console forced on a pipe", "console", io.StringIO(), False),
    ],
)
def test_format_follows_setting_and_terminal(name: str, fmt: str, stream: Any, expected: bool):
    assert logs.wants_json(fmt, stream) is expected, name


@pytest.mark.parametrize(
    ("name", "bound", "expected"),
    [
        (
            "all four ids",
            {"delivery_id": "d1", "run_id": "r1", "repo": "a/b", "installation_id": 7},
            {"delivery_id": "d1", "run_id": "r1", "repo": "a/b", "installation_id": 7},
        ),
        (
            "unknown keys are not trace ids",
            {"delivery_id": "d1", "token": "ghs_x"},
            {"delivery_id": "d1"},
        ),
        ("None and empty skipped", {"delivery_id": None, "repo": ""}, {}),
        ("non-scalar refused", {"repo": {"full_name": "a/b"}, "installation_id": True}, {}),
        ("overlong value cut", {"repo": "x" * 500}, {"repo": "x" * 200}),
    ],
)
def test_trace_keeps_only_short_ids(name: str, bound: dict[str, Any], expected: dict[str, Any]):
    trace.adopt(bound)
    assert trace.current() == expected, name


def test_adopt_replaces_the_previous_tasks_ids():
    trace.bind(delivery_id="old", run_id="r-old")
    trace.adopt({"delivery_id": "new"})
    assert trace.current() == {"delivery_id": "new"}
    trace.adopt("not a mapping")
    assert trace.current() == {}


def test_a_line_is_one_json_object_with_the_bound_ids_and_extra_fields():
    trace.adopt({"delivery_id": "d-1", "repo": "acme/app", "installation_id": 77})
    line = render({"status_code": 202})
    assert line["event"] == "hello world"
    assert (line["delivery_id"], line["repo"], line["installation_id"]) == ("d-1", "acme/app", 77)
    assert line["status_code"] == 202
    assert line["level"] == "info" and line["logger"] == "golden_path.test"
    assert "timestamp" in line


@pytest.mark.parametrize(
    ("name", "extra", "arg", "leaked"),
    [
        ("known secret in the message", {}, "key=s3cr3t-webhook-value", "s3cr3t-webhook-value"),
        ("token-shaped text", {}, "ghs_" + "a" * 36, "ghs_" + "a" * 36),
        ("secret-sounding key", {"access_token": "plain-value-1"}, "x", "plain-value-1"),
        ("authorization header field", {"authorization": "Bearer abcdefgh"}, "x", "abcdefgh"),
        ("oauth code field", {"code": "oauth-code-123"}, "x", "oauth-code-123"),
        (
            "secret inside a non-string value",
            {"args": ["s3cr3t-webhook-value"]},
            "x",
            "s3cr3t-webhook-value",
        ),
    ],
)
def test_secrets_never_reach_a_line(name: str, extra: dict[str, Any], arg: str, leaked: str):
    line = json.dumps(render(extra, arg=arg, secrets=("s3cr3t-webhook-value",)))
    assert leaked not in line, name
    assert "***" in line, name


def test_exception_text_is_scrubbed_too():
    try:
        raise RuntimeError("failed with s3cr3t-webhook-value")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", (), None)
        record.exc_info = sys.exc_info()
    line = json.loads(logs.formatter(True, ["s3cr3t-webhook-value"]).format(record))
    assert "RuntimeError" in line["exception"]
    assert "s3cr3t-webhook-value" not in line["exception"]


@pytest.mark.parametrize(
    ("name", "path", "logged"),
    [
        ("signed link token", "/runs/abc?token=xyz", "/runs/abc"),
        ("oauth callback code", "/auth/callback?code=c&state=s", "/auth/callback"),
        ("no query", "/healthz", "/healthz"),
    ],
)
def test_access_lines_lose_query_strings(name: str, path: str, logged: str):
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", path, "1.1", 200),
        None,
    )
    logs.DropQueryStrings().filter(record)
    assert record.getMessage() == f'127.0.0.1:1 - "GET {logged} HTTP/1.1" 200', name
