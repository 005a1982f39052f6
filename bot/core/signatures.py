"""Error text to a normalised signature; failed tests grouped into failure patterns.

Normalisation follows Kubernetes' test-failure triage (kubernetes/test-infra `triage/`): blank out
what changes between occurrences of one failure (numbers, ids, addresses, times, paths, quoted
values) so that the same failure in another run, test or pull request gets the same signature.
Unlike triage we use plain placeholders rather than alpha-renaming (UNIQ1, UNIQ2): a changed value
must never split a pattern, even when two values stop being equal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.results import TestResult

SHORT_MAX = 70
_MAX_INPUT = 10_000  # longer texts keep head and tail, as triage does
_MAX_SIGNATURE = 2_000
UNKNOWN_TYPE = "Failure"

# Order matters: earlier rules swallow text that later rules would otherwise chop up.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), placeholder)
    for pattern, placeholder, flags in (
        # Quoted values: only when the quote is not an apostrophe inside a word ("don't").
        (r"(?<![\w'\"])(?:'[^'\n]*'|\"[^\"\n]*\")(?![\w'\"])", "<S>", 0),
        # Absolute and temporary paths (two segments at least, not a URL's path).
        (r"(?<![\w.:/~-])(?:~|\.{1,2})?/(?:[\w.@+%=,-]+/)+[\w.@+%=,-]*", "<PATH>", 0),
        (r"\b[A-Za-z]:\\(?:[^\\\s'\"<>|]+\\)*[^\\\s'\"<>|]*", "<PATH>", 0),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<UUID>", re.I),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2}|\b))?",
            "<TIME>",
            re.I,
        ),
        (r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "<TIME>", 0),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b", "<ADDR>", 0),
        (r"\[[0-9a-f:]*:[0-9a-f:]*\](?::\d{1,5})?", "<ADDR>", re.I),
        (r"(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", "<ADDR>", re.I),
        (r"(?<![\w:])::1(?![\w:])", "<ADDR>", 0),
        (
            r"(?<![\w.-])(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?<!\.py):\d{1,5}\b",
            "<ADDR>",
            0,
        ),
        (
            r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s|sec|secs|seconds?|m|min|mins|minutes?|h)\b",
            "<DURATION>",
            0,
        ),
        (r"\b0x[0-9a-f]+\b", "<N>", re.I),
        (r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b", "<N>", re.I),
        (r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|\d+", "<N>", re.I),
    )
)
_SPACE_RE = re.compile(r"\s+")
_TYPE_NAME = r"(?:[A-Za-z_]\w*\.)*[A-Z]\w*"
_MESSAGE_TYPE_RE = re.compile(rf"^(?:E\s+)?({_TYPE_NAME})(?::|$)")
_TB_LOCATION_TYPE_RE = re.compile(rf"^\S+:\d+: ({_TYPE_NAME})\s*$", re.MULTILINE)
_TB_E_LINE_TYPE_RE = re.compile(rf"^E\s+({_TYPE_NAME}):", re.MULTILINE)
_TB_E_LINES_RE = re.compile(r"^E\s(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class FailurePattern:
    """Failed tests that share one normalised error signature."""

    signature: str
    key: str
    short: str
    exception_type: str
    phase_ids: tuple[str, ...]
    tests: tuple[str, ...]
    example_message: str
    example_traceback: str


def normalize(text: str) -> str:
    """Text with variable values replaced by placeholders and whitespace collapsed."""
    if len(text) > _MAX_INPUT:
        text = text[: _MAX_INPUT // 2] + "\n…\n" + text[-_MAX_INPUT // 2 :]
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return _SPACE_RE.sub(" ", text).strip()


def exception_type(message: str, traceback: str = "") -> str:
    """The exception's (qualified) class name, from pytest's message or its traceback."""
    first = message.strip().split("\n", 1)[0].strip()
    if match := _MESSAGE_TYPE_RE.match(first):
        return match.group(1)
    if matches := _TB_LOCATION_TYPE_RE.findall(traceback):
        return str(matches[-1])
    if matches := _TB_E_LINE_TYPE_RE.findall(traceback):
        return str(matches[-1])
    if first.startswith("assert ") or re.search(r"^E\s+assert ", traceback, re.MULTILINE):
        return "AssertionError"
    return UNKNOWN_TYPE


def error_text(message: str, traceback: str = "") -> str:
    """The message without its exception-type prefix; pytest's `E` lines when there is none."""
    text = message.strip() or "\n".join(_TB_E_LINES_RE.findall(traceback))
    text = re.sub(r"^E\s+", "", text)
    match = _MESSAGE_TYPE_RE.match(text)
    if (match and text[match.end() - 1 : match.end()] == ":") or match:
        text = text[match.end() :]
    return text.strip()


def signature(message: str, traceback: str = "") -> str:
    kind = exception_type(message, traceback)
    text = normalize(error_text(message, traceback))[:_MAX_SIGNATURE]
    return f"{kind}: {text}" if text else kind


def signature_key(sig: str) -> str:
    return hashlib.sha1(sig.encode("utf-8")).hexdigest()[:12]


def short_title(kind: str, sig: str, limit: int = SHORT_MAX) -> str:
    """`Type: first words of the normalised message`, cut at a word within `limit` chars."""
    name = kind.rsplit(".", 1)[-1]
    rest = sig[len(kind) :].lstrip(": ").strip()
    text = f"{name}: {rest}" if rest else name
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[len(name) + 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" :,;.-") + "…"


def cluster(failures: Iterable[tuple[str, TestResult]]) -> list[FailurePattern]:
    """Patterns of the failed tests, most tests first, then in order of first appearance."""
    groups: dict[str, list[tuple[str, TestResult]]] = {}
    for phase_id, test in failures:
        groups.setdefault(signature(test.message, test.traceback), []).append((phase_id, test))
    patterns = [_pattern(sig, members) for sig, members in groups.items()]
    order = {p.signature: i for i, p in enumerate(patterns)}
    return sorted(patterns, key=lambda p: (-len(p.tests), order[p.signature]))


def _pattern(sig: str, members: list[tuple[str, TestResult]]) -> FailurePattern:
    example = members[0][1]
    kind = exception_type(example.message, example.traceback)
    return FailurePattern(
        signature=sig,
        key=signature_key(sig),
        short=short_title(kind, sig),
        exception_type=kind,
        phase_ids=tuple(dict.fromkeys(phase for phase, _ in members)),
        tests=tuple(dict.fromkeys(test.node_id for _, test in members)),
        example_message=example.message,
        example_traceback=example.traceback,
    )
