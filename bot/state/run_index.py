"""Which runs the dashboard can list: the newest run ids, overall and per repository, bounded.

Edge (Redis). Run records add themselves here when created (`bot.state.run_records`); a sorted set
scored by creation time per repository keeps the newest `PER_REPO` ids, so listing and trends cost
at most that many records whatever the history. Records expire on their own; ids whose record is
gone are skipped when read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis

from bot.core.run_model import RunRecord

PER_REPO = 500
_REPO_KEY = "gp:runs:repo:{repo}"


def add(pipe: Any, record: RunRecord) -> None:
    """Queue the index writes for a new record on `pipe` (the one that creates it)."""
    key = _REPO_KEY.format(repo=record.repo)
    pipe.zadd(key, {record.run_id: record.created_at})
    pipe.zremrangebyrank(key, 0, -PER_REPO - 1)


class RunIndex:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def recent_ids(self, repos: Iterable[str], limit: int = PER_REPO) -> list[str]:
        """The newest run ids of these repositories, newest first (at most `limit` per repo)."""
        ids: list[tuple[float, str]] = []
        with self._redis.pipeline(transaction=False) as pipe:
            for repo in sorted(set(repos)):
                pipe.zrevrange(_REPO_KEY.format(repo=repo), 0, limit - 1, withscores=True)
            for found in pipe.execute():
                ids += [(score, _text(run_id)) for run_id, score in found]
        ids.sort(reverse=True)
        return [run_id for _, run_id in ids]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
