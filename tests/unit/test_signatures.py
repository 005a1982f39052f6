"""Error text to signatures; failures to patterns. Values that change between runs never split."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.results import Outcome, TestResult
from bot.core.signatures import (
    SHORT_MAX,
    cluster,
    exception_type,
    human_title,
    normalize,
    signature,
    signature_key,
)


def failed(node_id: str, message: str, traceback: str = "") -> TestResult:
    return TestResult(node_id, Outcome.FAILED, message=message, traceback=traceback)


@pytest.mark.parametrize(
    ("message", "traceback", "expected"),
    [
        ("AssertionError: assert 500 == 200", "", "AssertionError"),
        (
            "E   requests.exceptions.ConnectionError: boom",
            "",
            "requests.exceptions.ConnectionError",
        ),
        ("Failed: DID NOT RAISE <class 'ValueError'>", "", "Failed"),
        ("assert resp.ok", "", "AssertionError"),
        (
            "",
            "def test_x():\n>       1/0\nE       ZeroDivisionError: division by zero\n\n"
            "tests/test_x.py:3: ZeroDivisionError",
            "ZeroDivisionError",
        ),
        ("", "E   KeyError: 'a'\nmore", "KeyError"),
        ("something odd happened", "", "Failure"),
    ],
)
def test_exception_type(message: str, traceback: str, expected: str) -> None:
    assert exception_type(message, traceback) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("took 1.23s and 250ms", "took <DURATION> and <DURATION>"),
        ("at 2024-05-01T12:00:01.123Z and 12:03:04", "at <TIME> and <TIME>"),
        ("id 123e4567-e89b-12d3-a456-426614174000", "id <UUID>"),
        ("to 10.0.0.12:8080 or staging.example.com:443", "to <ADDR> or <ADDR>"),
        ("object at 0x7f3a2b9c sha 9fceb02d0ae5", "object at <N> sha <N>"),
        ("file /tmp/pytest-of-u/pytest-3/x.json", "file <PATH>"),
        ("key 'user_id' and \"email\"", "key <S> and <S>"),
        ("don't   split\n\n words", "don't split words"),
        (
            "https://staging.example.com/api/v1/users/42",
            "https://staging.example.com/api/v<N>/users/<N>",
        ),
        ("tests/test_auth.py:12", "tests/test_auth.py:<N>"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# --- property tests: values that vary between runs never split a pattern -------------------------

_segment = st.from_regex(r"[a-z0-9_.-]{1,8}", fullmatch=True)
_hexdigits = "0123456789abcdef"
_datetimes = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1))
VALUES = {
    "number": st.one_of(
        st.integers(-(10**12), 10**12).map(str),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(lambda f: f"{f:.3f}"),
    ),
    "hex": st.text(_hexdigits, min_size=8, max_size=40).filter(
        lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)
    ),
    "pointer": st.integers(0, 2**64).map(hex),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv4_port": st.tuples(st.ip_addresses(v=4), st.integers(1, 65535)).map(
        lambda t: f"{t[0]}:{t[1]}"
    ),
    "ipv6": st.ip_addresses(v=6).map(lambda a: f"[{a}]:443"),
    "host_port": st.tuples(
        st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True),
        st.integers(1, 65535),
    ).map(lambda t: f"{t[0]}:{t[1]}"),
    "iso_time": _datetimes.map(lambda d: d.isoformat()),
    "iso_time_z": _datetimes.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    "clock": st.times().map(lambda t: t.strftime("%H:%M:%S")),
    "duration": st.one_of(
        st.floats(0, 1e4, allow_nan=False).map(lambda f: f"{f:.2f}s"),
        st.integers(0, 10**6).map(lambda i: f"{i}ms"),
    ),
    "path": st.lists(_segment, min_size=2, max_size=6).map(lambda p: "/" + "/".join(p)),
    "single_quoted": st.text(st.characters(blacklist_characters="'\n\r"), max_size=30).map(
        lambda s: f"'{s}'"
    ),
    "double_quoted": st.text(st.characters(blacklist_characters='"\n\r'), max_size=30).map(
        lambda s: f'"{s}"'
    ),
}
WORDS = [
    "connection",
    "refused",
    "expected",
    "got",
    "user",
    "at",
    "for",
    "request",
    "(",
    ")",
    "=",
    "==",
    "failed",
    "status",
    "in",
    "login",
    "timeout",
    "after",
    "with",
    "id",
]
TYPES = ["AssertionError", "requests.exceptions.ConnectionError", "TimeoutError", "KeyError"]


@st.composite
def template_and_two_fillings(draw: st.DrawFn) -> tuple[str, str]:
    kinds = list(VALUES)
    parts = draw(
        st.lists(
            st.one_of(st.sampled_from(WORDS), st.sampled_from(kinds).map(lambda k: ("slot", k))),
            min_size=1,
            max_size=12,
        )
    )
    kind = draw(st.sampled_from(TYPES))

    def fill() -> str:
        words = [draw(VALUES[p[1]]) if isinstance(p, tuple) else p for p in parts]
        return f"{kind}: " + " ".join(words)

    return fill(), fill()


@settings(max_examples=300, deadline=None)
@given(template_and_two_fillings())
def test_changing_values_never_splits_a_pattern(pair: tuple[str, str]) -> None:
    first, second = pair
    assert signature(first) == signature(second)
    patterns = cluster([("auth", failed("t::a", first)), ("api", failed("t::b", second))])
    assert len(patterns) == 1
    assert patterns[0].tests == ("t::a", "t::b")
    assert patterns[0].phase_ids == ("auth", "api")


_type_name = st.from_regex(
    r"([a-z]{1,6}\.){0,2}[A-Z][A-Za-z]{0,10}(Error|Exception)", fullmatch=True
)


@given(a=_type_name, b=_type_name, text=st.text(max_size=80))
def test_different_exception_types_never_merge(a: str, b: str, text: str) -> None:
    if a == b:
        return
    patterns = cluster(
        [("p", failed("t::a", f"{a}: {text}")), ("p", failed("t::b", f"{b}: {text}"))]
    )
    assert len(patterns) == 2
    assert patterns[0].key != patterns[1].key
    assert {p.exception_type for p in patterns} == {a, b}


def test_different_messages_stay_apart() -> None:
    patterns = cluster(
        [
            ("auth", failed("t::a", "AssertionError: login page returned 500")),
            ("auth", failed("t::b", "AssertionError: session cookie missing")),
        ]
    )
    assert len(patterns) == 2


def test_cluster_orders_biggest_first_and_fills_fields() -> None:
    tb = "E   TimeoutError: waited 5s\n\ntests/e2e/test_api.py:9: TimeoutError"
    patterns = cluster(
        [
            ("auth", failed("tests/test_auth.py::test_login", "AssertionError: assert 1 == 2")),
            ("api", failed("tests/e2e/test_api.py::test_a", "TimeoutError: waited 5s", tb)),
            ("api", failed("tests/e2e/test_api.py::test_b", "TimeoutError: waited 7.5s", tb)),
            ("agent", failed("tests/e2e/test_api.py::test_a", "TimeoutError: waited 9s", tb)),
        ]
    )
    assert [len(p.tests) for p in patterns] == [2, 1]
    top = patterns[0]
    assert top.exception_type == "TimeoutError"
    assert top.signature == "TimeoutError: waited <DURATION>"
    assert top.phase_ids == ("api", "agent")
    assert top.tests == ("tests/e2e/test_api.py::test_a", "tests/e2e/test_api.py::test_b")
    assert top.example_message == "TimeoutError: waited 5s"
    assert top.example_traceback == tb
    assert top.key == signature_key(top.signature, "tests/e2e/test_api.py")
    assert top.short == "TimeoutError: waited 5s"  # a real message, no placeholders
    assert len(top.key) == 12 and int(top.key, 16) >= 0


@given(st.text(max_size=300))
def test_short_title_is_short(message: str) -> None:
    (pattern,) = cluster([("p", failed("t", message))])
    assert len(pattern.short) <= SHORT_MAX
    assert "\n" not in pattern.short


def test_long_message_is_bounded() -> None:
    sig = signature("ValueError: " + "word " * 50_000)
    assert len(sig) < 3_000


SHORTENED = (
    "AssertionError: assert ['agent_start...nt_completed'] == ['agent_start...nt_completed']"
)
AT_INDEX_TB = """    def test_agent_events_arrive_in_order(ws):
>       assert [e["type"] for e in events_until(ws, "agent_completed")] == EXPECTED
E       AssertionError: assert ['agent_start...nt_completed'] == ['agent_start...nt_completed']
E
E         At index 3 diff: 'agent_completed' != 'tool_completed'
E         Right contains one more item: 'agent_completed'
E         Use -v to get more diff
"""


@pytest.mark.parametrize(
    ("name", "message", "traceback", "title"),
    [
        (
            "a plain message: its first line",
            "TimeoutError: websocket closed before agent_completed",
            "",
            "TimeoutError: websocket closed before agent_completed",
        ),
        (
            "a comparison pytest shortened: what differs, and where",
            SHORTENED,
            AT_INDEX_TB,
            "AssertionError: 'agent_completed' != 'tool_completed' (at index 3)",
        ),
        (
            "a shortened comparison of unequal lengths only",
            "AssertionError: assert ['agent_start...nt_completed'] == ['agent_start...",
            "E         Right contains one more item: 'agent_completed'\n",
            "AssertionError: Right contains one more item: 'agent_completed'",
        ),
        (
            "a shortened comparison without an explanation: the comparison itself",
            SHORTENED,
            "",
            "AssertionError: assert ['agent_start...nt_completed'] ==…",
        ),
        (
            "a comparison pytest did not shorten: the comparison, which says it all",
            "AssertionError: assert 41 == 42",
            "E         At index 0 diff: 41 != 42\n",
            "AssertionError: assert 41 == 42",
        ),
    ],
)
def test_five_whys_titles_read_as_a_person_would_write_them(
    name: str, message: str, traceback: str, title: str
) -> None:
    assert human_title(exception_type(message, traceback), message, traceback) == title
