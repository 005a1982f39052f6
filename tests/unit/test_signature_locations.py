"""Patterns keep one cause together and different causes apart: a property test over generated
failures, and a corpus of real results (tests/data/signature_corpus, made by
tests/data/make_signature_corpus.py from a small project with two injected bugs)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.results import Frame, Outcome, TestResult
from bot.core.signatures import cluster, location, raised_at
from workers.engine import stream

CORPUS = Path(__file__).resolve().parent.parent / "data" / "signature_corpus"

_name = st.from_regex(r"[a-z][a-z_]{2,10}", fullmatch=True)
# One kind of value per example: a number and a string are different shapes of message.
_values = st.one_of(
    st.lists(st.integers(-(10**6), 10**6).map(str), min_size=2, max_size=8),
    st.lists(
        st.text(st.characters(min_codepoint=97, max_codepoint=122), max_size=8).map(repr),
        min_size=2,
        max_size=8,
    ),
    st.lists(st.lists(st.integers(0, 99), max_size=5).map(str), min_size=2, max_size=8),
)


@st.composite
def cause(draw: st.DrawFn) -> tuple[str, str, str]:
    """A bug: where it raises in library code, and the shape of its message."""
    module, function = draw(_name), draw(_name)
    word = draw(st.sampled_from(["expected", "got", "missing", "closed"]))
    return f"src/{module}.py", function, word


def failure(test: int, bug: tuple[str, str, str], value: str) -> TestResult:
    path, function, word = bug
    test_file = f"tests/test_{test % 3}.py"
    return TestResult(
        node_id=f"{test_file}::test_{test}",
        outcome=Outcome.FAILED,
        file=test_file,
        line=10 + test,
        message=f"ValueError: {word} {value}",
        frames=(
            Frame(test_file, 10 + test, f"test_{test}"),
            Frame(path, 40 + test % 7, function),  # lines move: the key must not
            Frame("/usr/lib/python3/site-packages/x.py", 3, "inner"),
        ),
    )


@settings(max_examples=100, deadline=None)
@given(a=cause(), b=cause(), values=_values)
def test_one_cause_together_different_causes_apart(
    a: tuple[str, str, str], b: tuple[str, str, str], values: list[str]
) -> None:
    failures = [failure(i, a, v) for i, v in enumerate(values)]
    failures += [failure(100 + i, b, v) for i, v in enumerate(values)]
    patterns = cluster(("p", f) for f in failures)
    a_ids = {f.node_id for f in failures[: len(values)]}
    if (a[0], a[1]) == (b[0], b[1]) and a[2] == b[2]:
        assert len(patterns) == 1  # the same bug is one pattern, whatever the values
        return
    for pattern in patterns:  # never a pattern that holds both bugs
        assert set(pattern.tests) <= a_ids or not set(pattern.tests) & a_ids
    assert len(patterns) == 2  # and each bug is one pattern, across tests, files and lines


def test_location_prefers_the_deepest_own_frame_outside_the_test() -> None:
    test = failure(1, ("src/api.py", "fetch", "closed"), "1")
    assert location(test) == "src/api.py::fetch"
    assert raised_at(test) == "src/api.py:41 in fetch"
    own = TestResult("tests/t.py::test_x", Outcome.FAILED, file="tests/t.py", line=4)
    assert location(own) == "tests/t.py"
    assert raised_at(own) == "tests/t.py:4"


def corpus() -> tuple[list[TestResult], dict[str, str]]:
    found = stream.parse((CORPUS / "results.jsonl").read_text(), scrub=str)
    truth = json.loads((CORPUS / "truth.json").read_text())
    cause_of = {test: bug for bug, tests in truth.items() for test in tests}
    return [t for t in found.tests if t.is_failure], cause_of


def test_corpus_never_merges_two_bugs() -> None:
    failures, cause_of = corpus()
    assert {t.node_id for t in failures} == set(cause_of)
    for pattern in cluster(("p", t) for t in failures):
        assert len({cause_of[t] for t in pattern.tests}) == 1, pattern.signature


def test_corpus_keeps_one_bug_in_few_patterns() -> None:
    failures, cause_of = corpus()
    patterns = cluster(("p", t) for t in failures)
    newline = [p for p in patterns if cause_of[p.tests[0]] == "newline"]
    assert sum(len(p.tests) for p in newline) == 14
    assert len(newline) <= 6  # list shapes of every length are one pattern
    [message] = [p for p in patterns if cause_of[p.tests[0]] == "message"]
    assert len(message.tests) == 2
    assert message.short == (
        "AssertionError: assert \"missing '='\" in 'line 1 has no equals sign'"
    )


def test_corpus_library_errors_group_at_the_library_function() -> None:
    failures, _ = corpus()
    index_errors = [p for p in cluster(("p", t) for t in failures) if "IndexError" in p.signature]
    assert {p.location for p in index_errors} == {"textkit.py::first_word", "textkit.py::last_line"}
    for test in failures:  # annotations sit on the test's own line, never on its `def`
        own = [f.line for f in test.frames if f.path == test.file]
        assert own and test.line == own[-1]
