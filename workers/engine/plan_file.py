"""The plan in a checkout: read as the contract says (§4), never through a symlink, a regular
file of at most 64 KiB, whatever the pull request put there (a link to `/dev/zero`, to the
bot's key file, a folder, a 1 GiB file)."""

from __future__ import annotations

from pathlib import Path

from bot.core import plan as plan_module
from bot.core.plan_yaml import MAX_PLAN_BYTES
from workers.engine import files

NOT_FOUND = "not found at this commit"


def read_plan(checkout: Path) -> plan_module.Plan:
    """The checkout's plan; `PlanError` naming the file when it is missing, unreadable or
    invalid."""
    path = checkout / plan_module.PLAN_PATH
    try:
        data = files.read_capped(path, MAX_PLAN_BYTES, inside=checkout)
    except FileNotFoundError:
        raise _file_error(NOT_FOUND) from None
    except files.UnsafeFile as error:
        raise _file_error(f"{error}; it is not read") from None
    except OSError as error:
        raise _file_error(f"cannot be read: {error.strerror or type(error).__name__}") from None
    return plan_module.parse(data.decode("utf-8", errors="replace"), plan_module.PLAN_PATH)


def _file_error(reason: str) -> plan_module.PlanError:
    return plan_module.PlanError([plan_module.PlanProblem(plan_module.PLAN_PATH, "(file)", reason)])
