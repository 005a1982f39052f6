"""Replace secrets, GitHub tokens and private keys with `***` in text bound for GitHub or logs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mangle ordinary text ("1", "on", "dev")

_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
)
_PEM_RE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)


class Scrubber:
    """Masks known secret values (longest first), token-shaped strings and PEM private keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if not secret or len(secret.strip()) < MIN_SECRET_LENGTH:
                continue
            # A secret can reach output URL-encoded (a query string, a clone URL).
            values.update({secret, secret.strip(), quote(secret, safe="")})
        ordered = sorted(values, key=lambda v: (-len(v), v))
        self._secrets_re = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def scrub(self, text: str) -> str:
        if not text:
            return text
        if self._secrets_re is not None:
            text = self._secrets_re.sub(MASK, text)
        text = _PEM_RE.sub(MASK, text)
        return _TOKEN_RE.sub(MASK, text)

    def __call__(self, text: str) -> str:
        return self.scrub(text)
