"""The Celery app: broker and settings from `Settings`, two queues, no task bodies.

`events` carries small webhook tasks (permission, reaction, queued check run) and `runs` the long
golden-path runs. The `worker` process type consumes them with separate worker processes, so a
busy run slot can never delay an event (see `bin/worker`).
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

from celery import Celery, bootsteps, signals
from kombu import Queue

from bot.core.queues import (
    EVENTS_QUEUE,
    HANDLE_EVENT_TASK,
    REAP_TASK,
    RUN_TASK,
    RUNS_QUEUE,
    SHARD_TASK,
    SHARDS_QUEUE,
)
from bot.settings import get_settings
from bot.telemetry import logs, trace

log = logging.getLogger(__name__)

# How long a message taken by a worker that died stays invisible before another worker gets it.
# kombu's Redis transport has one visibility timeout per connection, restored from one "unacked"
# index: the `events` worker keeps its own index with a short timeout (an event is seconds of
# work; a lost one comes back in minutes and decides on a fresh view of the pull request), while
# `runs` keeps the long one (a lost run is restarted by the reaper long before; its message coming
# back later finds the run no longer queued and does nothing).
EVENTS_VISIBILITY_SECONDS = 180
RUNS_VISIBILITY_SECONDS = 6 * 3600


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
    task_queues = (Queue(EVENTS_QUEUE), Queue(RUNS_QUEUE), Queue(SHARDS_QUEUE))
    task_routes = {
        HANDLE_EVENT_TASK: {"queue": EVENTS_QUEUE},
        REAP_TASK: {"queue": EVENTS_QUEUE},
        RUN_TASK: {"queue": RUNS_QUEUE},
        SHARD_TASK: {"queue": SHARDS_QUEUE},
    }
    broker_connection_retry_on_startup = True
    broker_transport_options = {
        # A run may take hours; the message must not be redelivered while it runs.
        "visibility_timeout": RUNS_VISIBILITY_SECONDS,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    imports = ("workers.tasks",)

    @property
    def broker_url(self) -> str:
        return get_settings().redis_url

    @property
    def beat_schedule(self) -> dict[str, dict[str, object]]:
        """`golden_path.reap` every `GOLDEN_PATH_REAP_INTERVAL_SECONDS` (default 10)."""
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


def transport_options_for(queues: list[str], base: dict[str, Any]) -> dict[str, Any]:
    """The broker options of a worker consuming `queues` (pure; see the visibility note)."""
    if RUNS_QUEUE in queues or not queues:
        return dict(base)
    return {
        **base,
        "visibility_timeout": EVENTS_VISIBILITY_SECONDS,
        "unacked_key": f"unacked:{EVENTS_QUEUE}",
        "unacked_index_key": f"unacked_index:{EVENTS_QUEUE}",
        "unacked_mutex_key": f"unacked_mutex:{EVENTS_QUEUE}",
    }


@signals.celeryd_init.connect
def _per_queue_transport(conf: Any = None, options: dict[str, Any] | None = None, **_: Any) -> None:
    """Runs in each worker before it connects: `-Q events` gets the short visibility timeout."""
    queues = (options or {}).get("queues") or []
    if isinstance(queues, str):
        queues = queues.split(",")
    if conf is not None:
        conf.broker_transport_options = transport_options_for(
            [str(q) for q in queues], dict(conf.broker_transport_options or {})
        )


@signals.celeryd_after_setup.connect
def _freeze_start_up_objects(**_: Any) -> None:
    """What start-up built lives as long as the worker: keep it out of every collection (full
    collections of it paused tasks for tens of ms) and, in prefork children, off the pages a
    collection would write to (copy-on-write keeps them shared with the parent)."""
    gc.collect()
    gc.freeze()


@signals.worker_process_init.connect
def _warm_up_pool_process(**_: Any) -> None:
    """A prefork pool process loads the task bodies before it takes its first task."""
    from workers.tasks import warm_up

    warm_up()


class Reconcile(bootsteps.StartStopStep):
    """The `events` worker of every `worker` process reconciles on start and periodically:
    restarts or concludes lost runs and sweeps leftovers, with or without `beat`.

    Both happen once the worker is ready, in a thread: it first loads the task bodies
    (`workers.tasks.warm_up`), so the worker consumes sooner and its first event finds them loaded.
    """

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.reconciler: Any = None
        self._stopped = threading.Event()
        self._guard = threading.Lock()

    def start(self, parent: Any) -> None:
        if EVENTS_QUEUE not in parent.app.amqp.queues.consume_from:
            return
        self._stopped.clear()

        def when_ready(**_: Any) -> None:
            threading.Thread(target=self._begin, name="reconcile-start", daemon=True).start()

        self._when_ready = when_ready  # the signal holds its receivers weakly
        signals.worker_ready.connect(when_ready, weak=True)

    def _begin(self) -> None:
        from workers.tasks import reconciler, warm_up  # task bodies stay out of this module

        log.info("task bodies loaded in %.2f s", warm_up())
        with self._guard:
            if self._stopped.is_set():
                return
            self.reconciler = reconciler()
            self.reconciler.start()

    def stop(self, parent: Any) -> None:
        with self._guard:
            self._stopped.set()
            if self.reconciler is not None:
                self.reconciler.stop()
                self.reconciler = None


app.steps["worker"].add(Reconcile)
