"""The Celery app: broker and settings from `Settings`, two queues, no task bodies.

`events` carries small webhook tasks (permission, reaction, queued check run) and `runs` the long
golden-path runs. The `worker` process type consumes them with separate worker processes, so a
busy run slot can never delay an event (see `bin/worker`).
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from bot.core.queues import EVENTS_QUEUE, HANDLE_EVENT_TASK, REAP_TASK, RUN_TASK, RUNS_QUEUE
from bot.settings import get_settings


class _LazyConfig:
    """Celery reads this object when it first needs configuration, not at import."""

    task_serializer = "json"
    result_serializer = "json"
    accept_content = ["json"]
    task_acks_late = True
    task_reject_on_worker_lost = False  # a lost run is reaped and reported, never silently rerun
    worker_prefetch_multiplier = 1
    task_ignore_result = True
    task_default_queue = EVENTS_QUEUE
    task_queues = (Queue(EVENTS_QUEUE), Queue(RUNS_QUEUE))
    task_routes = {
        HANDLE_EVENT_TASK: {"queue": EVENTS_QUEUE},
        REAP_TASK: {"queue": EVENTS_QUEUE},
        RUN_TASK: {"queue": RUNS_QUEUE},
    }
    broker_connection_retry_on_startup = True
    broker_transport_options = {
        # A run may take hours; the message must not be redelivered while it runs.
        "visibility_timeout": 6 * 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    worker_hijack_root_logger = True
    imports = ("workers.tasks",)

    @property
    def broker_url(self) -> str:
        return get_settings().redis_url

    @property
    def beat_schedule(self) -> dict[str, dict[str, object]]:
        """`golden_path.reap` every `GOLDEN_PATH_REAP_INTERVAL_SECONDS` (default 30)."""
        every = get_settings().reap_interval_seconds
        # A reap still waiting when the next one is due is useless: let it expire.
        options = {"expires": max(every, 5.0)}
        return {"reap-stuck-runs": {"task": REAP_TASK, "schedule": every, "options": options}}


app = Celery("golden_path")
app.config_from_object(_LazyConfig())
