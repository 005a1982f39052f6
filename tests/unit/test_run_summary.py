"""What a run's record keeps of its results: scrubbed before cut, bounded, patterns linked."""

from __future__ import annotations

from bot.core.results import Outcome, PhaseStatus, PhaseVerdict, RunReport, TestResult
from bot.core.scrub import Scrubber
from workers.job import summary

SECRET = "s3cr3t-token-value"
scrub = Scrubber([SECRET]).scrub


def phase(tests: tuple[TestResult, ...]) -> PhaseVerdict:
    return PhaseVerdict(
        phase_id="auth",
        name="Auth",
        mrr_at_risk=0,
        status=PhaseStatus.FAILED,
        passed=1,
        failed=1,
        pass_rate=0.5,
        p95_seconds=1.25,
        duration_seconds=3.14159,
        tests=tests,
    )


def test_verdict_keeps_rates_durations_and_scrubbed_tests():
    tests = (
        TestResult("tests/test_a.py::test_ok", Outcome.PASSED, 0.5),
        TestResult(
            f"tests/test_a.py::test_{SECRET}",
            Outcome.FAILED,
            1.0,
            message=f"login with {SECRET} refused " + "x" * 2000,
        ),
    )
    got = summary.verdict(phase(tests), scrub)
    assert (got["pass_rate"], got["p95_seconds"], got["duration_seconds"]) == (0.5, 1.25, 3.142)
    assert [t["outcome"] for t in got["tests"]] == ["passed", "failed"]
    assert "message" not in got["tests"][0]  # only failures keep their message
    failed = got["tests"][1]
    assert SECRET not in str(got) and "***" in failed["id"] and "***" in failed["message"]
    assert len(failed["message"]) == summary.MAX_MESSAGE_CHARS
    assert got["tests_cut"] is False


def test_verdict_bounds_the_tests_it_keeps():
    many = tuple(TestResult(f"t::test_{i}", Outcome.PASSED) for i in range(500))
    got = summary.verdict(phase(many), scrub)
    assert len(got["tests"]) == summary.MAX_TESTS_PER_PHASE and got["tests_cut"] is True


def test_patterns_carry_their_five_whys_link():
    failing = TestResult("t::test_x", Outcome.FAILED, message="TimeoutError: websocket closed")
    report = RunReport(check_name="c", phases=(phase((failing,)),))
    [pattern] = summary.patterns(report, {}, scrub)
    linked = summary.patterns(report, {pattern["key"]: "https://gh/issues/9"}, scrub)
    assert linked[0]["five_whys_url"] == "https://gh/issues/9"
    assert linked[0]["tests"] == ["t::test_x"] and "TimeoutError" in linked[0]["short"]


def test_a_flaky_test_is_marked_with_its_attempts():
    from bot.core.results import Attempt

    flaky = TestResult(
        "t::test_sometimes",
        Outcome.PASSED,
        attempts=(Attempt(Outcome.FAILED, 0.1, "boom"), Attempt(Outcome.PASSED, 0.1)),
    )
    steady = TestResult("t::test_always", Outcome.PASSED)
    got = summary.verdict(phase((flaky, steady)), scrub)["tests"]
    assert (got[0]["flaky"], got[0]["attempts"]) == (True, 2)
    assert "flaky" not in got[1]
