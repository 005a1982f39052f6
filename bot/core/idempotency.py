"""Exactly once on GitHub: every write that would repeat when sent twice has an idempotency key.

A key (`annotations:<run id>:<batch>`, `recurrence:<repo>:<run id>:<pattern>`) is recorded
*before* the write is sent and marked done after (`bot.state.ledger` keeps them in Redis), so a
retried task or publish resumes instead of repeating:
- done: the write happened; skip it;
- sending: an earlier try went out and nobody saw the answer (a timeout, a killed worker): look on
  GitHub for the write (its hidden marker, its annotations) before sending it again;
- new: send it.

Comments and issues that are edited in place are found by their markers (`upsert_comment`,
`find_open_issue`) and need no key; a command's reply is claimed per comment id
(`bot.handlers.comments`). Core: no I/O here; `send` and `find` do it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

SENDING = "\x00sending"


class Seen(StrEnum):
    NEW = "new"
    SENDING = "sending"
    DONE = "done"


@dataclass(frozen=True)
class Entry:
    seen: Seen
    value: str = ""


class Ledger(Protocol):
    def begin(self, key: str) -> Entry: ...
    def done(self, key: str, value: str = "") -> None: ...


def once(
    ledger: Ledger | None,
    key: str,
    send: Callable[[], str],
    find: Callable[[], str | None] | None = None,
) -> str:
    """Send the write named `key` unless an earlier try did; returns what `send` (or `find`)
    returned, as recorded. `find` looks on GitHub for a write whose answer was lost."""
    if ledger is None:
        return send()
    entry = ledger.begin(key)
    if entry.seen is Seen.DONE:
        return entry.value
    if entry.seen is Seen.SENDING and find is not None:
        found = find()
        if found is not None:
            ledger.done(key, found)
            return found
    value = send()
    ledger.done(key, value)
    return value


def marker(key: str) -> str:
    """The hidden line a write carries so that `find` can recognise it on GitHub."""
    return f"<!-- golden-path:write {key} -->"
