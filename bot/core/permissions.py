"""Who may do what: a repository permission to the commands a user may give (pure).

We run other people's test suites with secrets in `pass_env`, so `run` and `cancel` need write
access (contract §3); `status` and `help` only read.
"""

from __future__ import annotations

import enum

from bot.core.commands import Cancel, Command, Help, Run, Status

# GitHub's permission levels that may run and cancel. The collaborator-permission API answers
# `permission` (admin/write/read/none: maintain folds into write) and `role_name`
# (admin/maintain/write/triage/read); either value works here.
WRITERS = frozenset({"admin", "maintain", "write"})


class Action(enum.Enum):
    RUN = "run"
    CANCEL = "cancel"
    STATUS = "status"
    HELP = "help"


_NEEDS_WRITE = frozenset({Action.RUN, Action.CANCEL})


def action_of(command: Command) -> Action:
    match command:
        case Run():
            return Action.RUN
        case Cancel():
            return Action.CANCEL
        case Status():
            return Action.STATUS
        case Help():
            return Action.HELP
    raise TypeError(f"not a command: {command!r}")


def may(action: Action, permission: str | None) -> bool:
    """Whether a user with `permission` on the repository may take `action`."""
    if action not in _NEEDS_WRITE:
        return True
    return _normalise(permission) in WRITERS


def may_run(permission: str | None) -> bool:
    return may(Action.RUN, permission)


def may_cancel(permission: str | None) -> bool:
    return may(Action.CANCEL, permission)


def allowed(command: Command, permission: str | None) -> bool:
    return may(action_of(command), permission)


def _normalise(permission: str | None) -> str:
    return (permission or "none").strip().lower()
