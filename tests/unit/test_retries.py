"""Retries and the flaky policy: decisions as tables against a fake rerun, then real pytest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.core.plan import FlakyPolicy, parse_plan
from bot.core.results import Outcome, PhaseStatus, TestResult
from workers.engine import executor
from workers.engine.retries import apply_policy, retry_failures

P, F, E = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR


def result(node_id: str, outcome: Outcome, duration: float = 1.0) -> TestResult:
    return TestResult(node_id, outcome, duration, message="boom" if outcome is not P else "")


class FakeRerun:
    """Plays back a script of outcomes per test; records every call."""

    def __init__(self, script: dict[str, list[Outcome]]):
        self.script = script
        self.calls: list[tuple[str, float]] = []

    def __call__(self, node_id: str, left: float) -> TestResult:
        self.calls.append((node_id, left))
        return result(node_id, self.script[node_id].pop(0), 0.5)


@pytest.mark.parametrize(
    ("case", "retries", "script", "left", "attempts", "flaky"),
    [
        ("no retries configured", 0, [], 60.0, [F], False),
        ("passes on the first retry", 2, [P], 60.0, [F, P], True),
        ("passes on the last retry", 3, [F, F, P], 60.0, [F, F, F, P], True),
        ("never passes", 2, [F, E], 60.0, [F, F, E], False),
        ("no time left in the phase", 3, [P], 0.5, [F], False),
    ],
)
def test_retry_failures(
    case: str,
    retries: int,
    script: list[Outcome],
    left: float,
    attempts: list[Outcome],
    flaky: bool,
) -> None:
    rerun = FakeRerun({"t::bad": list(script)})
    tests = [result("t::ok", P), result("t::bad", F)]
    out = retry_failures(tests, retries=retries, rerun=rerun, seconds_left=lambda: left)
    ok, bad = out
    assert ok == tests[0], case  # passed tests are never re-run
    assert [c[0] for c in rerun.calls] == ["t::bad"] * (len(attempts) - 1), case
    assert [a.outcome for a in bad.attempts or (bad,)] == attempts, case
    assert bad.flaky is flaky, case
    assert bad.outcome is F, case  # the policy, not the retry, decides the final outcome


@pytest.mark.parametrize(
    ("policy", "outcome", "counts"),
    [
        (FlakyPolicy.FAIL, F, {"passed": 1, "failed": 1, "errors": 0}),
        (FlakyPolicy.PASS, P, {"passed": 2, "failed": 0, "errors": 0}),
    ],
)
def test_apply_policy(policy: FlakyPolicy, outcome: Outcome, counts: dict[str, int]) -> None:
    rerun = FakeRerun({"t::flaky": [P]})
    tests = retry_failures(
        [result("t::ok", P), result("t::flaky", F)],
        retries=1,
        rerun=rerun,
        seconds_left=lambda: 60.0,
    )
    final, moved = apply_policy(tests, {"passed": 1, "failed": 1, "errors": 0}, policy)
    assert final[1].outcome is outcome
    assert final[1].flaky  # shown apart either way
    assert moved == counts


FLAKY_SUITE = textwrap.dedent(
    """
    import os, pathlib

    def test_stable():
        pass

    def test_flaky():
        marker = pathlib.Path(os.environ["MARKER"])
        if not marker.exists():
            marker.write_text("failed once")
            assert False, "websocket closed before agent_completed"

    def test_broken():
        assert 1 == 2
    """
)


@pytest.mark.parametrize(("policy", "status"), [("fail", "failed"), ("pass", "passed")])
def test_real_retries_under_both_policies(tmp_path: Path, policy: str, status: str) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_flaky.py").write_text(FLAKY_SUITE)
    suites = "tests/test_flaky.py::test_stable, tests/test_flaky.py::test_flaky"
    plan = parse_plan(
        f"flaky: {policy}\nfail_fast: false\nphases:\n"
        f"  - {{id: ws, retries: 2, suites: [{suites}]}}\n"
        "  - {id: broken, retries: 1, suites: [tests/test_flaky.py::test_broken]}\n"
    )
    env = executor.build_env(plan, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    env["MARKER"] = str(tmp_path / "marker")
    report = executor.execute(
        tmp_path, plan, plan.phase_ids, env=env, artifacts=tmp_path / "a", scrub=str
    )
    ws, broken = report.phases
    assert ws.status is PhaseStatus(status)
    [flaky] = ws.flaky_tests
    assert flaky.node_id == "tests/test_flaky.py::test_flaky"
    assert [a.outcome for a in flaky.attempts] == [F, P]
    assert flaky.attempts[0].message.startswith("AssertionError: websocket closed")
    assert ws.flaky_count == 1
    assert (ws.passed, ws.failed) == ((1, 1) if policy == "fail" else (2, 0))
    [never] = broken.failures
    assert [a.outcome for a in never.attempts] == [F, F]  # retried alone, failed again
    assert not never.flaky and broken.status is PhaseStatus.FAILED
    assert (tmp_path / "a" / executor.OUTPUT_DIR / "junit-ws-retry-1.xml").exists()
