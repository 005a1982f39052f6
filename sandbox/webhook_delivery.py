"""How GitHub delivers a webhook: the exact bytes sent, their signature, and the headers.

A test posts `json_body(payload)` with `delivery_headers(...)`: the signature covers the bytes sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

HOOK_USER_AGENT = "GitHub-Hookshot/5a9c1b7"
HOOK_ID = "418794127"


def json_body(payload: dict[str, Any]) -> bytes:
    """The bytes to send (and to sign): sign exactly what goes on the wire."""
    return json.dumps(payload).encode("utf-8")


def sign(body: bytes, secret: bytes) -> str:
    """`X-Hub-Signature-256` as GitHub computes it: HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def delivery_headers(
    event: str, body: bytes, secret: bytes, delivery_id: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": HOOK_USER_AGENT,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": HOOK_ID,
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-Hub-Signature-256": sign(body, secret),
    }
