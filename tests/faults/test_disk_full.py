"""A full disk under GOLDEN_PATH_WORKDIR (a small tmpfs, filled): the run cannot check out, and
says so (`failure`, the reason shown, nothing concluded about the code); nothing is left behind,
and the next run works once there is room again."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from sandbox.stack import Stack
from tests.faults import harness
from tests.faults.harness import check_nothing_lost, record


def _fill(folder: Path) -> Path:
    ballast = folder / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1024 * 1024, 4096, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return ballast


def test_full_disk_fails_the_run_honestly(stack: Stack, tmp_path: Path) -> None:
    if not getattr(stack, "tmpfs", False):
        pytest.skip("mounting a tmpfs needs root here; the disk cannot be filled safely")
    workdir = Path(stack.env()["GOLDEN_PATH_WORKDIR"])
    project = harness.make_project(stack, tmp_path)
    ballast = _fill(workdir)
    try:
        harness.say(stack, project)
        done = harness.wait_done(stack, project)
    finally:
        ballast.unlink()
    lost = check_nothing_lost(stack, project, conclusion="failure", says="No space left")
    record(
        "disk full (tmpfs workdir filled)",
        "checkout",
        "1 attempt",
        f"{done['conclusion']}: no space left, shown",
        lost,
    )
    assert not lost
    again = harness.make_project(stack, tmp_path)
    harness.say(stack, again)
    assert harness.wait_done(stack, again)["conclusion"] == "success"
