"""The plan file in a checkout is read without following symlinks and with a size cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.plan import PLAN_PATH, PlanError
from workers.engine.plan_file import read_plan

PLAN = "phases: [{id: auth, suites: [tests/test_auth.py]}]\n"


def plant(checkout: Path, how: str) -> None:
    github = checkout / ".github"
    path = checkout / PLAN_PATH
    if how == "folder symlinked elsewhere":
        elsewhere = checkout.parent / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "golden-path.yml").write_text(PLAN)
        github.symlink_to(elsewhere)
        return
    github.mkdir()
    if how == "symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    elif how == "symlink to a good plan":
        (github / "real.yml").write_text(PLAN)
        path.symlink_to("real.yml")
    elif how == "a folder":
        path.mkdir()
    elif how == "a fifo":
        os.mkfifo(path)
    elif how == "over 64 KiB":
        path.write_text(PLAN + "#" * 70_000 + "\n")
    elif how == "a plain file":
        path.write_text(PLAN)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("symlink to /dev/zero", "is a symbolic link, which is not followed; it is not read"),
        ("symlink to a good plan", "is a symbolic link, which is not followed; it is not read"),
        ("folder symlinked elsewhere", "lies under .github/, a symbolic link"),
        ("a folder", "is not a regular file"),
        ("a fifo", "is not a regular file"),
        ("over 64 KiB", "over the limit of 65,536"),
        ("missing", "not found at this commit"),
    ],
)
def test_a_plan_that_is_not_a_plain_small_file_is_refused(
    tmp_path: Path, how: str, reason: str
) -> None:
    """Issue 9: a plan symlinked to /dev/zero was read."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    plant(checkout, how)
    with pytest.raises(PlanError) as caught:
        read_plan(checkout)
    [problem] = caught.value.problems
    assert (problem.file, problem.key) == (PLAN_PATH, "(file)")
    assert reason in problem.reason


def test_a_plain_plan_is_read(tmp_path: Path) -> None:
    plant(tmp_path, "a plain file")
    assert read_plan(tmp_path).phase_ids == ("auth",)
