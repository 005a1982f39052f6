"""Per-feature event handlers; each module exposes a `router`, composed here."""

from bot.core.routing import Router
from bot.handlers import (
    check_runs,
    comments,
    deployments,
    merge_groups,
    pull_requests,
    pushes,
)

router = Router(
    comments.router,
    pull_requests.router,
    check_runs.router,
    merge_groups.router,
    deployments.router,
    pushes.router,
)

__all__ = ["router"]
