"""What pytest's own output says when a session could not start or did not finish: a conftest
that failed to import becomes a collection error at its file and line (so it is annotated and
shown on GitHub), and the test that was running when the process died is named."""

from __future__ import annotations

import re

from bot.core.results import Outcome, TestResult
from workers.engine.junit import MAX_MESSAGE_CHARS, excerpt

_CONFTEST_RE = re.compile(r"^ImportError while loading conftest '(?P<path>[^'\n]+)'\.$", re.M)
_LOCATION_RE = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+): in ", re.M)
_E_LINE_RE = re.compile(r"^E\s+(?P<text>\S.*)$", re.M)


def conftest_errors(output: str, checkout: str) -> tuple[TestResult, ...]:
    """`ImportError while loading conftest '/abs/tests/conftest.py'.` blocks, one result each."""
    found = []
    matches = list(_CONFTEST_RE.finditer(output))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(output)
        block = output[match.start() : end].strip()
        file = _relative(match.group("path"), checkout)
        locations = [m for m in _LOCATION_RE.finditer(block) if m.group("file").endswith(file)]
        e_lines = _E_LINE_RE.findall(block)
        message = e_lines[-1].strip() if e_lines else "ImportError while loading conftest"
        found.append(
            TestResult(
                node_id=file,
                outcome=Outcome.ERROR,
                file=file,
                line=int(locations[-1].group("line")) if locations else 1,
                message=message[:MAX_MESSAGE_CHARS],
                traceback=excerpt(block),
            )
        )
    return tuple(found)


def _relative(path: str, checkout: str) -> str:
    root = checkout.rstrip("/") + "/"
    return path[len(root) :] if path.startswith(root) else path


def crashed_test(node_id: str, reason: str, output: str, duration: float = 0.0) -> TestResult:
    """The test that was running when the process was killed or exited on its own."""
    file = node_id.split("::", 1)[0] or None
    return TestResult(
        node_id=node_id,
        outcome=Outcome.ERROR,
        duration=duration,
        file=file,
        message=reason[:MAX_MESSAGE_CHARS],
        traceback=excerpt(output),
    )
