"""Verify a GitHub webhook delivery and turn headers + raw bytes into a `Delivery` (pure)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB; contract §2 answers 413 above
SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"

# GitHub's delivery ids are GUIDs; the id becomes a Redis key, so keep it short and plain.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_EVENT_NAME = re.compile(r"[a-z0-9_]{1,64}")


class WebhookError(Exception):
    """A delivery the bot refuses; the web edge maps each subclass to a status code."""


class SignatureError(WebhookError):
    """No secret configured, or a missing or wrong `X-Hub-Signature-256` (401)."""


class MalformedDelivery(WebhookError):
    """Signed, but not something GitHub sends: bad JSON, missing headers, odd shapes (400)."""


class PayloadTooLarge(WebhookError):
    """Body over `MAX_BODY_BYTES` (413)."""


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    payload: dict[str, Any]


def signature_for(body: bytes, secret: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(headers: Mapping[str, str], body: bytes, secret: bytes | None) -> None:
    """Raise `SignatureError` unless the body is signed with `secret`."""
    if not secret:
        raise SignatureError("no webhook secret configured: every delivery is refused")
    given = _header(headers, SIGNATURE_HEADER)
    if given is None:
        raise SignatureError("X-Hub-Signature-256 is missing")
    expected = signature_for(body, secret)
    # Compare bytes so odd (non-ASCII) header values cannot raise inside compare_digest.
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise SignatureError("X-Hub-Signature-256 does not match the body")


def parse_delivery(headers: Mapping[str, str], body: bytes, secret: bytes | None) -> Delivery:
    """Verify, then parse; the signature is checked before a byte of JSON is decoded."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {len(body)} bytes, over {MAX_BODY_BYTES}")
    verify_signature(headers, body, secret)
    event = (_header(headers, EVENT_HEADER) or "").strip()
    if not _EVENT_NAME.fullmatch(event):
        raise MalformedDelivery("X-GitHub-Event is missing or invalid")
    delivery_id = (_header(headers, DELIVERY_HEADER) or "").strip()
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise MalformedDelivery("X-GitHub-Delivery is missing or invalid")
    return Delivery(id=delivery_id, event=event, payload=_json_object(body))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)  # about 3x json.loads: the webhook's largest cost
    except (ValueError, RecursionError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise MalformedDelivery("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedDelivery("body is not a JSON object")
    return payload


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts as well as Starlette's Headers."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None
