"""A five-whys issue's "Seen in" table: its rows, and its place in a body people edit (tables)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.history import SEEN_IN_ROWS, HistoryView, Occurrence, PatternHistory, Seen
from bot.core.report.facts import failure_patterns
from bot.core.report.seen_in import END, START, render_seen_in, splice
from tests.unit.test_report import fixture_report

DAY = 86_400.0
NOW = 1_780_000_000.0  # 2026-05-28


def occurrence(days_ago: int, **fields: object) -> Occurrence:
    return Occurrence(run_id=f"run{days_ago}", sha="abcdef0123", at=NOW - days_ago * DAY, **fields)  # type: ignore[arg-type]


def table(earlier: list[Occurrence], count: int | None = None, default_branch: bool = False) -> str:
    report = fixture_report()
    pattern = failure_patterns(report)[0]
    history = HistoryView(
        patterns={
            pattern.key: PatternHistory(
                Seen.SEEN_BEFORE,
                count=len(earlier) if count is None else count,
                occurrences=tuple(earlier),
            )
        },
        tests={},
        last_passed={},
        default_branch_run=default_branch,
    )
    return render_seen_in(pattern, dataclasses.replace(report, history=history), NOW)


def rows(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("| 20") or ln.startswith("| …")]


ROW_CASES = [
    ("first time: this run only", [], False, ["| 2026-05-28 | #42 |"]),
    (
        "newest first, with where each was seen",
        [occurrence(1, default_branch=True), occurrence(3, pr_number=7), occurrence(5)],
        False,
        [
            "| 2026-05-28 | #42 |",
            "| 2026-05-27 | default branch |",
            "| 2026-05-25 | #7 |",
            "| 2026-05-23 | a commit outside pull requests |",
        ],
    ),
    ("a run of the default branch says so", [], True, ["| 2026-05-28 | default branch |"]),
]


@pytest.mark.parametrize(
    ("earlier", "default_branch", "starts"),
    [c[1:] for c in ROW_CASES],
    ids=[c[0] for c in ROW_CASES],
)
def test_rows(earlier: list[Occurrence], default_branch: bool, starts: list[str]) -> None:
    text = table(earlier, default_branch=default_branch)
    assert text.startswith(START) and text.endswith(END)
    got = rows(text)
    assert len(got) == len(starts)
    for row, start in zip(got, starts, strict=True):
        assert row.startswith(start), row


def test_the_table_is_bounded_and_counts_the_rest() -> None:
    earlier = [occurrence(d, pr_number=d) for d in range(1, 40)]
    text = table(earlier[: SEEN_IN_ROWS - 1], count=len(earlier))
    assert f"### Seen in ({len(earlier) + 1} runs)" in text
    assert len(rows(text)) == SEEN_IN_ROWS + 1
    assert rows(text)[-1] == f"| … | and {len(earlier) + 1 - SEEN_IN_ROWS} earlier | | |"


SECTION = f"{START}\nnew table\n{END}"
SPLICE_CASES = [
    (
        "replaces the old section, keeps what people wrote around it",
        f"evidence\n{START}\nold\n{END}\n\n### Five whys\n1. Why? pool exhausted",
        f"evidence\n{SECTION}\n\n### Five whys\n1. Why? pool exhausted",
    ),
    (
        "an older issue without a section gets it before the five whys",
        "evidence\n\n### Five whys\n1. Why?",
        f"evidence\n\n{SECTION}\n\n### Five whys\n1. Why?",
    ),
    ("a body rewritten by people gets it at the end", "all mine", f"all mine\n\n{SECTION}\n"),
    (
        "an end marker before the start is no section",
        f"x {END} y {START}",
        f"x {END} y {START}\n\n{SECTION}\n",
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in SPLICE_CASES], ids=[c[0] for c in SPLICE_CASES]
)
def test_splice(body: str, expected: str) -> None:
    assert splice(body, SECTION) == expected
    assert splice(splice(body, SECTION), SECTION) == expected  # rewriting again changes nothing
