"""The bot's pytest result stream (JSON lines from `golden_path_stream`) to `TestResult` values.

The stream is written by the process under test, so it is untrusted: its size is bounded, a line
that is not an object of the expected shape is skipped, and every value is type-checked."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.results import Frame, Outcome, TestResult
from workers.engine.junit import MAX_MESSAGE_CHARS, excerpt

MAX_STREAM_BYTES = 64 * 1024 * 1024
MAX_FRAMES = 200
# pytest's report categories (`pytest_report_teststatus`) in the words of its summary line.
_COUNT_OF = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}
_OUTCOME_RANK = {  # the outcome a test gets from its setup, call and teardown reports
    "failed": (5, Outcome.FAILED),
    "error": (4, Outcome.ERROR),
    "xpassed": (3, Outcome.XPASSED),
    "xfailed": (2, Outcome.XFAILED),
    "skipped": (1, Outcome.SKIPPED),
    "passed": (0, Outcome.PASSED),
}


@dataclass(frozen=True)
class StreamSummary:
    tests: tuple[TestResult, ...]
    collection_errors: tuple[TestResult, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # pytest's summary line
    running: str | None = None  # started, never finished
    last_output: str = ""  # what the running test printed before it was stopped
    finished: bool = False  # pytest reached the end of its session
    exit_status: int | None = None


@dataclass
class _Test:
    node_id: str
    reports: list[dict[str, Any]] = field(default_factory=list)


def parse(text: str, *, scrub: Callable[[str], str]) -> StreamSummary:
    """Read a stream; a missing end (`finish`) means the process was killed or crashed.

    Every string of every event passes through `scrub` as it is decoded, before any message is
    cut or any traceback excerpted (contract §5.3)."""
    tests: dict[str, _Test] = {}
    collection: list[TestResult] = []
    counts: Counter[str] = Counter()
    started: list[str] = []
    ended: set[str] = set()
    finish: int | None = None
    finished = False
    last_output = ""
    for event in _events(text[-MAX_STREAM_BYTES:], scrub):
        kind, node_id = event.get("e"), _str(event.get("id"))
        if kind == "start":
            started.append(node_id)
            tests.setdefault(node_id, _Test(node_id))
        elif kind == "output":
            last_output = _str(event.get("text"))
        elif kind == "end":
            ended.add(node_id)
        elif kind == "report":
            tests.setdefault(node_id, _Test(node_id)).reports.append(event)
            counts[_COUNT_OF.get(_str(event.get("cat")), "failed")] += 1
        elif kind == "collect":
            category = "errors" if event.get("cat") == "error" else "skipped"
            counts[category] += 1
            if category == "errors":
                collection.append(_collection_error(event))
        elif kind == "finish":
            finished, finish = True, _int(event.get("exit"))
    running = next((n for n in reversed(started) if n not in ended), None)
    running = None if finished else running
    results = tuple(_result(t) for t in tests.values() if t.reports)
    return StreamSummary(
        tests=results,
        collection_errors=tuple(collection),
        counts={word: counts[word] for word in _COUNT_OF.values()},
        running=running,
        last_output=last_output,
        finished=finished,
        exit_status=finish,
    )


def _events(text: str, scrub: Callable[[str], str]) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill, or garbage
        if isinstance(event, dict):
            events.append(_scrubbed(event, scrub))
    return events


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    """`value` with every string in it (keys aside) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, scrub) for v in value]
    return value


def _result(test: _Test) -> TestResult:
    ranked = max(test.reports, key=lambda r: _OUTCOME_RANK.get(_str(r.get("cat")), (5,))[0])
    outcome = _OUTCOME_RANK.get(_str(ranked.get("cat")), (5, Outcome.FAILED))[1]
    detail = ranked if outcome is not Outcome.PASSED else {}
    file = _str(ranked.get("file")) or None
    frames = _frames(detail.get("frames"))
    return TestResult(
        node_id=test.node_id,
        outcome=outcome,
        duration=sum(max(0.0, _float(r.get("dur"))) for r in test.reports),
        file=file,
        line=_line(file, frames, detail.get("crash"), _int(ranked.get("line"))),
        message=_message(_str(detail.get("msg"))),
        traceback=excerpt(_str(detail.get("tb"))),
        frames=frames,
    )


def _line(
    file: str | None, frames: tuple[Frame, ...], crash: Any, def_line: int | None
) -> int | None:
    """Where the test itself failed: its own deepest frame in the whole traceback (an exception
    raised in library code still points at the test's line), else the crash, else its `def`."""
    own = [f.line for f in frames if f.path == file]
    if own:
        return own[-1]
    if isinstance(crash, list) and len(crash) == 2 and crash[0] == file:
        return _int(crash[1]) or def_line
    return def_line


def _collection_error(event: dict[str, Any]) -> TestResult:
    file = _str(event.get("file")) or None
    text = _str(event.get("tb"))
    return TestResult(
        node_id=_str(event.get("id")) or file or "(collection)",
        outcome=Outcome.ERROR,
        file=file,
        line=_collection_line(text, file),
        message=_message(_str(event.get("msg"))),
        traceback=excerpt(text),
    )


def _collection_line(text: str, file: str | None) -> int | None:
    if not file:
        return None
    for line in reversed(text.splitlines()):
        head, _, rest = line.partition(":")
        if head.strip().endswith(file) and rest.split(":", 1)[0].isdigit():
            return int(rest.split(":", 1)[0])
        if f'{file}", line ' in line:
            tail = line.rsplit(", line ", 1)[1].split(",", 1)[0].strip()
            if tail.isdigit():
                return int(tail)
    return None


def _frames(value: Any) -> tuple[Frame, ...]:
    if not isinstance(value, list):
        return ()
    frames = []
    for item in value[-MAX_FRAMES:]:
        if isinstance(item, list) and len(item) == 3:
            frames.append(Frame(_str(item[0]), _int(item[1]) or 0, _str(item[2])))
    return tuple(frames)


def _message(text: str) -> str:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return first if len(first) <= MAX_MESSAGE_CHARS else first[: MAX_MESSAGE_CHARS - 1] + "…"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
