"""permissions: write access runs and cancels; anyone may ask for status and help."""

from __future__ import annotations

import pytest

from bot.core.commands import Cancel, Help, Run, Status
from bot.core.permissions import Action, action_of, allowed, may, may_cancel, may_run

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


@pytest.mark.parametrize("permission", WRITERS + OTHERS)
@pytest.mark.parametrize("action", [Action.STATUS, Action.HELP])
def test_anyone_may_read(action: Action, permission: str | None) -> None:
    assert may(action, permission)


@pytest.mark.parametrize(
    ("command", "permission", "expected"),
    [
        (Run(), "write", True),
        (Run(("auth",)), "read", False),
        (Cancel(), "maintain", True),
        (Cancel(), "triage", False),
        (Status(), "none", True),
        (Help(), None, True),
        (Help("unknown command `x`"), "read", True),
    ],
)
def test_allowed(command: object, permission: str | None, expected: bool) -> None:
    assert allowed(command, permission) is expected  # type: ignore[arg-type]


def test_action_of_every_command() -> None:
    assert [action_of(c) for c in (Run(), Cancel(), Status(), Help())] == [
        Action.RUN,
        Action.CANCEL,
        Action.STATUS,
        Action.HELP,
    ]
    with pytest.raises(TypeError):
        action_of("run")  # type: ignore[arg-type]
