"""Replace secrets, GitHub tokens and private keys with `***` in text bound for GitHub or logs.

Scrubbing happens on raw text, as it is read (contract §5.3): a JUnit message, a traceback, the
tail of a setup step's output, a plan problem, a failure reason. Whatever cuts, escapes or
normalizes the text later only ever sees `***`. What the scrubber masks, for each secret:

- the value itself, anywhere, also when a line break (and the next line's indentation) splits it;
- its URL-encoded forms (`quote`, `quote_plus`, lower-case hex);
- its base64 forms (standard and URL-safe alphabets) at each of the three alignments it can have
  inside a longer encoded text, which covers `Authorization: Basic base64(user:secret)`;
- a piece of 8 or more characters of any of those forms that is the start or the end of it: what
  a cut leaves of a secret (a capture that kept only the tail of the output, pytest's own `...`);
- token-shaped strings (`ghp_…`, `ghs_…`, `github_pat_…`) and PEM private-key blocks, unasked.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mangle ordinary text ("1", "on", "dev")
MIN_PIECE = 8  # a piece of a secret this long, at a cut, is masked too (contract §5.3)

_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
)
_PEM_RE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_WRAP_RE = re.compile(r"\r?\n[ \t]*|\r")
_PEM_CLUE = "-----BEGIN "  # every `_PEM_RE` match starts with it
_TOKEN_CLUE = "gh"  # every `_TOKEN_RE` match starts with `gh` (gh?_ or github_pat_)


def _clue_of(forms: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern that finds whatever `_occurrences` could start from: a short form whole, or
    the first or last `MIN_PIECE` characters of a longer one (None: no forms)."""
    needles: set[str] = set()
    for form in forms:
        needles.update((form,) if len(form) < MIN_PIECE else (form[:MIN_PIECE], form[-MIN_PIECE:]))
    if not needles:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))


def base64_forms(secret: str) -> set[str]:
    """The base64 characters that depend only on `secret`, at each of the 3 byte alignments it
    can have inside a longer encoded text, in the standard and the URL-safe alphabet."""
    raw = secret.encode()
    forms: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        # Character i holds bits [6i, 6i + 6): keep those entirely inside the secret's bits.
        start = -(-8 * offset // 6)
        end = (8 * (offset + len(raw))) // 6
        core = encoded[start:end]
        forms.update({core, core.replace("+", "-").replace("/", "_")})
    return forms


def url_forms(secret: str) -> set[str]:
    forms = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    lower = {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    return forms | lower


def _unwrapped(text: str) -> tuple[str, list[int]]:
    """`text` without line breaks (and the indentation after them), and where each kept
    character came from, so that a secret wrapped over lines is found in one piece."""
    kept: list[str] = []
    where: list[int] = []
    last = 0
    for match in _WRAP_RE.finditer(text):
        kept.append(text[last : match.start()])
        where.extend(range(last, match.start()))
        last = match.end()
    kept.append(text[last:])
    where.extend(range(last, len(text)))
    return "".join(kept), where


class Scrubber:
    """Masks known secret values in all their forms, token-shaped strings and PEM private keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not secret or len(secret.strip()) < MIN_SECRET_LENGTH:
                continue
            for value in {secret, secret.strip()}:
                forms.update({value, *url_forms(value)})
                forms.update(f for f in base64_forms(value) if len(f) >= MIN_PIECE)
        unwrapped = {_WRAP_RE.sub("", f) for f in forms}
        self._forms = sorted((f for f in unwrapped if len(f) >= MIN_SECRET_LENGTH), key=len)
        self._clue = _clue_of(self._forms)

    def scrub(self, text: str) -> str:
        if not text:
            return text
        if self._clue is not None and self._may_hold_form(text):
            text = self._mask_forms(text)
        # Each pattern starts with a fixed text: most strings are passed over without a scan.
        if _PEM_CLUE in text:
            text = _PEM_RE.sub(MASK, text)
        if _TOKEN_CLUE in text:
            text = _TOKEN_RE.sub(MASK, text)
        return text

    def _may_hold_form(self, text: str) -> bool:
        """False only when `_mask_forms` would find nothing: every span it masks holds a form,
        or a form's first or last `MIN_PIECE` characters, in the text without line breaks."""
        assert self._clue is not None
        view = text if "\n" not in text and "\r" not in text else _WRAP_RE.sub("", text)
        return self._clue.search(view) is not None

    def __call__(self, text: str) -> str:
        return self.scrub(text)

    def _mask_forms(self, text: str) -> str:
        view, where = _unwrapped(text)
        spans: list[tuple[int, int]] = []
        for form in self._forms:
            spans.extend(_occurrences(view, form))
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in _merged(spans):
            first, after = where[start], where[end - 1] + 1
            if first < last:  # overlaps the previous mask (spans are merged in the view)
                first = last
            out.append(text[last:first])
            out.append(MASK)
            last = after
        out.append(text[last:])
        return "".join(out)


def _occurrences(view: str, form: str) -> list[tuple[int, int]]:
    """Spans of `view` holding `form`, or (for a form of 8+ characters) a piece of 8 or more
    characters of it that is its beginning or its end: all that a cut can leave."""
    if len(form) < MIN_PIECE:
        return _exact(view, form)
    spans: list[tuple[int, int]] = []
    head, tail = form[:MIN_PIECE], form[-MIN_PIECE:]
    for start in _finds(view, head):
        length = MIN_PIECE
        while length < len(form) and start + length < len(view):
            if view[start + length] != form[length]:
                break
            length += 1
        spans.append((start, start + length))
    for end_at in _finds(view, tail):
        end = end_at + MIN_PIECE
        length = MIN_PIECE
        while length < len(form) and end - length - 1 >= 0:
            if view[end - length - 1] != form[-length - 1]:
                break
            length += 1
        spans.append((end - length, end))
    return spans


def _exact(view: str, form: str) -> list[tuple[int, int]]:
    return [(start, start + len(form)) for start in _finds(view, form)]


def _finds(view: str, needle: str) -> Iterable[int]:
    start = view.find(needle)
    while start != -1:
        yield start
        start = view.find(needle, start + 1)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
