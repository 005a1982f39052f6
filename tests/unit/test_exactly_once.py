"""Exactly once on GitHub: a retried publish resumes where it stopped (idempotency keys), a write
whose answer was lost is looked for before it is sent again, and the keys live in Redis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from bot.core.idempotency import SENDING, Entry, Seen, once
from bot.core.report.facts import five_whys_marker
from bot.core.scrub import Scrubber
from bot.github.client import GitHubError, IssueRef
from bot.state.ledger import RedisLedger
from tests.unit.test_publish import PLAN, Recorder
from tests.unit.test_report import _many_failures, fixture_report
from workers import publish
from workers.publish import PublishResult


class MemoryLedger:
    """The ledger protocol in memory: what `RedisLedger` does, for the tables below."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def begin(self, key: str) -> Entry:
        if key not in self.entries:
            self.entries[key] = SENDING
            return Entry(Seen.NEW)
        value = self.entries[key]
        return Entry(Seen.SENDING) if value == SENDING else Entry(Seen.DONE, value)

    def done(self, key: str, value: str = "") -> None:
        self.entries[key] = value


class GitHub(Recorder):
    """The recorder, keeping annotations and comments as GitHub would; `fail_after` makes the
    n-th annotation batch fail after GitHub applied it (the answer is lost)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.annotations: list[dict[str, Any]] = []
        self.posted: list[tuple[int, str]] = []
        self.lose_answer_of_batch: int | None = None
        self.refuse_batch: int | None = None
        self._batches = 0

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        if "annotations" in fields:
            self._batches += 1
            if self.refuse_batch == self._batches:
                raise GitHubError("502", 502)
            self.annotations += fields["annotations"]
            if self.lose_answer_of_batch == self._batches:
                raise GitHubError("timed out", None)
        super().update_check_run(check_run_id, **fields)

    def list_annotations(self, check_run_id: int) -> list[dict[str, Any]]:
        return list(self.annotations)

    def comment(self, number: int, body: str) -> str:
        self.posted.append((number, body))
        return super().comment(number, body)

    def find_comment(self, number: int, mark: str) -> str | None:
        return next((f"c{n}" for n, body in self.posted if n == number and mark in body), None)


def publish_with(client: GitHub, ledger: Any, report: Any = None) -> PublishResult:
    return publish.publish_report(
        client,
        report or _many_failures(120),
        check_run_id=9,
        plan=PLAN,
        pr_body="",
        scrubber=Scrubber([]),
        ledger=ledger,
    )


def test_a_retried_publish_sends_each_annotation_batch_once() -> None:
    """The bug seen: 120 failed tests became 220 annotations after a retry."""
    client, ledger = GitHub(), MemoryLedger()
    client.refuse_batch = 3
    with pytest.raises(GitHubError):
        publish_with(client, ledger)
    assert len(client.annotations) == 100
    publish_with(client, ledger)  # the run's publish retry
    assert len(client.annotations) == 120
    assert len({a["title"] + str(a["start_line"]) for a in client.annotations}) == 120


def test_a_batch_whose_answer_was_lost_is_found_not_resent() -> None:
    client, ledger = GitHub(), MemoryLedger()
    client.lose_answer_of_batch = 2
    with pytest.raises(GitHubError):
        publish_with(client, ledger)
    publish_with(client, ledger)
    assert len(client.annotations) == 120


def test_skipped_first_batch_still_sets_the_conclusion() -> None:
    client, ledger = GitHub(), MemoryLedger()
    publish_with(client, ledger)
    client.calls.clear()
    publish_with(client, ledger)  # everything sent before: the status is set again, no batch
    updates = client.named("update_check_run")
    assert updates[0]["status"] == "completed" and "annotations" not in updates[0]
    assert all("annotations" not in u for u in updates)


def test_a_five_whys_recurrence_is_commented_once_per_run() -> None:
    report = fixture_report()
    markers = {p.key for p in publish.failure_patterns(report)}

    issues = {
        five_whys_marker(k): IssueRef(77, "https://github.example/issues/77") for k in markers
    }
    client, ledger = GitHub(open_issues=issues), MemoryLedger()
    publish_with(client, ledger, report)
    first = len(client.posted)
    assert first >= 1
    publish_with(client, ledger, report)  # a retried publish of the same run
    assert len(client.posted) == first
    assert all("<!-- golden-path:write recurrence:" in body for _, body in client.posted)


def test_once_looks_for_a_lost_write_before_sending_it_again() -> None:
    ledger, sent = MemoryLedger(), []
    ledger.begin("k")  # an earlier try went out; its answer was lost
    assert once(ledger, "k", lambda: sent.append(1) or "new", find=lambda: "found") == "found"
    assert sent == []
    assert ledger.begin("k").seen is Seen.DONE
    assert once(ledger, "k2", lambda: "v") == "v" and once(ledger, "k2", lambda: "w") == "v"


def test_redis_ledger_shares_keys_between_processes(redis_url: str) -> None:
    key = f"reply:acme/shop:{uuid.uuid4().int % 10**9}:0"
    first = RedisLedger(redis.Redis.from_url(redis_url))
    second = RedisLedger(redis.Redis.from_url(redis_url))
    assert first.begin(key).seen is Seen.NEW
    assert second.begin(key).seen is Seen.SENDING
    first.done(key, "https://github.example/c/1")
    entry = second.begin(key)
    assert entry.seen is Seen.DONE and entry.value == "https://github.example/c/1"
