"""Names shared by whoever sends tasks (the web process, event handlers) and the Celery workers.

Tasks are sent by name, so the sender never imports a task body (or `workers/` at all)."""

from __future__ import annotations

EVENTS_QUEUE = "events"
RUNS_QUEUE = "runs"
SHARDS_QUEUE = "shards"  # one shard of a `shards: N` phase; consumed by the runs worker

HANDLE_EVENT_TASK = "golden_path.handle_event"
RUN_TASK = "golden_path.run"
REAP_TASK = "golden_path.reap"
SHARD_TASK = "golden_path.shard"
