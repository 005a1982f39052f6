"""Signed links to a run's page: whoever holds the check run's "Details" link may see that run.

HMAC-SHA256 over the run id, keyed by `GOLDEN_PATH_LINK_SECRET` (or, when that is not set,
`GOLDEN_PATH_SESSION_SECRET`), URL-safe base64 without padding. A token opens one run only, and a
wrong or missing one is indistinguishable from a run that does not exist (404).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_PURPOSE = b"golden-path run link v1:"


def sign(run_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), _PURPOSE + run_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(run_id: str, token: str | None, secret: str | None) -> bool:
    if not token or not secret or len(token) > 100:
        return False
    return hmac.compare_digest(sign(run_id, secret).encode(), token.encode())


def run_url(base: str, run_id: str, secret: str | None) -> str:
    """The run page's address; with a secret, it carries the token that opens it."""
    url = f"{base.rstrip('/')}/runs/{run_id}"
    return f"{url}?token={sign(run_id, secret)}" if secret else url
