"""Publishing a run through a recording client: what reaches GitHub, in what shape and order."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.core.plan import Plan
from bot.core.report.facts import PR_COMMENT_MARKER, failure_patterns, five_whys_marker
from bot.core.results import Conclusion
from bot.core.scrub import Scrubber
from bot.github.client import GitHubError, IssueRef
from tests.unit.test_report import _many_failures, fixture_report
from workers import publish

SECRET = "hunter2-staging-key"


class Recorder:
    """Implements the RepoClient methods publishing uses; records every call; keeps state."""

    def __init__(
        self, open_issues: dict[str, IssueRef] | None = None, pulls: frozenset[int] = frozenset()
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.pulls = pulls  # numbers that are pull requests, not issues
        self.comments: dict[tuple[int, str], str] = {}  # (number, marker) -> body
        self.open_issues = dict(open_issues or {})  # marker -> issue
        self.labels: dict[int, set[str]] = {}
        self.fail: set[str] = set()
        self._next = 100

    def _record(self, method: str, **kwargs: Any) -> None:
        self.calls.append((method, kwargs))
        if method in self.fail:
            raise GitHubError(f"{method} failed", 502)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kw for n, kw in self.calls if n == name]

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        self._record("update_check_run", check_run_id=check_run_id, **fields)

    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        self._record("upsert_comment", number=number, marker=marker, body=body)
        assert body.startswith(marker) or marker in body
        self.comments[(number, marker)] = body
        return f"https://github.example/c/{number}/{len(self.comments)}"

    def comment(self, number: int, body: str) -> str:
        self._record("comment", number=number, body=body)
        return f"https://github.example/issues/{number}#c"

    def find_issue(self, label: str, marker: str) -> IssueRef | None:
        self._record("find_issue", label=label, marker=marker)
        return self.open_issues.get(marker)

    def update_issue(self, number: int, *, body: str, state: str | None = None) -> None:
        self._record("update_issue", number=number, body=body, state=state)

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef:
        self._record("create_issue", title=title, body=body, labels=labels)
        self._next += 1
        return IssueRef(self._next, f"https://github.example/issues/{self._next}")

    def ensure_label(self, name: str, color: str, description: str) -> None:
        self._record("ensure_label", name=name, color=color, description=description)

    def add_labels(self, number: int, names: list[str]) -> None:
        self._record("add_labels", number=number, names=names)
        self.labels.setdefault(number, set()).update(names)

    def remove_label(self, number: int, name: str) -> None:
        self._record("remove_label", number=number, name=name)
        self.labels.setdefault(number, set()).discard(name)

    def is_pull_request(self, number: int) -> bool:
        self._record("is_pull_request", number=number)
        return number in self.pulls


def _plan(five_whys: str = "issue") -> Plan:
    return Plan.model_validate(
        {"five_whys": five_whys, "phases": [{"id": "auth", "suites": ["t"]}]}
    )


PLAN = _plan()


def _publish(client: Recorder, rep: Any = None, **kw: Any) -> publish.PublishResult:
    args: dict[str, Any] = {
        "check_run_id": 9,
        "plan": PLAN,
        "pr_body": "Fixes #5 and closes acme/shop#6, not other/repo#7",
        "scrubber": Scrubber([SECRET]),
    }
    args.update(kw)
    return publish.publish_report(client, rep or fixture_report(), **args)


def test_check_run_completes_with_output_and_annotations() -> None:
    client = Recorder()
    _publish(client)
    (update,) = client.named("update_check_run")
    assert update["check_run_id"] == 9
    assert (update["status"], update["conclusion"]) == ("completed", "failure")
    assert update["title"] == "1 of 3 phases failed — $180,000 MRR at risk"
    assert "HOLD production deployment" in update["summary"]
    assert len(update["annotations"]) == 3


def test_annotations_go_fifty_per_request_with_title_and_summary_each_time() -> None:
    client = Recorder()
    _publish(client, _many_failures(1234))
    updates = client.named("update_check_run")
    sizes = [len(u.get("annotations", [])) for u in updates]
    assert sizes == [50] * 20  # 1000 at most, 50 per request
    assert updates[0]["status"] == "completed"
    assert all("status" not in u for u in updates[1:])
    assert all(u["title"] and u["summary"] for u in updates)
    sent = [a["title"] for u in updates for a in u["annotations"]]
    assert len(set(sent)) == 1000


def test_every_string_is_scrubbed() -> None:
    rep = fixture_report()
    bad = dataclasses.replace(
        rep.phases[1].tests[0], message=f"token {SECRET} leaked", traceback=f"env K={SECRET}"
    )
    phase = dataclasses.replace(rep.phases[1], tests=(bad, *rep.phases[1].tests[1:]))
    rep = dataclasses.replace(rep, phases=(rep.phases[0], phase, *rep.phases[2:]))
    client = Recorder()
    _publish(client, rep)
    assert client.calls
    assert SECRET not in repr(client.calls)
    assert "***" in repr(client.named("update_check_run"))


def test_five_whys_issue_per_pattern_then_comment_on_recurrence() -> None:
    client = Recorder()
    result = _publish(client)
    created = client.named("create_issue")
    assert len(created) == 2
    assert all(c["title"].startswith("Five whys: ") for c in created)
    assert all(c["labels"] == ["five-whys"] for c in created)
    assert client.named("ensure_label")[0]["name"] == "five-whys"
    patterns = failure_patterns(fixture_report())
    assert set(result.five_whys) == {p.key for p in patterns}
    for p, c in zip(patterns, created, strict=True):
        assert c["body"].startswith(five_whys_marker(p.key))

    # the same failure again: a comment on the open issue, no new issue
    marker = five_whys_marker(patterns[0].key)
    again = Recorder({marker: IssueRef(7, "https://github.example/issues/7")})
    result = _publish(again)
    assert len(again.named("create_issue")) == 1
    (comment,) = again.named("comment")
    assert comment["number"] == 7 and "happened again" in comment["body"]
    assert result.five_whys[patterns[0].key] == "https://github.example/issues/7"
    pr_comment = again.comments[(42, PR_COMMENT_MARKER)]
    assert "https://github.example/issues/7" in pr_comment
    (edited,) = again.named("update_issue")  # the "Seen in" table, added to the old body
    assert edited["number"] == 7 and edited["state"] is None
    assert "### Seen in (1 run)" in edited["body"]


SEEN_IN_CASES = [
    # name, the issue's state, whether it is reopened, the heading of the recurrence comment
    ("an open issue gets its table rewritten", "open", None, "happened again"),
    ("a closed issue is reopened", "closed", "open", "Reopened: this failure pattern"),
]


@pytest.mark.parametrize(
    ("state", "new_state", "heading"),
    [case[1:] for case in SEEN_IN_CASES],
    ids=[case[0] for case in SEEN_IN_CASES],
)
def test_a_recurring_pattern_rewrites_its_seen_in_table_in_place(
    state: str, new_state: str | None, heading: str
) -> None:
    marker = five_whys_marker(failure_patterns(fixture_report())[0].key)
    people = (
        "### Five whys\n\n1. Why? Because the gateway pool was exhausted (filled in by a person)"
    )
    table = "<!-- golden-path:seen-in -->old table<!-- /golden-path:seen-in -->"
    body = f"{marker}\nold evidence\n{table}\n\n{people}"
    client = Recorder({marker: IssueRef(7, "https://github.example/issues/7", state, body)})
    _publish(client)
    (edited,) = client.named("update_issue")
    assert edited["state"] == new_state
    assert "old table" not in edited["body"] and "### Seen in (1 run)" in edited["body"]
    assert edited["body"].startswith(f"{marker}\nold evidence\n") and edited["body"].endswith(
        people
    )
    (comment,) = [c for c in client.named("comment") if c["number"] == 7]
    assert heading in comment["body"]


def test_five_whys_comment_mode_and_off() -> None:
    comment_plan = _plan("comment")
    client = Recorder()
    _publish(client, plan=comment_plan)
    assert not client.named("create_issue")
    markers = {kw["marker"] for kw in client.named("upsert_comment") if kw["number"] == 42}
    assert sum(m.startswith("<!-- golden-path:five-whys sig=") for m in markers) == 2

    off = Recorder()
    _publish(off, plan=_plan("off"))
    assert not off.named("create_issue") and not off.named("find_issue")


def test_sticky_pr_comment_and_linked_issues() -> None:
    client = Recorder()
    result = _publish(client)
    assert (42, PR_COMMENT_MARKER) in client.comments
    assert result.linked_issues == [5, 6]
    assert (5, "<!-- golden-path:linked-issue pr=42 -->") in client.comments
    assert client.labels == {5: {"golden-path:failing"}, 6: {"golden-path:failing"}}
    removed = {(kw["number"], kw["name"]) for kw in client.named("remove_label")}
    assert removed == {(5, "golden-path:passing"), (6, "golden-path:passing")}

    passing = dataclasses.replace(
        fixture_report(Conclusion.SUCCESS), phases=fixture_report().phases[:1]
    )
    _publish(client, passing)
    assert client.labels == {5: {"golden-path:passing"}, 6: {"golden-path:passing"}}


def test_a_failing_step_does_not_stop_the_others() -> None:
    client = Recorder()
    client.fail = {"create_issue"}
    result = _publish(client)
    assert len(result.errors) == 2
    assert (42, PR_COMMENT_MARKER) in client.comments
    assert result.linked_issues == [5, 6]


def test_check_run_failure_propagates() -> None:
    client = Recorder()
    client.fail = {"update_check_run"}
    with pytest.raises(GitHubError):
        _publish(client)
    assert not client.named("create_issue")


def test_progress_publishes_an_in_progress_check_run() -> None:
    client = Recorder()
    rep = fixture_report(None)
    publish.publish_progress(client, rep, check_run_id=3, scrubber=Scrubber([]))
    [progress] = client.named("update_check_run")
    assert progress["status"] == "in_progress" and "annotations" not in progress
    assert "Recommendation pending" in progress["summary"]


def test_in_progress_report_publishes_only_the_check_run() -> None:
    client = Recorder()
    _publish(client, fixture_report(None))
    assert [n for n, _ in client.calls] == ["update_check_run"]


def test_fixes_naming_another_pull_request_does_not_touch_it() -> None:
    """Issue 9: `Fixes #N` naming another pull request relabelled it."""
    client = Recorder(pulls=frozenset({6}))
    result = _publish(client)
    assert result.linked_issues == [5]
    assert client.labels == {5: {"golden-path:failing"}}
    assert not [c for c in client.calls if c[1].get("number") == 6 and c[0] != "is_pull_request"]
