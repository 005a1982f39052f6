"""webhook.parse_delivery: signature first, then headers and JSON."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.core.webhook import (
    MAX_BODY_BYTES,
    Delivery,
    MalformedDelivery,
    PayloadTooLarge,
    SignatureError,
    parse_delivery,
    signature_for,
)

SECRET = b"It's a Secret to Everybody"
BODY = json.dumps({"action": "created", "zen": "Keep it logically awesome."}).encode()


def github_signature(body: bytes, secret: bytes = SECRET) -> str:
    """Written out independently of bot.core.webhook, as GitHub documents it."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def headers_for(body: bytes = BODY, **overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "X-Hub-Signature-256": github_signature(body),
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "Content-Type": "application/json",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_signature_matches_githubs_documented_example() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_for(b"Hello, World!", SECRET) == expected


def test_valid_delivery_is_parsed() -> None:
    delivery = parse_delivery(headers_for(), BODY, SECRET)
    assert delivery == Delivery(
        id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        event="issue_comment",
        payload={"action": "created", "zen": "Keep it logically awesome."},
    )


def test_headers_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in headers_for().items()}
    assert parse_delivery(headers, BODY, SECRET).event == "issue_comment"
    headers = {k.upper(): v for k, v in headers_for().items()}
    assert parse_delivery(headers, BODY, SECRET).event == "issue_comment"


SIGNATURE_CASES = [
    ("no secret configured", headers_for(), BODY, None),
    ("empty secret configured", headers_for(), BODY, b""),
    ("signature missing", headers_for(**{"X-Hub-Signature-256": None}), BODY, SECRET),
    ("signature empty", headers_for(**{"X-Hub-Signature-256": ""}), BODY, SECRET),
    ("signed with another secret", headers_for(BODY), BODY, b"another secret"),
    ("body changed after signing", headers_for(BODY), BODY + b" ", SECRET),
    (
        "sha1 signature only",
        headers_for(
            **{
                "X-Hub-Signature-256": None,
                "X-Hub-Signature": "sha1=" + hmac.new(SECRET, BODY, "sha1").hexdigest(),
            }
        ),
        BODY,
        SECRET,
    ),
    (
        "hex without the sha256= prefix",
        headers_for(**{"X-Hub-Signature-256": github_signature(BODY)[7:]}),
        BODY,
        SECRET,
    ),
    (
        "uppercase hex",
        headers_for(**{"X-Hub-Signature-256": github_signature(BODY).upper()}),
        BODY,
        SECRET,
    ),
    ("non-ascii signature", headers_for(**{"X-Hub-Signature-256": "sha256=é"}), BODY, SECRET),
    # Signature before anything else: an unsigned non-JSON body is 401, not 400.
    ("unsigned and not json", headers_for(**{"X-Hub-Signature-256": None}), b"{", SECRET),
    (
        "unsigned and no event header",
        headers_for(**{"X-Hub-Signature-256": None, "X-GitHub-Event": None}),
        BODY,
        SECRET,
    ),
]


@pytest.mark.parametrize(
    ("name", "headers", "body", "secret"), SIGNATURE_CASES, ids=[c[0] for c in SIGNATURE_CASES]
)
def test_signature_errors(
    name: str, headers: dict[str, str], body: bytes, secret: bytes | None
) -> None:
    with pytest.raises(SignatureError):
        parse_delivery(headers, body, secret)


def signed(body: bytes, **overrides: str | None) -> tuple[dict[str, str], bytes]:
    return headers_for(body, **overrides), body


MALFORMED_CASES = [
    ("not json", *signed(b"payload=%7B%7D")),
    ("truncated json", *signed(b'{"action": ')),
    ("json array", *signed(b"[1, 2]")),
    ("json string", *signed(b'"hello"')),
    ("json null", *signed(b"null")),
    ("empty body", *signed(b"")),
    ("not utf-8", *signed(b'{"a": "\xff\xfe"}')),
    ("deeply nested", *signed(b"[" * 100_000 + b"]" * 100_000)),
    ("event header missing", *signed(BODY, **{"X-GitHub-Event": None})),
    ("event header blank", *signed(BODY, **{"X-GitHub-Event": "  "})),
    ("event header odd", *signed(BODY, **{"X-GitHub-Event": "issue comment\n"})),
    ("delivery header missing", *signed(BODY, **{"X-GitHub-Delivery": None})),
    ("delivery header blank", *signed(BODY, **{"X-GitHub-Delivery": ""})),
    ("delivery id with spaces", *signed(BODY, **{"X-GitHub-Delivery": "a b"})),
    ("delivery id too long", *signed(BODY, **{"X-GitHub-Delivery": "a" * 129})),
]


@pytest.mark.parametrize(
    ("name", "headers", "body"), MALFORMED_CASES, ids=[c[0] for c in MALFORMED_CASES]
)
def test_malformed_deliveries(name: str, headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        parse_delivery(headers, body, SECRET)


def test_body_over_the_cap_is_refused_before_hashing() -> None:
    body = b" " * (MAX_BODY_BYTES + 1)
    with pytest.raises(PayloadTooLarge):
        parse_delivery({}, body, SECRET)


def test_body_at_the_cap_is_fine() -> None:
    body = b"{}" + b" " * (MAX_BODY_BYTES - 2)
    assert parse_delivery(headers_for(body), body, SECRET).payload == {}


def test_signature_header_whitespace_is_tolerated() -> None:
    headers = headers_for(**{"X-Hub-Signature-256": f"  {github_signature(BODY)} "})
    assert parse_delivery(headers, BODY, SECRET).id


def test_errors_never_echo_the_secret_or_body() -> None:
    for secret in (SECRET, None):
        with pytest.raises(SignatureError) as info:
            parse_delivery(headers_for(**{"X-Hub-Signature-256": "sha256=00"}), BODY, secret)
        assert SECRET.decode() not in str(info.value)
        assert "logically" not in str(info.value)
