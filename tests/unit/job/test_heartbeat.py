"""A running attempt's heartbeat, beat by hand: what one beat does in each situation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.run_model import RunRecord, RunState
from tests.fakes.lock import FakeLock
from tests.fakes.runs import MemoryRunRecords
from workers.job.heartbeat import Heartbeat

RUN = "1" * 12


class RedisAway(MemoryRunRecords):
    def heartbeat(self, run_id: str, attempt: int | None = None) -> bool:
        raise ConnectionError("Redis is restarting")


@dataclass(frozen=True)
class Case:
    name: str
    attempt: int = 1  # the attempt beating (the record's is 1)
    redis_away: bool = False
    joined_the_line: bool = True
    # expected
    lost: bool = False
    kept_alive: bool = True


CASES = [
    Case("this attempt's run: alive, and its place in the line kept"),
    Case("restarted elsewhere: lost (the run stops and publishes nothing)", attempt=2, lost=True),
    Case("Redis away: not lost, the next beat tries again", redis_away=True, kept_alive=False),
    Case("before joining the line: only the record", joined_the_line=False, kept_alive=False),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_beat(case: Case) -> None:
    record = RunRecord(
        run_id=RUN, installation_id=1, repo="o/r", head_sha="a" * 40, state=RunState.RUNNING
    )
    records = (RedisAway if case.redis_away else MemoryRunRecords)(record)
    lock = FakeLock(record.lock_owner)
    beat = Heartbeat(
        records, RUN, case.attempt, 5.0, lambda: lock if case.joined_the_line else None
    )
    beat.beat()
    assert beat.lost is case.lost
    assert ("keep_alive" in lock.calls) is case.kept_alive
