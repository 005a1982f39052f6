"""The ids that follow one delivery through web -> events worker -> runs worker.

They live in context variables (structlog's), so every log line of the request or task carries
them without being passed around; Celery headers carry them from one process to the next
(`workers/celery_app.py` wires the signals). Only these keys travel: never a payload or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

TRACE_KEYS = ("delivery_id", "run_id", "repo", "installation_id")
HEADER = "gp_trace"
_MAX_VALUE = 200  # ids are short; anything longer is not ours


def bind(**ids: Any) -> None:
    """Add ids to the current context (None values are skipped)."""
    clean = _clean(ids)
    if clean:
        structlog.contextvars.bind_contextvars(**clean)


def current() -> dict[str, Any]:
    """The trace ids bound now, for a task's headers."""
    bound = structlog.contextvars.get_contextvars()
    return _clean({key: bound.get(key) for key in TRACE_KEYS})


def adopt(carried: Any) -> None:
    """Start a task's context from the ids its headers carried (anything else is ignored)."""
    structlog.contextvars.clear_contextvars()
    if isinstance(carried, Mapping):
        bind(**{key: carried.get(key) for key in TRACE_KEYS})


def clear() -> None:
    structlog.contextvars.clear_contextvars()


def _clean(ids: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in ids.items():
        if key not in TRACE_KEYS or value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            continue
        out[key] = value if isinstance(value, int) else value[:_MAX_VALUE]
    return out
