"""When the reaper restarts or concludes a run: `workers.reaper.verdict_for`, a pure table."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.results import Conclusion
from bot.state.run_records import RunRecord, RunState
from workers.reaper import Action, ReapLimits, verdict_for

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

RESTART = Action.RESTART
RELAUNCH = Action.RELAUNCH

# (name, record, expected conclusion, action or None, words the reason must hold)
CASES: list[tuple[str, RunRecord, Conclusion | Action | None, tuple[str, ...]]] = [
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
        "running, stale heartbeat: restarted once",
        _record(RUNNING, age=4000, started_at=4000, heartbeat_at=91),
        RESTART,
        ("restarted: the worker running it was lost", "91 s"),
    ),
    (
        "second attempt, stale heartbeat: lost twice, nothing concluded",
        _record(RUNNING, age=4000, started_at=400, heartbeat_at=91, attempt=2),
        Conclusion.FAILURE,
        ("lost twice", "nothing was concluded about the code", "91 s"),
    ),
    (
        "running, never beat, started long ago",
        _record(RUNNING, age=4000, started_at=500),
        RESTART,
        ("500 s",),
    ),
    (
        "running, no start or beat recorded, created long ago",
        _record(RUNNING, age=300),
        RESTART,
        ("restarted",),
    ),
    (
        "being cancelled when its worker was lost: cancelled, not rerun",
        _record(RUNNING, age=4000, heartbeat_at=200, cancel_reason="Cancelled by @octocat."),
        Conclusion.CANCELLED,
        ("Cancelled by @octocat.",),
    ),
    (
        "a conclusion GitHub refused before is asked for again, unchanged",
        _record(
            RUNNING,
            age=4000,
            heartbeat_at=200,
            cancel_reason="other",
            pending_conclusion="failure",
            reason="lost twice",
        ),
        Conclusion.FAILURE,
        ("lost twice",),
    ),
    (
        "restarted, its task never sent (the reconciler died): relaunched",
        _record(QUEUED, age=1000, restarted_at=31, attempt=2),
        RELAUNCH,
        ("never queued",),
    ),
    (
        "restarted, task sent, waiting for a slot",
        _record(QUEUED, age=1000, restarted_at=300, attempt=2, task_id="t-1"),
        None,
        (),
    ),
    (
        "restarted moments ago, task not yet recorded",
        _record(QUEUED, age=1000, restarted_at=5, attempt=2),
        None,
        (),
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
        RESTART,
        ("worker running it was lost",),
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
    record: RunRecord, expected: Conclusion | Action | None, words: tuple[str, ...]
) -> None:
    verdict = verdict_for(record, NOW, LIMITS)
    if expected is None:
        assert verdict is None
        return
    assert verdict is not None
    if isinstance(expected, Action):
        assert verdict.action is expected and verdict.conclusion is None
    else:
        assert verdict.action is Action.CONCLUDE and verdict.conclusion is expected
    for word in words:
        assert word in verdict.reason


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
        if verdict is not None and verdict.conclusion is not None:
            assert verdict.conclusion in (
                Conclusion.FAILURE,
                Conclusion.TIMED_OUT,
                Conclusion.CANCELLED,
            )
