"""Which issues a pull request body closes: tables of should and should-not."""

from __future__ import annotations

import pytest

from bot.core.closing_refs import closing_refs

REPO = "Acme/Shop"

SHOULD = [
    ("Fixes #12", [12]),
    ("fixes #12", [12]),
    ("FIXES #12", [12]),
    ("Closes: #7", [7]),
    ("close #1", [1]),
    ("closed #2", [2]),
    ("fix #3", [3]),
    ("fixed #4", [4]),
    ("resolve #5", [5]),
    ("resolves #6", [6]),
    ("Resolved:#8", [8]),
    ("This PR\n\nFixes #3, closes #1 and resolves #3.", [1, 3]),
    ("fixes acme/shop#40", [40]),
    ("Fixes Acme/Shop#41", [41]),
    ("Fixes https://github.com/acme/shop/issues/42", [42]),
    ("Fixes https://ghe.example.com/Acme/Shop/issues/43.", [43]),
    ("(fixes #44)", [44]),
    ("- [x] closes #45", [45]),
    ("> Fixes #46", [46]),
    ("Fixes #47 ```\nfixes #99\n```", [47]),
    ("Closes #9\r\nCloses #10", [9, 10]),
]

SHOULD_NOT = [
    ("", "empty body"),
    ("Refs #12", "not a closing keyword"),
    ("fixing #12", "not a keyword form"),
    ("prefixes #12", "keyword inside a word"),
    ("Fixes other/repo#12", "another repository"),
    ("Fixes https://github.com/other/repo/issues/12", "another repository's URL"),
    ("Fixes https://github.com/acme/shop/pull/12", "a pull request URL"),
    ("Fixes #12abc", "not a number"),
    ("Fixes#12", "no separator"),
    ("Fixes #0", "no issue zero"),
    ("```\nFixes #12\n```", "inside a fenced block"),
    ("~~~md\nFixes #12\n~~~", "inside a tilde fence"),
    ("Use `Fixes #12` to close", "inside inline code"),
    ("text\n\n    Fixes #12\n", "indented code"),
    ("<!-- Fixes #12 -->", "an HTML comment (the PR template)"),
    ("fixes / #12", "something between keyword and ref"),
]


@pytest.mark.parametrize(("body", "expected"), SHOULD)
def test_should_close(body: str, expected: list[int]) -> None:
    assert closing_refs(body, REPO) == expected


@pytest.mark.parametrize(("body", "why"), SHOULD_NOT)
def test_should_not_close(body: str, why: str) -> None:
    assert closing_refs(body, REPO) == [], why


def test_none_body() -> None:
    assert closing_refs(None, REPO) == []


def test_unterminated_fence_hides_the_rest() -> None:
    assert closing_refs("Fixes #1\n```\nFixes #2", REPO) == [1]
