"""Error text to a normalised signature; failed tests grouped into failure patterns.

Normalisation follows Kubernetes' test-failure triage (kubernetes/test-infra `triage/`): blank out
what changes between occurrences of one failure (numbers, ids, addresses, times, paths, quoted
values) so that the same failure in another run, test or pull request gets the same signature.
Unlike triage we use plain placeholders rather than alpha-renaming (UNIQ1, UNIQ2): a changed value
must never split a pattern, even when two values stop being equal. The contents of list, set and
dict literals collapse too (`assert [<S>] == [<S>, <S>]` is one shape whatever the lengths).

A message's shape alone merges unrelated causes that happen to read alike (`assert <S> in <S>`),
so a pattern's key also holds where the failure happened: the deepest frame inside the
repository's own code outside the test file (`lib/text.py::split_lines`), or, when the test itself
raised (an assertion), the test's file. Line numbers stay out of the key, so an edit elsewhere in
the file does not make the same failure a new pattern.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.results import Frame, TestResult

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
_COLLECTION_RE = re.compile(r"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}")
_COLLAPSED = ("[…]", "{…}")
# Frames outside the repository's own code: installed packages, the interpreter, pytest itself.
_FOREIGN_PATH_RE = re.compile(r"(^/|^[A-Za-z]:\\|site-packages|dist-packages|(^|/)\.?venv/|^<)")
_COLLECTION_PREFIX = "collection failure: "
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
    short: str  # a person's title: the exception and the start of a real message
    exception_type: str
    location: str  # where it failed (part of the key): `path::function` or the test's file
    raised_at: str  # the deepest frame inside the repository, with its line
    failed_at: str  # the test's own failing line
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
    text = _SPACE_RE.sub(" ", text).strip()
    for _ in range(8):  # innermost literals first, so nested ones collapse too
        collapsed = _COLLECTION_RE.sub(lambda m: _COLLAPSED[m.group()[0] == "{"], text)
        if collapsed == text:
            break
        text = collapsed
    return text


def exception_type(message: str, traceback: str = "") -> str:
    """The exception's (qualified) class name, from pytest's message or its traceback."""
    first = message.strip().removeprefix(_COLLECTION_PREFIX).split("\n", 1)[0].strip()
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
    text = re.sub(r"^E\s+", "", text.removeprefix(_COLLECTION_PREFIX))
    match = _MESSAGE_TYPE_RE.match(text)
    if (match and text[match.end() - 1 : match.end()] == ":") or match:
        text = text[match.end() :]
    return text.strip()


def signature(message: str, traceback: str = "") -> str:
    kind = exception_type(message, traceback)
    text = normalize(error_text(message, traceback))[:_MAX_SIGNATURE]
    return f"{kind}: {text}" if text else kind


def signature_key(sig: str, location: str = "") -> str:
    text = f"{sig}\n{location}" if location else sig
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def own_frames(test: TestResult) -> tuple[Frame, ...]:
    """The traceback's frames inside the repository's own code (not packages, not pytest)."""
    return tuple(f for f in test.frames if not _FOREIGN_PATH_RE.search(f.path))


def location(test: TestResult) -> str:
    """Where a failure happened, stable across edits: the deepest own frame outside the test
    file (`path::function`), else the test's file."""
    outside = [f for f in own_frames(test) if f.path != test.file]
    if outside:
        return f"{outside[-1].path}::{outside[-1].function}"
    return test.file or test.node_id.split("::", 1)[0]


def raised_at(test: TestResult) -> str:
    """The deepest own frame with its line (`lib/text.py:12 in split_lines`)."""
    frames = own_frames(test)
    if frames:
        return f"{frames[-1].path}:{frames[-1].line} in {frames[-1].function}"
    return failed_at(test)


def failed_at(test: TestResult) -> str:
    return f"{test.file}:{test.line}" if test.file and test.line else test.file or ""


# pytest's rewritten comparison with its reprs shortened (`assert ['agent_start...ted'] == [...`)
_SHORTENED_ASSERT_RE = re.compile(r"^assert .*\.\.\.")
# ... and the explanation lines under it that say what differs.
_AT_INDEX_RE = re.compile(r"^(?:E\s+)?At index (\d+) diff: (.+)$", re.M)
_CONTAINS_RE = re.compile(r"^(?:E\s+)?((?:Left|Right) contains .+)$", re.M)


def human_title(kind: str, message: str, traceback: str = "", limit: int = SHORT_MAX) -> str:
    """`TimeoutError: websocket closed before agent_completed`: the exception's short name and
    the start of the real message (no placeholders), cut at a word. For a comparison pytest
    shortened, what differs (`'a' != 'b' (at index 3)`) says more than the shortened reprs."""
    name = kind.rsplit(".", 1)[-1]
    first = next(
        (ln.strip() for ln in error_text(message, traceback).splitlines() if ln.strip()), ""
    )
    if _SHORTENED_ASSERT_RE.match(first):
        first = _what_differs(f"{message}\n{traceback}") or first
    text = f"{name}: {_SPACE_RE.sub(' ', first)}" if first else name
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[len(name) + 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" :,;.-") + "…"


def _what_differs(text: str) -> str | None:
    at_index = _AT_INDEX_RE.search(text)
    if at_index:
        return f"{at_index.group(2).strip()} (at index {at_index.group(1)})"
    contains = _CONTAINS_RE.search(text)
    return contains.group(1).strip() if contains else None


def cluster(failures: Iterable[tuple[str, TestResult]]) -> list[FailurePattern]:
    """Patterns of the failed tests, most tests first, then in order of first appearance."""
    groups: dict[tuple[str, str], list[tuple[str, TestResult]]] = {}
    for phase_id, test in failures:
        group = (signature(test.message, test.traceback), location(test))
        groups.setdefault(group, []).append((phase_id, test))
    patterns = [_pattern(sig, where, members) for (sig, where), members in groups.items()]
    order = {p.key: i for i, p in enumerate(patterns)}
    return sorted(patterns, key=lambda p: (-len(p.tests), order[p.key]))


def _pattern(sig: str, where: str, members: list[tuple[str, TestResult]]) -> FailurePattern:
    example = members[0][1]
    kind = exception_type(example.message, example.traceback)
    return FailurePattern(
        signature=sig,
        key=signature_key(sig, where),
        short=human_title(kind, example.message, example.traceback),
        exception_type=kind,
        location=where,
        raised_at=raised_at(example),
        failed_at=failed_at(example),
        phase_ids=tuple(dict.fromkeys(phase for phase, _ in members)),
        tests=tuple(dict.fromkeys(test.node_id for _, test in members)),
        example_message=example.message,
        example_traceback=example.traceback,
    )
