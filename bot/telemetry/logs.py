"""Logging for every process: one JSON object per line, or readable lines on a terminal.

Edge: `configure()` installs one root handler whose formatter turns every stdlib record, the
bot's and its libraries' alike, into an event dict: the trace ids bound in context
(`bot.telemetry.trace`), the record's `extra` fields, level, logger and time. Before rendering,
values under secret-sounding keys are masked and every string is scrubbed of the process's own
secrets (`bot.core.scrub`); uvicorn's access lines lose their query strings, which can hold OAuth
codes and signed-link tokens.

JSON lines (production) are built by `JsonLines` in one step: the web writes one per webhook, and
structlog's processor chain cost about a tenth of the webhook's time (issue 11). Readable lines
on a terminal go through structlog's `ProcessorFormatter` and its console renderer; structlog
(which imports rich) is imported only then, so no process pays its import or memory otherwise.
The bot logs through the standard library's `logging` only.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import orjson

from bot.core.scrub import MASK, Scrubber
from bot.telemetry import trace

_SECRET_KEY = re.compile(r"token|secret|password|authorization|cookie|private_key|^code$", re.I)
_QUIET = {"urllib3": logging.WARNING, "github": logging.WARNING, "httpx": logging.WARNING}
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


def wants_json(fmt: str, stream: Any = None) -> bool:
    """`auto`: JSON unless the stream is a terminal (production logs go to a pipe or a file)."""
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def configure(fmt: str = "auto", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Route every logger through one handler on stderr; safe to call again (it replaces)."""
    as_json = wants_json(fmt)
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(formatter(as_json, secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _OurHandler):  # others (a test runner's capture) stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    for name in _UVICORN:  # uvicorn installed its own handlers before importing the app
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())


class _OurHandler(logging.StreamHandler[TextIO]):
    """The handler `configure` installs, so a second call replaces it."""


def formatter(as_json: bool, secrets: Iterable[str] = ()) -> logging.Formatter:
    """The formatter `configure` installs (tests render records through it directly)."""
    redact = Redact(Scrubber(secrets))
    if as_json:
        return JsonLines(redact)
    import structlog  # readable lines only (see the module's docstring)

    pre_chain: list[Any] = [
        add_trace_ids,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,  # a traceback is text, scrubbed like the rest
        redact,
        structlog.dev.ConsoleRenderer(colors=False),
    ]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=pre_chain, processors=final)


def add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: the ids bound in `bot.telemetry.trace` (the line's own win)."""
    for key, value in trace.current().items():
        event.setdefault(key, value)
    return event


# What every LogRecord has: anything else on a record came through `extra=`.
_RECORD_KEYS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}


class JsonLines(logging.Formatter):
    """One JSON object per record: `event` (the message), the trace ids, `logger`, `level`, the
    `extra` fields, `timestamp` (ISO 8601, UTC), `exception` and `stack_info` when present;
    masked and scrubbed by `redact`. The same fields structlog's chain gave, in one pass."""

    def __init__(self, redact: Redact) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {"event": record.getMessage(), **trace.current()}
        event["logger"] = record.name
        event["level"] = record.levelname.lower()
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS:
                event[key] = value
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        event["timestamp"] = stamp.isoformat().replace("+00:00", "Z")
        if record.exc_info:
            event["exception"] = _exception_text(record.exc_info)
        if record.stack_info:
            event["stack_info"] = record.stack_info
        self._redact(None, "", event)
        try:
            return orjson.dumps(event).decode()
        except TypeError:  # an int beyond 64 bits: the standard library has no such limit
            return json.dumps(event)


def _exception_text(exc_info: Any) -> str:
    if exc_info is True:
        exc_info = sys.exc_info()
    return "".join(traceback.format_exception(*exc_info)).rstrip("\n")


class Redact:
    """Mask values under secret-sounding keys; scrub known secrets out of every string."""

    def __init__(self, scrubber: Scrubber) -> None:
        self._scrub = scrubber.scrub

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> Any:
        for key, value in list(event.items()):
            if _secret_sounding(key) and key != "event":
                event[key] = MASK
            elif isinstance(value, str):
                event[key] = self._scrub(value)
            elif not isinstance(value, int | float | bool | type(None)):
                event[key] = self._scrub(str(value))
        return event


@functools.lru_cache(maxsize=1024)  # the keys are the code's own: a few dozen names
def _secret_sounding(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


class DropQueryStrings(logging.Filter):
    """uvicorn's access record args are (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True
