"""Enqueue an event for the `events` workers by task name; broker failure becomes an answer."""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError

from bot.events import Event
from workers.celery_app import EVENTS_QUEUE, HANDLE_EVENT_TASK
from workers.celery_app import app as celery_app

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
        )


def default_queue(broker_url: str | None = None) -> CeleryEventQueue:
    """The production queue on `workers.celery_app.app` (its config is read lazily by Celery)."""
    return CeleryEventQueue(celery_app, broker_url)


def enqueue_event(event: Event, queue: CeleryEventQueue | None = None) -> None:
    """Module-level convenience: enqueue on `queue`, or on the default Celery app."""
    (queue or default_queue()).enqueue(event)
