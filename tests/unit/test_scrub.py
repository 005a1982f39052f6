"""Secrets, tokens and private keys never leave in text bound for GitHub."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.scrub import MASK, Scrubber


def test_replaces_every_occurrence_of_each_secret() -> None:
    s = Scrubber(["s3cr3t-value", "other-key"])
    text = "a s3cr3t-value b other-key c s3cr3t-value"
    assert s.scrub(text) == f"a {MASK} b {MASK} c {MASK}"


def test_longest_secret_wins_when_one_contains_another() -> None:
    s = Scrubber(["abcd", "abcdefgh"])
    assert s.scrub("x abcdefgh y abcd") == f"x {MASK} y {MASK}"


@pytest.mark.parametrize("short", ["", "a", "on", "dev"])
def test_ignores_empty_and_very_short_values(short: str) -> None:
    s = Scrubber([short])
    assert s.scrub("deploy on dev a b") == "deploy on dev a b"


def test_masks_url_encoded_secret() -> None:
    s = Scrubber(["p@ss/word+1"])
    assert s.scrub("https://x/?k=p%40ss%2Fword%2B1 and p@ss/word+1") == (
        f"https://x/?k={MASK} and {MASK}"
    )


@pytest.mark.parametrize(
    "token",
    [
        "ghp_" + "a" * 36,
        "ghs_" + "B1" * 18,
        "gho_" + "x9" * 12,
        "ghu_" + "Z" * 20,
        "ghr_" + "0" * 40,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_masks_token_shaped_strings_without_being_told(token: str) -> None:
    out = Scrubber([]).scrub(f"clone https://x-access-token:{token}@github.com/o/r.git")
    assert token not in out
    assert out == f"clone https://x-access-token:{MASK}@github.com/o/r.git"


def test_leaves_short_token_lookalikes() -> None:
    assert Scrubber([]).scrub("ghp_short and ghx_" + "a" * 30) == "ghp_short and ghx_" + "a" * 30


def test_masks_pem_private_key_blocks() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----"
    out = Scrubber([]).scrub(f"before\n{pem}\nafter")
    assert out == f"before\n{MASK}\nafter"
    assert "MIIE" not in Scrubber([]).scrub("-----BEGIN PRIVATE KEY-----\nMIIEtruncated")


def test_empty_text() -> None:
    assert Scrubber(["abcdef"]).scrub("") == ""


@given(
    secret=st.text(min_size=4, max_size=30).filter(lambda v: len(v.strip()) >= 4),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_secret_never_survives(secret: str, before: str, after: str) -> None:
    assert secret not in Scrubber([secret]).scrub(before + secret + after)
