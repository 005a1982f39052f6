"""Who holds each environment (staging) and who waits for it, for the dashboard's pages.

Edge: reads the environment lock's own keys (`bot.state.env_lock.queue_of`) and the runs' records.
"""

from __future__ import annotations

from typing import Any

from bot.core.run_model import RunRecord
from bot.state.env_lock import queue_of


def queues(wiring: Any, readable: frozenset[str], linked: bool) -> list[dict[str, Any]]:
    """Who holds and who waits for each environment that a readable repository's active run
    uses (read from the environment lock's own keys)."""
    records = wiring.records()
    active = [r for r in records.active() if r.repo in readable and r.environment]
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for record in active:
        key = (record.repo, record.environment or "")
        if key in seen:
            continue
        holder, waiting = queue_of(wiring.redis(), *key)
        by_id = {r.run_id: r for r in records.get_many([i for i in [holder, *waiting] if i])}
        seen[key] = {
            "repo": key[0],
            "environment": key[1],
            "holder": _ref(holder, by_id, linked) if holder else None,
            "waiting": [_ref(w, by_id, linked) for w in waiting if w != holder],
        }
    return list(seen.values())


def _ref(run_id: str, by_id: dict[str, RunRecord], linked: bool) -> dict[str, Any]:
    run = by_id.get(run_id)
    label = f"{run.target} at {run.head_sha[:7]}" if run else run_id
    return {"label": label, "href": f"/runs/{run_id}" if linked and run else None}
