"""The ids that follow one delivery through web -> events worker -> runs worker.

They live in one context variable, so every log line of the request or task carries them
without being passed around (`bot.telemetry.logs` adds them to each line); Celery headers carry
them from one process to the next (`workers/celery_app.py` wires the signals). Only these keys
travel: never a payload or a token. The variable holds a mapping that is replaced, never changed
in place, so an asyncio task or a thread that copied the context keeps its own ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

TRACE_KEYS = ("delivery_id", "run_id", "repo", "installation_id")
HEADER = "gp_trace"
_MAX_VALUE = 200  # ids are short; anything longer is not ours

_NONE: Mapping[str, Any] = MappingProxyType({})
_bound: ContextVar[Mapping[str, Any]] = ContextVar("golden_path_trace", default=_NONE)


def bind(**ids: Any) -> None:
    """Add ids to the current context (None values are skipped)."""
    clean = _clean(ids)
    if clean:
        _bound.set(MappingProxyType({**_bound.get(), **clean}))


def current() -> dict[str, Any]:
    """The trace ids bound now, for a task's headers or a log line."""
    return dict(_bound.get())


def adopt(carried: Any) -> None:
    """Start a task's context from the ids its headers carried (anything else is ignored)."""
    clean = _clean(carried) if isinstance(carried, Mapping) else {}
    _bound.set(MappingProxyType(clean) if clean else _NONE)


def clear() -> None:
    _bound.set(_NONE)


def _clean(ids: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in TRACE_KEYS:
        value = ids.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            continue
        out[key] = value if isinstance(value, int) else value[:_MAX_VALUE]
    return out
