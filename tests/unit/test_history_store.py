"""History in a real redis-server: bounded lists, rankings, and what a report shows from it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
import redis

from bot.core.history import RunEntry
from bot.core.report.check_output import render_check_output
from bot.core.report.facts import failure_patterns
from bot.core.report.five_whys import render_five_whys_issue
from bot.core.report.pr_comment import render_pr_comment
from bot.core.results import (
    Attempt,
    Conclusion,
    Outcome,
    PhaseStatus,
    PhaseVerdict,
    RunReport,
    TestResult,
)
from bot.state.history import History
from workers import recall

REPO = "acme/shop"


@pytest.fixture
def store(redis_url: str) -> Iterator[History]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield History(client, max_age_days=90, max_entries=5)
    client.close()


def run(pr: int | None, sha: str, failing: bool, requested_by: str = "octocat") -> RunReport:
    broken = TestResult(
        "tests/test_ws.py::test_events", Outcome.FAILED, 1.0, "tests/test_ws.py", 9,
        "TimeoutError: websocket closed before agent_completed",
    )  # fmt: skip
    ok = TestResult("tests/test_ws.py::test_ok", Outcome.PASSED, 0.5)
    flaky = TestResult(
        "tests/test_ws.py::test_retry", Outcome.PASSED, 0.5,
        attempts=(Attempt(Outcome.FAILED, 0.5), Attempt(Outcome.PASSED, 0.4)),
    )  # fmt: skip
    tests = (
        (ok, flaky, broken)
        if failing
        else (ok, flaky, dataclasses.replace(broken, outcome=Outcome.PASSED, message=""))
    )
    phase = PhaseVerdict(
        "ws", "Websocket", 10_000, PhaseStatus.FAILED if failing else PhaseStatus.PASSED,
        passed=2 if failing else 3, failed=int(failing), tests=tests, flaky_count=1,
    )  # fmt: skip
    return RunReport(
        "Golden Path P0", (phase,), Conclusion.FAILURE if failing else Conclusion.SUCCESS,
        repo=REPO, head_sha=sha * 40, pr_number=pr, run_id=f"run-{sha}", requested_by=requested_by,
        duration_seconds=12.0,
    )  # fmt: skip


def test_lists_are_bounded_and_newest_first(store: History) -> None:
    for i in range(8):
        entry = RunEntry(
            run_id=f"r{i}", sha=f"{i}" * 40, conclusion="failure", at=time.time(), pr_number=1
        )
        store.record_run(REPO, entry, patterns=[], tests=[])
    assert [e.run_id for e in store.pr_runs(REPO, 1)] == ["r7", "r6", "r5", "r4", "r3"]


def test_old_entries_are_dropped_on_read(store: History) -> None:
    old = time.time() - 91 * 86400
    store.record_run(
        REPO, RunEntry(run_id="old", sha="a" * 40, conclusion="failure", at=old, pr_number=1),
        patterns=[("k1", "T: x")], tests=[],
    )  # fmt: skip
    assert store.pr_runs(REPO, 1) == [] and store.pattern_occurrences(REPO, "k1") == []


def test_pattern_tags_flaky_rates_and_rankings(store: History) -> None:
    recall.remember(store, run(3, "a", failing=True))
    recall.remember(store, run(None, "b", failing=True), default_branch=True)
    report = recall.gather(store, run(7, "c", failing=True))
    [pattern] = failure_patterns(report)
    comment = render_pr_comment(report, {})
    assert "**also failing on the default branch** (seen 2 times in #3" in comment
    assert "flaky in 3 of its last 3 runs" in comment
    title, body = render_five_whys_issue(pattern, report)
    assert title == "Five whys: TimeoutError: websocket closed before agent_completed"
    assert "| First seen |" in body and "| Flaky |" in body
    recall.remember(store, report)
    assert store.frequent_patterns(REPO) == [(pattern.short, 3)]
    assert store.flakiest(REPO) == [("tests/test_ws.py::test_retry", 3)]


def test_new_and_seen_before(store: History) -> None:
    first = recall.gather(store, run(5, "a", failing=True))
    assert "**new in this pull request**" in render_check_output(first).summary
    recall.remember(store, first)
    again = recall.gather(store, run(5, "b", failing=True))
    assert "**new in this pull request**" in render_pr_comment(again, {})  # same PR: still new
    recall.remember(store, again)
    other = recall.gather(store, run(6, "c", failing=True))
    assert "**seen before** in #5 (2 times since" in render_pr_comment(other, {})


def test_history_table_and_one_mention_only_on_a_flip(store: History) -> None:
    comments = []
    for sha, failing in (("a", True), ("b", True), ("c", False), ("d", False)):
        report = recall.gather(store, run(9, sha, failing))
        comments.append(render_pr_comment(report, {}))
        recall.remember(store, report)
    assert [c.count("@octocat") for c in comments] == [0, 0, 1, 0]
    assert "@octocat: the golden path now passes (it failed before)." in comments[2]
    table = comments[2].split("<summary>Runs of this pull request (3)</summary>")[1]
    rows = [ln for ln in table.splitlines() if ln.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == [
        f"`{'c' * 7}` (this run)",
        f"`{'b' * 7}`",
        f"`{'a' * 7}`",
    ]
    assert "✅ passed" in rows[0] and "❌ failed" in rows[1]


def test_history_command_prints_flakiest_tests_and_patterns(
    store: History,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.settings import get_settings
    from workers import cli

    for sha in ("a", "b"):
        recall.remember(store, run(4, sha, failing=True))
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        assert cli.main(["history", REPO]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "tests/test_ws.py::test_retry" in out
    assert "TimeoutError: websocket closed before agent_completed" in out
    [row] = [ln for ln in out.splitlines() if "test_retry" in ln]
    assert "2" in row
