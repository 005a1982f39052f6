"""`/golden-path rerun-failed`: which phases and tests run again, and how results join (tables)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from bot.core import rerun
from bot.core.plan import parse_plan
from bot.core.results import Attempt, Conclusion, Outcome, PhaseStatus, TestResult
from workers.engine import executor
from workers.job import summary


def stored(
    phase_id: str,
    status: str,
    tests: tuple[tuple[str, str], ...] = (),
    failed_ids: list[str] | None = None,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "phase_id": phase_id,
        "status": status,
        "tests": [{"id": i, "outcome": o, "duration": 0.1} for i, o in tests],
    }
    if failed_ids is not None:
        entry["failed_ids"] = failed_ids
    if counts is not None:
        entry["counts"] = counts
    return entry


SELECTION_CASES = [
    ("a passed phase is carried over", [stored("auth", "passed")], {}, (), ("auth",)),
    (
        "a failed phase runs only its failed ids",
        [stored("ws", "failed", failed_ids=["t.py::a", "t.py::b"])],
        {"ws": ("t.py::a", "t.py::b")},
        (),
        (),
    ),
    (
        "older records: the failed ids come from the kept tests",
        [stored("ws", "failed", (("t.py::ok", "passed"), ("t.py::bad", "error")))],
        {"ws": ("t.py::bad",)},
        (),
        (),
    ),
    (
        "a timed-out phase with a failed test runs that test",
        [stored("ws", "timed_out", failed_ids=["t.py::hang"])],
        {"ws": ("t.py::hang",)},
        (),
        (),
    ),
    (
        "failed without a test to name (p95, a session problem) runs in full",
        [stored("slow", "failed", (("t.py::ok", "passed"),), failed_ids=[])],
        {},
        ("slow",),
        (),
    ),
    ("a phase fail-fast left out runs in full", [stored("later", "not_run")], {}, ("later",), ()),
    ("a phase not selected stays out", [stored("ui", "not_selected")], {}, (), ()),
    (
        "an id that would be an option never reaches pytest's command line",
        [stored("ws", "failed", failed_ids=["--rootdir=/", "t.py::a", "t.py::a"])],
        {"ws": ("t.py::a",)},
        (),
        (),
    ),
    (
        "a scrubbed id names no test: dropped, and the phase runs in full",
        [stored("ws", "failed", failed_ids=["t.py::test_***"])],
        {},
        ("ws",),
        (),
    ),
]


@pytest.mark.parametrize(
    ("verdicts", "tests", "whole", "carried"),
    [case[1:] for case in SELECTION_CASES],
    ids=[case[0] for case in SELECTION_CASES],
)
def test_selection(
    verdicts: list[dict[str, Any]],
    tests: dict[str, tuple[str, ...]],
    whole: tuple[str, ...],
    carried: tuple[str, ...],
) -> None:
    got = rerun.select(verdicts)
    assert (dict(got.tests), got.whole, got.carried) == (tests, whole, carried)
    assert got.anything_to_run == bool(tests or whole)


def test_an_all_green_run_has_nothing_to_run() -> None:
    assert not rerun.select([stored("a", "passed"), stored("b", "not_selected")]).anything_to_run


def result(node_id: str, outcome: Outcome, *attempts: Outcome) -> TestResult:
    return TestResult(
        node_id,
        outcome,
        0.2,
        attempts=tuple(Attempt(a, 0.2) for a in attempts),
    )


EARLIER = stored(
    "ws",
    "failed",
    (("t.py::ok", "passed"), ("t.py::flaky", "failed"), ("t.py::broken", "error")),
    failed_ids=["t.py::flaky", "t.py::broken"],
    counts={"passed": 1, "failed": 1, "errors": 1, "skipped": 2},
)

MERGE_CASES = [
    (
        "a test that passes now is flaky: its earlier failure is its first attempt",
        [result("t.py::flaky", Outcome.PASSED), result("t.py::broken", Outcome.ERROR)],
        {"t.py::flaky": (Outcome.FAILED, True), "t.py::broken": (Outcome.ERROR, False)},
        {"passed": 1, "failed": 1, "errors": 1, "skipped": 2},
    ),
    (
        "a test that fails again keeps its new outcome and is not flaky",
        [result("t.py::flaky", Outcome.FAILED), result("t.py::broken", Outcome.FAILED)],
        {"t.py::flaky": (Outcome.FAILED, False), "t.py::broken": (Outcome.FAILED, False)},
        {"passed": 1, "failed": 2, "errors": 0, "skipped": 2},
    ),
    (
        "a retry inside the rerun keeps every attempt",
        [
            result("t.py::flaky", Outcome.FAILED, Outcome.FAILED, Outcome.PASSED),
            result("t.py::broken", Outcome.ERROR),
        ],
        {"t.py::flaky": (Outcome.FAILED, True), "t.py::broken": (Outcome.ERROR, False)},
        {"passed": 1, "failed": 1, "errors": 1, "skipped": 2},
    ),
]


@pytest.mark.parametrize(
    ("rerun_results", "expected", "counts"),
    [case[1:] for case in MERGE_CASES],
    ids=[case[0] for case in MERGE_CASES],
)
def test_merge(
    rerun_results: list[TestResult],
    expected: dict[str, tuple[Outcome, bool]],
    counts: dict[str, int],
) -> None:
    merged = rerun.merge(EARLIER, rerun_results)
    by_id = {t.node_id: t for t in merged.tests}
    assert by_id["t.py::ok"].outcome is Outcome.PASSED  # kept from the earlier run
    for node_id, (outcome, flaky) in expected.items():
        assert (by_id[node_id].outcome, by_id[node_id].flaky) == (outcome, flaky), node_id
    assert {k: v for k, v in merged.counts.items() if v} == {k: v for k, v in counts.items() if v}


def test_a_carried_phase_keeps_its_counts_and_says_so() -> None:
    earlier = stored(
        "auth", "passed", (("a.py::t", "passed"),), counts={"passed": 12, "skipped": 1}
    )
    verdict = rerun.carried_verdict(earlier, name="Auth", mrr_at_risk=120_000)
    assert verdict.status is PhaseStatus.PASSED and verdict.carried_over
    assert (verdict.passed, verdict.skipped, verdict.total) == (12, 1, 12)


SUITE = """
import os

def test_ok():
    pass

def test_flaky():
    assert os.environ.get("STAGING_STATE") == "up", "staging answered 503"

def test_broken():
    assert 1 + 1 == 3
"""

PLAN = """
fail_fast: false
flaky: {flaky}
env:
  STAGING_STATE: {state}
phases:
  - id: auth
    suites: [tests/test_auth.py]
  - id: ws
    suites: [tests/test_ws.py]
"""


def run_plan(root: Path, state: str, flaky: str = "fail", **kw: Any) -> Any:
    plan = parse_plan(PLAN.format(state=state, flaky=flaky))
    return executor.execute(
        root,
        plan,
        plan.phase_ids,
        env=executor.build_env(plan, {"PATH": "/usr/bin:/bin", "HOME": str(root)}),
        artifacts=root / f"artifacts-{state}",
        scrub=str,
        **kw,
    )


@pytest.mark.parametrize(
    ("flaky", "conclusion"), [("fail", Conclusion.FAILURE), ("pass", Conclusion.FAILURE)]
)
def test_a_rerun_runs_only_the_failed_tests_and_carries_the_rest(
    tmp_path: Path, flaky: str, conclusion: Conclusion
) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_auth.py").write_text("def test_login():\n    pass\n")
    (tmp_path / "tests/test_ws.py").write_text(textwrap.dedent(SUITE))
    first = run_plan(tmp_path, "down", flaky)
    kept = [summary.verdict(p, str) for p in first.phases]
    assert [v["failed_ids"] for v in kept] == [
        [],
        ["tests/test_ws.py::test_flaky", "tests/test_ws.py::test_broken"],
    ]
    selection = rerun.select(kept)
    assert (selection.carried, tuple(selection.tests)) == (("auth",), ("ws",))
    # The auth suite breaks between the runs: a carried phase must not run again.
    (tmp_path / "tests/test_auth.py").write_text("def test_login():\n    assert False\n")
    carried = {"auth": rerun.carried_verdict(kept[0], name="auth", mrr_at_risk=0)}
    second = run_plan(tmp_path, "up", flaky, rerun={"ws": kept[1]}, carried=carried)
    auth, ws = second.phases
    assert auth.carried_over and auth.status is PhaseStatus.PASSED and auth.passed == 1
    tests = {t.node_id.split("::")[1]: t for t in ws.tests}
    assert set(tests) == {"test_ok", "test_flaky", "test_broken"}
    assert tests["test_flaky"].flaky and len(tests["test_flaky"].attempts) == 2
    assert tests["test_ok"].attempts == ()  # kept from the first run, not run again
    # test_broken still fails, so the phase fails under either policy; the flaky test counts
    # as failed with `flaky: fail` and as passed with `flaky: pass`.
    assert (ws.passed, ws.failed) == ((1, 2) if flaky == "fail" else (2, 1))
    assert ws.flaky_count == 1 and second.conclusion is conclusion
    log = (tmp_path / "artifacts-up" / "pytest-ws.log").read_text()
    assert "1 failed, 1 passed in" in log  # the two failed tests ran, test_ok did not
