"""The five whys' "changes since these tests last passed": which compares a run makes, and what
a refused one costs (tables, an in-memory comparer)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.history import Changes, HistoryView, Occurrence
from bot.core.report.facts import failure_patterns
from bot.core.report.five_whys import render_five_whys_issue
from bot.core.results import RunReport
from bot.github.client import GitHubError
from tests.unit.test_report import fixture_report
from workers.job.history import MAX_COMPARES, with_changes

HEAD = fixture_report().head_sha


class Comparer:
    def __init__(self, refuse: bool = False) -> None:
        self.asked: list[tuple[str, str]] = []
        self.refuse = refuse

    def compare(self, base: str, head: str) -> Changes:
        self.asked.append((base, head))
        if self.refuse:
            raise GitHubError("compare refused", 502)
        return Changes(base, (("c0ffee1234", "Round totals down"),), ("src/totals.py",), 1, 1)


def report_with(passed_at: dict[str, str]) -> RunReport:
    """The fixture run, whose failed tests last passed on the given commits."""
    report = fixture_report()
    view = HistoryView(
        patterns={},
        tests={},
        last_passed={
            node: Occurrence(run_id="r0", sha=sha, at=float(i))
            for i, (node, sha) in enumerate(passed_at.items())
        },
    )
    return dataclasses.replace(report, history=view)


FAILED = [t for p in failure_patterns(fixture_report()) for t in p.tests]

CASES = [
    ("never passed: nothing to compare", {}, False, []),
    ("passed on this very commit: nothing changed", {FAILED[0]: HEAD}, False, []),
    ("passed before: one compare", {FAILED[0]: "a" * 40}, False, [("a" * 40, HEAD)]),
    ("a refused compare leaves the evidence out", {FAILED[0]: "a" * 40}, True, [("a" * 40, HEAD)]),
]


@pytest.mark.parametrize(
    ("passed_at", "refuse", "asked"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_compares(passed_at: dict[str, str], refuse: bool, asked: list[tuple[str, str]]) -> None:
    comparer = Comparer(refuse)
    result = with_changes(comparer, report_with(passed_at))
    assert comparer.asked == asked
    bodies = [render_five_whys_issue(p, result)[1] for p in failure_patterns(result)]
    shown = any("Round totals down" in body for body in bodies)
    assert shown == bool(asked and not refuse)


def test_compares_are_bounded_per_run() -> None:
    patterns = failure_patterns(fixture_report())
    passed_at = {p.tests[0]: f"{i:x}" * 40 for i, p in enumerate(patterns, start=1)}
    comparer = Comparer()
    with_changes(comparer, report_with(passed_at))
    assert len(comparer.asked) == min(len(patterns), MAX_COMPARES)
    assert len({base for base, _ in comparer.asked}) == len(comparer.asked)
