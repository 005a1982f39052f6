"""Run one command (pytest or a setup step) in its own process group, with a timeout and a stop
switch, capturing its combined output into a size-bounded log file."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

POLL_SECONDS = 0.5
KILL_GRACE_SECONDS = 3.0
LOG_HEAD_BYTES = 512 * 1024  # the log keeps the first and the last 512 KiB: 1 MiB at most
LOG_TAIL_BYTES = 512 * 1024
OUTPUT_TAIL_CHARS = 4000
DRAIN_SECONDS = 1.0  # a background child (a started server) may hold the pipe open forever


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int | None  # negative: killed by that signal
    timed_out: bool
    stopped_reason: str | None
    duration_seconds: float
    output_tail: str
    start_error: str | None = None  # the command could not be started at all

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.stopped_reason)


class Launcher(Protocol):
    """How a command is started: under the orphan guard, or inside a run's sandbox."""

    def prepare(
        self, command: Sequence[str], env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]: ...


GUARD = Path(__file__).with_name("orphan_guard.py")


class OrphanGuard:
    """`GOLDEN_PATH_SANDBOX=none`: no isolation, but a worker that dies still takes the command's
    process group with it (`orphan_guard.py`). Unlike the sandbox, a process that leaves the group
    (`setsid`) can outlive the run: one more reason `none` is for trusted code only."""

    def prepare(
        self, command: Sequence[str], env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-I", str(GUARD), *command], dict(env)


def unsandboxed(checkout: Path, output: Path, python: str) -> AbstractContextManager[Launcher]:
    """The isolation of `GOLDEN_PATH_SANDBOX=none` (same signature as `sandbox.sandboxed`)."""
    return nullcontext(OrphanGuard())


def supervise(
    command: Sequence[str] | str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_seconds: float | None,
    log_path: Path,
    should_stop: Callable[[], str | None] = lambda: None,
    poll_seconds: float = POLL_SECONDS,
    kill_grace_seconds: float = KILL_GRACE_SECONDS,
    launcher: Launcher | None = None,
) -> ProcessOutcome:
    """Run `command` (an argv list, or a shell string) and wait for it, the timeout or a stop.

    On timeout or stop the whole process group gets SIGTERM, then SIGKILL."""
    started = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _check_startable(command, cwd, env)
        argv, child_env = (launcher or OrphanGuard()).prepare(_shell(command), env)
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:  # a missing interpreter or cwd: an outcome, not a crash
        log_path.write_text(f"could not start: {exc}\n")
        return ProcessOutcome(None, False, None, time.monotonic() - started, "", str(exc))
    assert proc.stdout is not None
    capture = _BoundedCapture(proc.stdout.fileno(), log_path)
    capture.start()
    try:
        timed_out, reason = _wait(proc, started, timeout_seconds, should_stop, poll_seconds)
        if timed_out or reason:
            _kill_group(proc, kill_grace_seconds)
    finally:
        if proc.poll() is None:  # an exception (KeyboardInterrupt) must not leave it running
            _kill_group(proc, kill_grace_seconds)
        capture.finish()
        proc.stdout.close()
    return ProcessOutcome(
        exit_code=proc.returncode,
        timed_out=timed_out,
        stopped_reason=reason,
        duration_seconds=time.monotonic() - started,
        output_tail=capture.tail_text(OUTPUT_TAIL_CHARS),
    )


def _check_startable(command: Sequence[str] | str, cwd: Path, env: Mapping[str, str]) -> None:
    """Raise what `Popen` would for a missing program, before the guard hides it in its exit."""
    if isinstance(command, str) or not command:
        return
    program = command[0]
    if os.sep in program:
        found = program if os.path.isabs(program) else str(cwd / program)
        if os.access(found, os.X_OK):
            return
    elif shutil.which(program, path=env.get("PATH", os.defpath)):
        return
    raise FileNotFoundError(2, "No such file or directory", program)


def _shell(command: Sequence[str] | str) -> list[str]:
    if isinstance(command, str):
        return ["/bin/bash" if os.access("/bin/bash", os.X_OK) else "/bin/sh", "-c", command]
    return list(command)


def _wait(
    proc: subprocess.Popen[bytes],
    started: float,
    timeout_seconds: float | None,
    should_stop: Callable[[], str | None],
    poll_seconds: float,
) -> tuple[bool, str | None]:
    while True:
        try:
            proc.wait(timeout=poll_seconds)
            return False, None
        except subprocess.TimeoutExpired:
            pass
        if timeout_seconds is not None and time.monotonic() - started >= timeout_seconds:
            return True, None
        reason = should_stop()
        if reason:
            return False, reason


def _kill_group(proc: subprocess.Popen[bytes], grace_seconds: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; members of its group that ignored SIGTERM are not spared.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


class _BoundedCapture:
    """Copies a pipe into a log file: the head verbatim, then only the last bytes."""

    def __init__(self, fd: int, path: Path):
        self._fd = fd
        self._path = path
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._thread.join(DRAIN_SECONDS)
        self._done.set()
        self._thread.join()
        self._write()

    def _pump(self) -> None:
        while not self._done.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return
            self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        room = LOG_HEAD_BYTES - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        excess = len(self._tail) - LOG_TAIL_BYTES
        if excess > 0:
            del self._tail[:excess]
            self._dropped += excess

    def _write(self) -> None:
        with self._path.open("wb") as log:
            log.write(self._head)
            if self._dropped:
                log.write(f"\n[... {self._dropped} bytes of output omitted ...]\n".encode())
            log.write(self._tail)

    def tail_text(self, limit: int) -> str:
        data = bytes(self._head + self._tail) if not self._dropped else bytes(self._tail)
        return data[-limit * 4 :].decode("utf-8", errors="replace")[-limit:]
