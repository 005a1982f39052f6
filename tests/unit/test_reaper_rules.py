"""When the reaper concludes a run: `workers.reaper.verdict_for`, a pure table."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.results import Conclusion
from bot.state.run_records import RunRecord, RunState
from workers.reaper import ReapLimits, verdict_for

NOW = 1_700_000_000.0
LIMITS = ReapLimits(
    heartbeat_stale_seconds=90.0, deadline_grace_seconds=120.0, queued_max_seconds=3600.0
)


def _record(state: RunState, *, age: float = 0.0, **fields: Any) -> RunRecord:
    """A run created `age` seconds before NOW; other times are given as seconds before NOW."""
    times = {k: NOW - v for k, v in fields.items() if k.endswith("_at") and v is not None}
    others = {k: v for k, v in fields.items() if not k.endswith("_at")}
    return RunRecord(
        installation_id=1,
        repo="acme/shop",
        pr_number=5,
        head_sha="a" * 40,
        state=state,
        created_at=NOW - age,
        **times,
        **others,
    )


RUNNING = RunState.RUNNING
QUEUED = RunState.QUEUED
COMPLETED = RunState.COMPLETED

# (name, record, expected conclusion or None, words the reason must hold)
CASES: list[tuple[str, RunRecord, Conclusion | None, tuple[str, ...]]] = [
    (
        "running, fresh heartbeat",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=10),
        None,
        (),
    ),
    (
        "running, heartbeat exactly at the limit",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=90),
        None,
        (),
    ),
    (
        "running, stale heartbeat",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=91),
        Conclusion.FAILURE,
        ("stopped responding", "91 s"),
    ),
    (
        "running, never beat, started long ago",
        _record(RUNNING, age=4000, started_at=500),
        Conclusion.FAILURE,
        ("stopped responding", "500 s"),
    ),
    (
        "running, no start or beat recorded, created long ago",
        _record(RUNNING, age=300),
        Conclusion.FAILURE,
        ("stopped responding",),
    ),
    (
        "running, just started, no beat yet",
        _record(RUNNING, age=30, started_at=5),
        None,
        (),
    ),
    (
        "running, past its deadline but inside the grace",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=5, deadline_at=100),
        None,
        (),
    ),
    (
        "running, past deadline + grace, still beating",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=5, deadline_at=121),
        Conclusion.TIMED_OUT,
        ("timeout_minutes",),
    ),
    (
        "running, deadline in the future",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=5, deadline_at=-600),
        None,
        (),
    ),
    (
        "running, dead worker past its deadline: the worker loss is what happened",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=1000, deadline_at=500),
        Conclusion.FAILURE,
        ("stopped responding",),
    ),
    ("queued, recently", _record(QUEUED, age=600), None, ()),
    ("queued, exactly the limit", _record(QUEUED, age=3600), None, ()),
    (
        "queued too long",
        _record(QUEUED, age=3601),
        Conclusion.FAILURE,
        ("60 minutes", "/golden-path run"),
    ),
    (
        "queued too long, even with a stale heartbeat field",
        _record(QUEUED, age=7200, heartbeat_at=7200),
        Conclusion.FAILURE,
        ("No worker picked this run up",),
    ),
    (
        "completed long ago, every clock stale",
        _record(
            COMPLETED,
            age=99999,
            started_at=99999,
            heartbeat_at=99999,
            deadline_at=99999,
            conclusion="success",
        ),
        None,
        (),
    ),
    (
        "completed while queued (cancelled)",
        _record(COMPLETED, age=99999, conclusion="cancelled"),
        None,
        (),
    ),
]


@pytest.mark.parametrize(
    ("record", "expected", "words"),
    [pytest.param(r, e, w, id=name) for name, r, e, w in CASES],
)
def test_verdict_for(
    record: RunRecord, expected: Conclusion | None, words: tuple[str, ...]
) -> None:
    verdict = verdict_for(record, NOW, LIMITS)
    if expected is None:
        assert verdict is None
        return
    assert verdict is not None
    conclusion, reason = verdict
    assert conclusion is expected
    for word in words:
        assert word in reason


def test_limits_are_taken_from_the_argument() -> None:
    record = _record(RUNNING, age=4000, started_at=4000, heartbeat_at=50)
    assert verdict_for(record, NOW, LIMITS) is None
    strict = ReapLimits(heartbeat_stale_seconds=30.0)
    assert verdict_for(record, NOW, strict) is not None
    queued = _record(QUEUED, age=1000)
    assert verdict_for(queued, NOW, LIMITS) is None
    assert verdict_for(queued, NOW, ReapLimits(queued_max_seconds=900.0)) is not None


def test_never_a_conclusion_that_satisfies_a_required_check() -> None:
    """Contract §6: a reaped run never ends `success`, `neutral` or `skipped`."""
    for _, record, _, _ in CASES:
        verdict = verdict_for(record, NOW, LIMITS)
        if verdict is not None:
            assert verdict[0] in (Conclusion.FAILURE, Conclusion.TIMED_OUT)
