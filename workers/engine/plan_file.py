"""The plan in a checkout: read as the contract says (§4), never through a symlink, a regular
file of at most 64 KiB, whatever the pull request put there (a link to `/dev/zero`, to the
bot's key file, a folder, a 1 GiB file)."""

from __future__ import annotations

from pathlib import Path

from bot.core.plan import PLAN_PATH, Plan, PlanError, PlanProblem, parse_plan
from bot.core.plan_yaml import MAX_PLAN_BYTES
from workers.engine import files

NOT_FOUND = "not found at this commit"


def read_plan(checkout: Path) -> Plan:
    """The checkout's plan; `PlanError` naming the file when it is missing, unreadable or
    invalid."""
    path = checkout / PLAN_PATH
    try:
        data = files.read_capped(path, MAX_PLAN_BYTES, inside=checkout)
    except FileNotFoundError:
        raise _file_error(NOT_FOUND) from None
    except files.UnsafeFile as error:
        raise _file_error(f"{error}; it is not read") from None
    except OSError as error:
        raise _file_error(f"cannot be read: {error.strerror or type(error).__name__}") from None
    return parse_plan(data.decode("utf-8", errors="replace"), PLAN_PATH)


def _file_error(reason: str) -> PlanError:
    return PlanError([PlanProblem(PLAN_PATH, "(file)", reason)])
