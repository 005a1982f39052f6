"""pytest's JUnit XML (`-o junit_family=xunit1`) text to `TestResult` values."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.results import Outcome, TestResult

MAX_MESSAGE_CHARS = 300
MAX_TRACEBACK_LINES = 40
MAX_TRACEBACK_CHARS = 6000
COLLECTION_FAILURE = "collection failure"

# The XML is written by the code under test, so it is untrusted: no DTDs, no entity tricks.
_UNSAFE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_SETUP_PREFIX = re.compile(r"^failed on (setup|teardown) with ")


class JunitError(ValueError):
    """The text is not a JUnit report we are willing to read."""


@dataclass(frozen=True)
class JunitSummary:
    """Test cases, and collection errors (a module that could not even be imported)."""

    tests: tuple[TestResult, ...]
    collection_errors: tuple[TestResult, ...] = ()


Scrub = Callable[[str], str]


def parse(text: str, *, scrub: Scrub) -> JunitSummary:
    """Read a JUnit report; raise `JunitError` when it is unsafe or not XML.

    Every string taken from the report passes through `scrub` as it is read, before the
    message is cut to its first line and `MAX_MESSAGE_CHARS`, or the traceback to its tail
    (contract §5.3): a cut can then never leave part of a secret behind."""
    if _UNSAFE.search(text):
        raise JunitError("JUnit report contains a DOCTYPE or ENTITY declaration")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise JunitError(f"JUnit report is not valid XML: {exc}") from None
    tests: list[TestResult] = []
    collection: list[TestResult] = []
    for case in root.iter("testcase"):
        if not case.get("name") and not case.get("classname"):
            continue  # pytest.exit() leaves an empty <testcase/>
        result = _result(case, scrub)
        (collection if _is_collection_error(case) else tests).append(result)
    return JunitSummary(tuple(tests), tuple(collection))


def _is_collection_error(case: ET.Element) -> bool:
    error = case.find("error")
    if error is None:
        return False
    return error.get("message") == COLLECTION_FAILURE or not case.get("classname")


def _result(case: ET.Element, scrub: Scrub) -> TestResult:
    outcome, detail = _outcome(case)
    file = scrub(case.get("file") or "") or None
    raw_text = scrub(detail.text or "") if detail is not None else ""
    traceback = excerpt(raw_text)
    message = scrub(detail.get("message") or "") if detail is not None else ""
    return TestResult(
        node_id=node_id(scrub(case.get("classname", "")), scrub(case.get("name", "")), file),
        outcome=outcome,
        duration=_seconds(case.get("time")),
        file=file,
        line=_line(case, file, traceback),
        message=_message(message, raw_text) if detail is not None else "",
        traceback=traceback,
    )


def _outcome(case: ET.Element) -> tuple[Outcome, ET.Element | None]:
    for tag, outcome in (("error", Outcome.ERROR), ("failure", Outcome.FAILED)):
        element = case.find(tag)
        if element is not None:
            return outcome, element
    skipped = case.find("skipped")
    if skipped is not None:
        return Outcome.SKIPPED, skipped
    return Outcome.PASSED, None


def node_id(classname: str, name: str, file: str | None) -> str:
    """`path/to/test_x.py::Class::name` from pytest's dotted classname and file.

    Without a usable file (other junit families), the dotted classname stands in."""
    if not file:
        return "::".join(p for p in (classname, name) if p)
    if not classname:
        return file  # a module that failed to collect: pytest names it by its dotted path
    module = file.removesuffix(".py").replace("/", ".").replace("\\", ".")
    if classname == module:
        classes: list[str] = []
    elif classname.startswith(module + "."):
        classes = classname[len(module) + 1 :].split(".")
    else:
        classes = []
    return "::".join([file, *classes, name])


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def _line(case: ET.Element, file: str | None, traceback: str) -> int | None:
    """1-based line for an annotation: where it failed in the test file, else the `def`.

    pytest writes the `def` line 0-based; the traceback's `path:N:` lines are 1-based."""
    if file and traceback:
        escaped = re.escape(file)
        hits = re.findall(rf"^{escaped}:(\d+):", traceback, re.MULTILINE)
        # A syntax error reports `File "/abs/path/test_x.py", line N`.
        hits = hits or re.findall(rf'File "(?:.*/)?{escaped}", line (\d+)', traceback)
        if hits:
            return int(hits[-1])
    raw = case.get("line")
    return int(raw) + 1 if raw and raw.isdigit() else None


def _message(message: str, text: str) -> str:
    """The first line of the message (or of pytest's `E` lines), cut; both already scrubbed."""
    if message == COLLECTION_FAILURE:
        e_lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
        message = e_lines[-1] if e_lines else message
    elif _SETUP_PREFIX.match(message) or not message.strip():
        # "failed on setup with "file ..., line 10": the first `E ` line says more.
        e_line = next(
            (ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")),
            None,
        )
        message = e_line or _SETUP_PREFIX.sub("", message).strip('"')
    first = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
    return _bounded(first, MAX_MESSAGE_CHARS)


def excerpt(text: str) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        lines = ["...", *lines[-MAX_TRACEBACK_LINES:]]
    text = "\n".join(lines)
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "..." + text[-(MAX_TRACEBACK_CHARS - 3) :]
    return text


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
