"""permissions: write access runs and cancels; anyone may ask for status and help."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.permissions import may_cancel, may_run

WRITERS = ["admin", "maintain", "write", "ADMIN", " write "]
OTHERS = ["triage", "read", "none", "", None, "writer", "owner"]


@pytest.mark.parametrize("permission", WRITERS)
def test_writers_may_run_and_cancel(permission: str) -> None:
    assert may_run(permission)
    assert may_cancel(permission)


@pytest.mark.parametrize("permission", OTHERS)
def test_others_may_not_run_or_cancel(permission: str | None) -> None:
    assert not may_run(permission)
    assert not may_cancel(permission)


@pytest.mark.parametrize(
    ("check", "permission", "expected"),
    [
        (may_run, "write", True),
        (may_run, "read", False),
        (may_cancel, "maintain", True),
        (may_cancel, "triage", False),
        (may_run, None, False),
    ],
    ids=["run-write", "run-read", "cancel-maintain", "cancel-triage", "run-no-permission"],
)
def test_run_and_cancel_need_write(
    check: Callable[[str | None], bool], permission: str | None, expected: bool
) -> None:
    assert check(permission) is expected
