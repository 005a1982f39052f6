"""A report still owed after its check run (issue 10): the document the run job keeps (scrubbed,
trimmed, bounded), the reconcile loop's decisions about it, and the five whys repeated after a
death without a second issue or a recurrence comment on the run's own issue."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from bot.core.owed_publish import MAX_DOCUMENT_BYTES, owed_document, read_document
from bot.core.plan import FiveWhys
from bot.core.results import Conclusion
from bot.core.run_model import RunRecord, RunState
from bot.core.scrub import Scrubber
from bot.github.client import GitHubError, GitHubRateLimited, IssueRef
from bot.state.owed_publishes import OwedPublishes
from tests.fakes.runs import MemoryRunRecords
from tests.unit.test_exactly_once import MemoryLedger
from tests.unit.test_publish import SECRET, Recorder
from tests.unit.test_report import _many_failures, fixture_report
from workers import publish
from workers.owed_publish import MAX_TRIES, OwedPublisher

RUN = "r-owed"


def _document(report: Any = None, **kw: Any) -> str | None:
    args: dict[str, Any] = {
        "attempt": 1,
        "installation_id": 7,
        "five_whys": "issue",
        "linked_issues": [3],
        "scrub": Scrubber([SECRET]).scrub,
    }
    args.update(kw)
    return owed_document(report or dataclasses.replace(fixture_report(), run_id=RUN), **args)


def test_the_document_is_scrubbed_and_keeps_what_the_rest_renders() -> None:
    report = fixture_report()
    agent = report.phases[1]
    leaky = dataclasses.replace(agent.tests[0], message=f"token {SECRET} refused")
    report = dataclasses.replace(
        report,
        run_id=RUN,
        phases=(
            report.phases[0],
            dataclasses.replace(agent, tests=(leaky, *agent.tests[1:])),
            *report.phases[2:],
        ),
    )
    document = _document(report)
    assert document is not None and SECRET not in document
    owed = read_document(document)
    again = owed.run_report()
    assert (owed.run_id, owed.attempt, owed.linked_issues) == (RUN, 1, [3])
    assert again.conclusion is Conclusion.FAILURE and again.pr_number == report.pr_number
    kept = [t.node_id for t in again.phases[1].tests]
    assert "tests/e2e/test_agent.py::test_ok" not in kept  # a plain pass is only counted
    assert len(kept) == 3 and again.phases[1].passed == 7
    assert publish.failure_patterns(again) == publish.failure_patterns(
        dataclasses.replace(
            report,
            phases=(
                report.phases[0],
                dataclasses.replace(report.phases[1], tests=again.phases[1].tests),
                *report.phases[2:],
            ),
        )
    )


@pytest.mark.parametrize(
    ("failures", "message_size", "kept"),
    [
        ("a few", 300, "whole"),
        ("long texts", 200_000, "cut"),
        ("too many", 2_000, None),
    ],
)
def test_the_document_is_bounded(failures: str, message_size: int, kept: str | None) -> None:
    count = {"a few": 3, "long texts": 3, "too many": 400}[failures]
    report = dataclasses.replace(_many_failures(count, message_size), run_id=RUN)
    document = _document(report)
    if kept is None:
        assert document is None
        return
    assert document is not None and len(document.encode()) <= MAX_DOCUMENT_BYTES
    message = read_document(document).run_report().phases[0].tests[0].message
    original = report.phases[0].tests[0].message
    if kept == "whole":
        assert message == original
    else:
        assert message == original[:4_000] + "…"


class Issues(Recorder):
    """Issues are found by their marker once created, as on GitHub."""

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef:
        created = super().create_issue(title, body, labels)
        for mark in re.findall(r"<!-- golden-path:five-whys [^>]*-->", body):
            self.open_issues[mark] = created
        return created


def _rest(client: Recorder, ledger: MemoryLedger, report: Any) -> publish.PublishResult:
    result = publish.PublishResult(check_run_id=0)
    publish.publish_rest(
        client,
        report,
        result,
        five_whys=FiveWhys.ISSUE,
        linked=[3],
        scrubber=Scrubber([]),
        ledger=ledger,
    )
    return result


def test_five_whys_repeated_after_a_death_neither_refile_nor_comment_a_recurrence() -> None:
    report = dataclasses.replace(fixture_report(), run_id=RUN)
    client, ledger = Client(), MemoryLedger()
    client.fail = {"upsert_comment"}  # died (or failed) after the issues, before the PR comment
    first = _rest(client, ledger, report)
    assert first.errors and client.named("create_issue")
    created = len(client.named("create_issue"))
    client.fail = set()
    second = _rest(client, ledger, report)
    assert not second.errors
    assert len(client.named("create_issue")) == created
    assert client.named("comment") == []  # no recurrence comment on the run's own issues
    assert second.five_whys == first.five_whys


def test_an_issue_created_but_whose_answer_was_lost_is_found_not_filed_again() -> None:
    report = dataclasses.replace(fixture_report(), run_id=RUN)
    client, ledger = Issues(), MemoryLedger()
    patterns = publish.failure_patterns(report)
    ledger.done(f"five-whys:{report.repo}:{RUN}:{patterns[0].key}", publish.NEW_ISSUE)
    ledger.begin(f"five-whys-issue:{report.repo}:{RUN}:{patterns[0].key}")  # sent, no answer
    client.open_issues[publish.five_whys_marker(patterns[0].key)] = IssueRef(55, "https://i/55")
    result = _rest(client, ledger, report)
    assert result.five_whys[patterns[0].key] == "https://i/55"
    assert len(client.named("create_issue")) == len(patterns) - 1


# --- the reconcile loop's decisions ----------------------------------------------------------


class MemoryOwed:
    def __init__(self, document: str | None, held: bool = False) -> None:
        self.documents = {RUN: document.encode()} if document else {}
        self.held = held
        self.settled: list[str] = []
        self.holds: list[float] = []

    def run_ids(self) -> list[str]:
        return sorted(self.documents)

    def get(self, run_id: str) -> bytes | None:
        return self.documents.get(run_id)

    def take(self, run_id: str, hold_seconds: float) -> bool:
        self.holds.append(hold_seconds)
        return not self.held

    def settle(self, run_id: str) -> None:
        self.settled.append(run_id)
        self.documents.pop(run_id, None)


class Client(Issues):
    """Failing steps meet a rate limit: publishing does not wait and retry those."""

    token = "ghs_installation"

    def _record(self, method: str, **kwargs: Any) -> None:
        self.calls.append((method, kwargs))
        if method in self.fail:
            raise GitHubRateLimited(f"{method} rate limited", datetime.now(UTC), 403)


def _record(state: RunState = RunState.COMPLETED, attempt: int = 1) -> RunRecord:
    return RunRecord(
        run_id=RUN, repo="acme/shop", installation_id=7, head_sha="a" * 40, pr_number=42,
        check_run_id=9, state=state, attempt=attempt,
    )  # fmt: skip


CASES = {
    # name: (record, held, GitHub fails, posted, settled)
    "completed, its worker gone: posted": (_record(), False, False, True, True),
    "worker still holds it": (_record(), True, False, False, False),
    "record not completed yet": (_record(RunState.RUNNING), False, False, False, False),
    "another attempt owns the run": (_record(RunState.QUEUED, 2), False, False, False, True),
    "record gone": (None, False, False, False, True),
    "GitHub refuses: kept for a later pass": (_record(), False, True, False, False),
}


@pytest.mark.parametrize("name", CASES)
def test_the_reconcile_loop_posts_what_a_lost_worker_owed(name: str) -> None:
    record, held, fails, posted, settled = CASES[name]
    owed = MemoryOwed(_document(), held=held)
    records = MemoryRunRecords(*([record] if record else []))
    client = Client()
    if fails:
        client.fail = {"upsert_comment"}
    publisher = OwedPublisher(owed, records, lambda _i, _r: client, MemoryLedger())
    done = publisher.finish()
    assert (done == [RUN]) is posted
    assert (owed.settled == [RUN]) is settled
    if posted:
        assert client.named("upsert_comment") and client.named("create_issue")
        patterns = records.get(RUN).patterns or []
        assert patterns and all(p["five_whys_url"] for p in patterns)  # for the dashboard
        assert client.labels == {3: {"golden-path:failing"}}


def test_a_report_github_keeps_refusing_is_given_up_after_its_tries() -> None:
    owed = MemoryOwed(_document())
    client = Client()
    client.fail = {"upsert_comment"}
    publisher = OwedPublisher(owed, MemoryRunRecords(_record()), lambda _i, _r: client)
    for _ in range(MAX_TRIES):
        publisher.finish()
    assert owed.settled == [RUN]
    assert owed.holds == [30.0 * 2**n for n in range(MAX_TRIES)]  # each try waits longer


def test_a_github_error_outside_the_steps_keeps_it_owed() -> None:
    owed = MemoryOwed(_document())

    def broken(_installation: int, _repo: str) -> Client:
        raise GitHubError("token refused", 502)

    assert OwedPublisher(owed, MemoryRunRecords(_record()), broken).finish() == []
    assert owed.settled == []


def test_owed_reports_in_redis_are_held_by_one_poster_at_a_time(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = OwedPublishes(client)
    run_id = f"owed-{uuid.uuid4().hex[:8]}"
    store.owe(run_id, '{"x": 1}', hold_seconds=15)
    assert run_id in store.run_ids() and store.get(run_id) == b'{"x": 1}'
    assert not store.take(run_id, 30)  # its worker holds it
    store.renew(run_id, 15)
    assert not store.take(run_id, 30)
    client.delete(f"gp:owed-hold:{run_id}")  # the worker died: its hold lapsed
    assert store.take(run_id, 30)
    store.renew(run_id, 15)  # a late worker never takes it back from the reconcile loop
    assert client.get(f"gp:owed-hold:{run_id}") == b"reconcile"
    assert not store.take(run_id, 30)
    store.settle(run_id)
    assert run_id not in store.run_ids() and store.get(run_id) is None
    assert client.get(f"gp:owed-hold:{run_id}") is None
