"""Golden Path's pytest plugin: every result as a JSON line, written the moment pytest knows it.

Loaded with `-p golden_path_stream --golden-path-stream=FILE`. JUnit XML is written only when a
session ends; this stream survives a timeout kill, an `os._exit()` or a crash, so the bot still
knows what ran and which test was running. It runs inside the code under test's interpreter (any
pytest >= 7, any Python >= 3.8), so it imports nothing but the standard library and pytest, and it
writes only to the path it is given (in a sandbox, the run's output folder).
"""

from __future__ import annotations  # annotations stay strings: Python 3.8 and pytest 7 read this

import contextlib
import json
import os
import signal
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pytest >= 7 exports these; imported only for the type checker
    from collections.abc import Generator
    from types import FrameType

    from pluggy import Result

MAX_TEXT = 20000  # characters of a traceback kept (its tail: the end says most)
MAX_FRAMES = 200
_FRAMES_KEY = "_golden_path_frames"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--golden-path-stream", default=None, help="write results to FILE as JSONL")


class _Stream:
    def __init__(self, config: pytest.Config, path: str) -> None:
        self.config = config
        self.cwd = str(config.invocation_params.dir)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held for the session
        self.running: str | None = None
        # Not in the main thread (ValueError): no last words, the stream still works.
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, self.on_terminate)

    def on_terminate(self, signum: int, frame: FrameType | None) -> None:
        """The bot stops a phase (timeout, cancel) with SIGTERM: save what the running test
        printed, which pytest holds in its capture and would lose, then die as asked."""
        capman = self.config.pluginmanager.getplugin("capturemanager")
        try:
            out, err = capman.read_global_capture() if capman is not None else ("", "")
        except Exception:  # noqa: BLE001 - capture may be suspended; dying matters more
            out, err = "", ""
        self.write(e="output", id=self.running, text=(out + err)[-MAX_TEXT:])
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def write(self, **event: Any) -> None:
        self.file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.file.flush()  # in the kernel's hands now: survives os._exit and SIGKILL

    def rel(self, path: object) -> str:
        path = str(path)
        try:
            rel = os.path.relpath(path, self.cwd)
        except ValueError:
            return path
        return path if rel.startswith("..") else rel.replace(os.sep, "/")

    def location(self, report: pytest.TestReport) -> tuple[str, int | None]:
        rootdir = str(self.config.rootpath)
        file, line, _ = report.location
        return self.rel(os.path.join(rootdir, file)), (line + 1 if line is not None else None)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        self.running = nodeid
        self.write(e="start", id=nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        self.write(e="end", id=nodeid)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Result[pytest.TestReport], None]:
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None and report.failed:
            frames = [
                [self.rel(entry.path), entry.lineno + 1, entry.name]
                for entry in call.excinfo.traceback
            ]
            setattr(report, _FRAMES_KEY, frames[-MAX_FRAMES:])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
        category = category[0] if category else ""
        if not category and not report.failed:
            return
        file, line = self.location(report)
        self.write(
            e="report",
            id=report.nodeid,
            when=report.when,
            cat=category or "failed",
            dur=report.duration,
            file=file,
            line=line,
            msg=_message(report),
            tb=_text(report),
            frames=getattr(report, _FRAMES_KEY, []),
            crash=_crash(self, report),
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not (report.failed or report.skipped):
            return
        self.write(
            e="collect",
            id=report.nodeid,
            cat="error" if report.failed else "skipped",
            file=self.rel(os.path.join(str(self.config.rootpath), report.fspath or "")),
            msg=_message(report),
            tb=_text(report),
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.write(e="finish", exit=int(exitstatus))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.file.close()


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)[:MAX_TEXT]
    lines = [ln for ln in str(longrepr).splitlines() if ln.strip()]
    e_lines = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    return (e_lines[-1] if e_lines else (lines[-1] if lines else ""))[:MAX_TEXT]


def _text(report: pytest.TestReport | pytest.CollectReport) -> str:
    if report.longrepr is None or isinstance(report.longrepr, tuple):
        return ""
    try:
        text = report.longreprtext
    except Exception:  # noqa: BLE001 - a broken __repr__ under test must not stop the stream
        text = "(traceback not available)"
    return text[-MAX_TEXT:]


def _crash(stream: _Stream, report: pytest.TestReport) -> list[object] | None:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None or not getattr(crash, "path", None):
        return None
    return [stream.rel(crash.path), crash.lineno]


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--golden-path-stream")
    if path:
        config.pluginmanager.register(_Stream(config, path), "golden-path-stream-writer")
