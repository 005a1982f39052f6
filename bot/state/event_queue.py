"""Enqueue an event for the `events` workers by task name; broker failure becomes an answer."""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError

from bot.core.events import Event
from bot.core.queues import EVENTS_QUEUE, HANDLE_EVENT_TASK
from bot.telemetry import trace

# Publishing happens inside the webhook request: a dead or hung broker must fail in about two
# seconds, not in Celery's default retry schedule. These apply to the publishing connection only;
# the workers keep the app's own (patient) broker settings.
_PUBLISH_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
    "socket_connect_timeout": 1,
    "socket_timeout": 1.5,
}
_ENSURE = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class QueueUnavailable(Exception):
    """The broker did not take the task; the web edge answers 503 so GitHub can redeliver."""


class CeleryEventQueue:
    """`enqueue(event)` sends `golden_path.handle_event(event=event.to_dict())` to `events`."""

    def __init__(self, celery_app: Celery, broker_url: str | None = None) -> None:
        self._app = celery_app
        self._broker_url = broker_url  # None: the app's configured broker

    def enqueue(self, event: Event) -> None:
        try:
            with self._app.connection_for_write(
                url=self._broker_url,
                connect_timeout=1,
                transport_options=_PUBLISH_TRANSPORT_OPTIONS,
            ) as connection:
                connection.ensure_connection(timeout=2, **_ENSURE)
                self._send(event, connection)
        except (KombuError, redis.RedisError, OSError) as exc:  # OSError covers timeouts
            raise QueueUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def _send(self, event: Event, connection: Any) -> None:
        self._app.send_task(
            HANDLE_EVENT_TASK,
            kwargs={"event": event.to_dict()},
            queue=EVENTS_QUEUE,
            connection=connection,
            retry=False,  # the connection above already failed fast; no second schedule
            ignore_result=True,  # never touch the result backend from the web process
            headers={trace.HEADER: trace.current()},  # the delivery's ids, for the worker's logs
        )


def default_queue(broker_url: str) -> CeleryEventQueue:
    """A send-only Celery app on `broker_url`: JSON messages by task name, no result backend.

    It shares no code with `workers.celery_app`; the two agree through `bot.core.queues`."""
    producer = Celery("golden_path_web", broker=broker_url, set_as_current=False)
    producer.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True)
    return CeleryEventQueue(producer, broker_url)
