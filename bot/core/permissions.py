"""Who may do what: a repository permission to the commands a user may give (pure).

We run other people's test suites with secrets in `pass_env`, so `run` and `cancel` need write
access (contract §3); `status` and `help` are for anyone and consult no permission.
"""

from __future__ import annotations

# GitHub's permission levels that may run and cancel. The collaborator-permission API answers
# `permission` (admin/write/read/none: maintain folds into write) and `role_name`
# (admin/maintain/write/triage/read); either value works here.
WRITERS = frozenset({"admin", "maintain", "write"})


def may_run(permission: str | None) -> bool:
    return _normalise(permission) in WRITERS


def may_cancel(permission: str | None) -> bool:
    return _normalise(permission) in WRITERS


def _normalise(permission: str | None) -> str:
    return (permission or "none").strip().lower()
