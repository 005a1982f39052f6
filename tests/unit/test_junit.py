"""JUnit XML (as pytest 8/9 writes it with junit_family=xunit1) to TestResult values."""

# ruff: noqa: E501 - recorded XML lines are kept whole

from __future__ import annotations

import pytest

from bot.core.results import Outcome
from bot.core.scrub import Scrubber
from workers.engine import junit

# Recorded from `pytest --junitxml out.xml -o junit_family=xunit1` (trimmed), source lines:
# 3 `def test_ok`, 6 `def test_fail`, 8 the failing assert, 10 `def test_err(bad_fixture)`.
REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="0.035">
<testcase classname="sub.test_a.TestX" name="test_ok" file="sub/test_a.py" line="2" time="0.250" />
<testcase classname="sub.test_a" name="test_fail" file="sub/test_a.py" line="5" time="1.5">
<failure message="AssertionError: mismatch&#10;  second line&#10;assert 1 == 2">def test_fail():
        x = {"a": 1}
&gt;       assert x["a"] == 2, "mismatch\\nsecond line"
E       AssertionError: mismatch
E         second line
E       assert 1 == 2

sub/test_a.py:8: AssertionError</failure></testcase>
<testcase classname="sub.test_a" name="test_err" file="sub/test_a.py" line="9" time="0.000">
<error message="failed on setup with &quot;file /tmp/jx/sub/test_a.py, line 10&#10;  def test_err(bad_fixture):&#10;E       fixture 'bad_fixture' not found&#10;[+4 more lines; full report in element text]">file /tmp/jx/sub/test_a.py, line 10
  def test_err(bad_fixture):
E       fixture 'bad_fixture' not found

/tmp/jx/sub/test_a.py:10</error></testcase>
<testcase classname="sub.test_a" name="test_skip" file="sub/test_a.py" line="19" time="0.000">
<skipped type="pytest.skip" message="nope">/tmp/jx/sub/test_a.py:20: nope</skipped></testcase>
<testcase classname="sub.test_a" name="test_param[a.b-2]" file="sub/test_a.py" line="23" time="0.1" />
<testcase time="0.000" />
</testsuite></testsuites>"""

COLLECTION = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1" time="0.158">
<testcase classname="" name="tests.test_syntax" file="tests/test_syntax.py" time="0.000">
<error message="collection failure">/venv/_pytest/python.py:528: in importtestmodule
    mod = import_path(
E     File "/tmp/checkout/tests/test_syntax.py", line 4
E       def test_x(:
E                  ^
E   SyntaxError: invalid syntax</error></testcase></testsuite></testsuites>"""


def by_id() -> dict[str, junit.TestResult]:
    return {t.node_id: t for t in junit.parse(REPORT, scrub=str).tests}


def test_node_ids_use_file_and_classes() -> None:
    assert list(by_id()) == [
        "sub/test_a.py::TestX::test_ok",
        "sub/test_a.py::test_fail",
        "sub/test_a.py::test_err",
        "sub/test_a.py::test_skip",
        "sub/test_a.py::test_param[a.b-2]",
    ]


@pytest.mark.parametrize(
    ("node", "outcome", "duration", "line", "message"),
    [
        ("sub/test_a.py::TestX::test_ok", Outcome.PASSED, 0.25, 3, ""),
        ("sub/test_a.py::test_fail", Outcome.FAILED, 1.5, 8, "AssertionError: mismatch"),
        ("sub/test_a.py::test_err", Outcome.ERROR, 0.0, 10, "fixture 'bad_fixture' not found"),
        ("sub/test_a.py::test_skip", Outcome.SKIPPED, 0.0, 20, "nope"),
        ("sub/test_a.py::test_param[a.b-2]", Outcome.PASSED, 0.1, 24, ""),
    ],
)
def test_each_case(node: str, outcome: Outcome, duration: float, line: int, message: str) -> None:
    result = by_id()[node]
    assert (result.outcome, result.duration, result.line, result.message) == (
        outcome,
        duration,
        line,
        message,
    )
    assert result.file == "sub/test_a.py"


def test_failure_keeps_the_traceback() -> None:
    traceback = by_id()["sub/test_a.py::test_fail"].traceback
    assert traceback.startswith("def test_fail():")
    assert traceback.endswith("sub/test_a.py:8: AssertionError")


def test_collection_error_is_told_apart() -> None:
    summary = junit.parse(COLLECTION, scrub=str)
    assert summary.tests == ()
    [error] = summary.collection_errors
    assert error.outcome is Outcome.ERROR
    assert error.file == "tests/test_syntax.py"
    assert error.node_id == "tests/test_syntax.py"
    assert error.line == 4
    assert error.message == "SyntaxError: invalid syntax"  # once, not "collection failure: …"


def test_traceback_and_message_are_bounded() -> None:
    body = "\n".join(f"line {i}" for i in range(500))
    xml = (
        '<testsuite><testcase classname="t" name="x" file="t.py" line="0">'
        f'<failure message="{"m" * 5000}">{body}</failure></testcase></testsuite>'
    )
    [result] = junit.parse(xml, scrub=str).tests
    assert len(result.message) <= junit.MAX_MESSAGE_CHARS
    lines = result.traceback.splitlines()
    assert lines[0] == "..." and lines[-1] == "line 499"
    assert len(lines) == junit.MAX_TRACEBACK_LINES + 1


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><testsuite>&a;</testsuite>',
        '<!doctype x SYSTEM "file:///etc/passwd"><testsuite/>',
        "<testsuite><testcase",
        "not xml at all",
    ],
)
def test_unsafe_or_broken_xml_is_refused(xml: str) -> None:
    with pytest.raises(junit.JunitError):
        junit.parse(xml, scrub=str)


@pytest.mark.parametrize(
    ("classname", "name", "file", "expected"),
    [
        (
            "tests.e2e.test_auth",
            "test_login",
            "tests/e2e/test_auth.py",
            "tests/e2e/test_auth.py::test_login",
        ),
        (
            "tests.test_x.TestA.TestB",
            "test_y",
            "tests/test_x.py",
            "tests/test_x.py::TestA::TestB::test_y",
        ),
        ("test_x", "test_y", None, "test_x::test_y"),
        ("", "test_syntax", "test_syntax.py", "test_syntax.py"),
        ("", "tests.test_syntax", "tests/test_syntax.py", "tests/test_syntax.py"),
    ],
)
def test_node_id(classname: str, name: str, file: str | None, expected: str) -> None:
    assert junit.node_id(classname, name, file) == expected


SECRET = "sk_live_51HqLyjWDarjtT1zdp7dcXYZ0123"  # 35 characters, as in issue 9


@pytest.mark.parametrize("offset", [0, 265, 281, 290, 299, 300, 310])
def test_message_cut_at_its_limit_keeps_no_piece_of_a_secret(offset: int) -> None:
    """Issue 9: the message cut at 300 characters posted the first 19 of 35 characters."""
    message = "x" * offset + SECRET + " rest"
    xml = (
        '<testsuite><testcase classname="t" name="x" file="t.py" line="0">'
        f'<failure message="{message}">E   {message}</failure></testcase></testsuite>'
    )
    [result] = junit.parse(xml, scrub=Scrubber([SECRET])).tests
    for text in (result.message, result.traceback):
        assert not any(SECRET[i : i + 8] in text for i in range(len(SECRET) - 7))


def test_test_names_are_scrubbed_too() -> None:
    xml = (
        f'<testsuite><testcase classname="t" name="test_x[{SECRET}]" file="t.py" line="0">'
        "</testcase></testsuite>"
    )
    [result] = junit.parse(xml, scrub=Scrubber([SECRET])).tests
    assert SECRET not in result.node_id and "***" in result.node_id
