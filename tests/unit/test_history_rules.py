"""History decisions as tables: pattern tags, flaky rates, the mention on a flip only."""

from __future__ import annotations

import pytest

from bot.core.history import (
    Occurrence,
    RunEntry,
    Seen,
    flaky_history,
    last_passing,
    mention,
    tag_pattern,
)


def seen(pr: int | None, at: float = 1.0, default: bool = False, outcome: str = "failed"):
    return Occurrence(
        run_id=f"r{at}", sha="a" * 40, at=at, pr_number=pr, default_branch=default, outcome=outcome
    )


@pytest.mark.parametrize(
    ("case", "earlier", "on_default", "expected", "prs", "count"),
    [
        ("never seen", [], False, Seen.NEW, (), 0),
        ("only in this PR's earlier runs", [seen(7), seen(7, 2)], False, Seen.NEW, (7,), 2),
        ("in other PRs", [seen(3), seen(5, 2), seen(7, 3)], False, Seen.SEEN_BEFORE, (3, 5, 7), 3),
        ("on a default-branch run", [seen(None, default=True)], False, Seen.SEEN_BEFORE, (), 1),
        ("failing on the default branch now", [seen(3)], True, Seen.ON_DEFAULT_BRANCH, (3,), 1),
    ],
)
def test_tag_pattern(case, earlier, on_default, expected, prs, count) -> None:
    tagged = tag_pattern(earlier, pr_number=7, failing_on_default=on_default)
    assert (tagged.seen, tagged.pull_requests, tagged.count) == (expected, prs, count), case
    if earlier:
        assert tagged.first_seen == min(o.at for o in earlier)


def test_flaky_rate_over_the_last_runs() -> None:
    runs = [seen(1, i, outcome=o) for i, o in enumerate(["flaky", "passed", "flaky", "failed"])]
    runs += [seen(1, 10 + i, outcome="flaky") for i in range(30)]  # older than the window
    history = flaky_history(runs, window=4)
    assert (history.runs, history.flaky, history.failed) == (4, 2, 1)
    assert history.flaky_rate == 0.5
    assert last_passing(runs) == runs[1]


def entry(conclusion: str) -> RunEntry:
    return RunEntry(run_id="r", sha="a" * 40, conclusion=conclusion)


@pytest.mark.parametrize(
    ("case", "previous", "now", "expected"),
    [
        ("first run", [], "failure", None),
        ("repeat red", [entry("failure")], "failure", None),
        ("repeat green", [entry("success")], "success", None),
        ("red to green", [entry("failure")], "success", "octocat"),
        ("green to red", [entry("success"), entry("failure")], "failure", "octocat"),
        (
            "cancelled runs are skipped",
            [entry("cancelled"), entry("failure")],
            "success",
            "octocat",
        ),
        ("a cancelled run never mentions", [entry("failure")], "cancelled", None),
    ],
)
def test_mention_only_on_a_flip(case, previous, now, expected) -> None:
    assert mention(previous, now, "octocat") == expected, case
