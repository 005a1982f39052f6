"""Secrets, tokens and private keys never leave in text bound for GitHub."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.scrub import _PEM_RE, _TOKEN_RE, MASK, Scrubber


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


SECRET = "sk_live_51HqLyjWDarjtT1zdp7dcXYZ0123"


def _pieces(secret: str) -> list[str]:
    return [secret[i : i + 8] for i in range(len(secret) - 7)]


def _leaks(text: str, secret: str = SECRET) -> bool:
    return any(piece in text for piece in _pieces(secret))


@pytest.mark.parametrize("prefix", ["", "u", "us", "user:", "x-access-token:", "ab:"])
def test_masks_basic_auth_and_base64_at_every_alignment(prefix: str) -> None:
    import base64

    encoded = base64.b64encode(f"{prefix}{SECRET}".encode()).decode()
    out = Scrubber([SECRET]).scrub(f"Authorization: Basic {encoded}\n")
    core = base64.b64encode(SECRET.encode()).decode()[2:-2]
    assert out.startswith("Authorization: Basic ")
    assert encoded not in out
    assert not any(encoded[i : i + 8] in out for i in range(len(prefix) + 4, len(core)))


def test_masks_url_safe_base64_and_lower_case_url_encoding() -> None:
    import base64

    secret = "p@ss/word+1?~~>>"
    safe = base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")
    out = Scrubber([secret]).scrub(f"a {safe} b p%40ss%2fword%2b1%3f~~%3e%3e c")
    # The last base64 character also holds bits of what follows the secret: it may remain.
    assert out.startswith(f"a {MASK}") and out.endswith(f" b {MASK} c")
    assert len(out) <= len(f"a {MASK}x b {MASK} c")


@pytest.mark.parametrize("width", [8, 10, 17, 30])
def test_masks_a_secret_wrapped_over_lines(width: int) -> None:
    text = "\n  ".join(SECRET[i : i + width] for i in range(0, len(SECRET), width))
    out = Scrubber([SECRET]).scrub(f"before\n{text}\nafter")
    assert out == f"before\n{MASK}\nafter"


@pytest.mark.parametrize("cut", range(8, len(SECRET)))
def test_masks_what_a_cut_leaves_of_a_secret(cut: int) -> None:
    """Contract §5.3: a piece of 8 or more characters at a cut is masked."""
    scrubber = Scrubber([SECRET])
    head = scrubber.scrub(f"token={SECRET[:cut]}…")
    tail = scrubber.scrub(f"[... 12 bytes omitted ...]{SECRET[-cut:]} rest")
    assert head == f"token={MASK}…"
    assert tail == f"[... 12 bytes omitted ...]{MASK} rest"


def test_pieces_shorter_than_eight_are_ordinary_text() -> None:
    assert Scrubber([SECRET]).scrub("sk_live and 0123") == "sk_live and 0123"


@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    secret=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=60
    ),
)
def test_no_piece_survives_in_any_surrounding(before: str, after: str, secret: str) -> None:
    out = Scrubber([secret]).scrub(before + secret + after)
    assert secret not in out


@given(
    secret=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=30
    ),
    pieces=st.lists(
        st.sampled_from(["\n", "\r\n  ", " ", "gh", "-----BEGIN ", "ghs_"]), max_size=6
    ),
    cut=st.integers(min_value=0, max_value=30),
    filler=st.text(max_size=20),
)
def test_the_quick_passes_change_no_answer(
    secret: str, pieces: list[str], cut: int, filler: str
) -> None:
    """Skipping the scans for text with no clue of a secret (or of a token or key) gives the
    same text as scanning it all."""
    scrubber = Scrubber([secret])
    joined = "".join(pieces)
    texts = [filler, filler + secret[cut:], secret[:cut] + joined + filler]
    for text in [*texts, joined + secret[cut:] + "ghp_" + "a" * 30]:
        full = Scrubber._mask_forms(scrubber, text)
        expected = _TOKEN_RE.sub(MASK, _PEM_RE.sub(MASK, full))
        assert scrubber.scrub(text) == expected
