"""The Celery app: broker and settings from `Settings`, two queues, no task bodies.

`events` carries small webhook tasks (permission, reaction, queued check run) and `runs` the long
golden-path runs. The `worker` process type consumes them with separate worker processes, so a
busy run slot can never delay an event (see `bin/worker`).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu import Queue

from bot.core.queues import EVENTS_QUEUE, HANDLE_EVENT_TASK, REAP_TASK, RUN_TASK, RUNS_QUEUE
from bot.settings import get_settings
from bot.telemetry import logs, trace


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


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """Workers and beat log as the web does (JSON lines in production); connecting this signal
    also stops Celery from installing its own root handler."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level, settings.secret_values())


@signals.before_task_publish.connect
def _carry_trace(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Whoever sends a task (web, events worker) hands its trace ids to the next process."""
    carried = trace.current()
    if headers is not None and carried:
        headers[trace.HEADER] = carried


@signals.task_prerun.connect
def _adopt_trace(task: Any = None, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    """A task's log lines carry the ids of the delivery (and run) it works for."""
    request = getattr(task, "request", None)
    trace.adopt(getattr(request, trace.HEADER, None) if request is not None else None)
    if kwargs and isinstance(kwargs.get("run_id"), str):
        trace.bind(run_id=kwargs["run_id"])


@signals.task_postrun.connect
def _drop_trace(**_: Any) -> None:
    trace.clear()
