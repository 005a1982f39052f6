"""The web's event producer: `golden_path.handle_event` as a Celery task message, by name.

The web process does not run a Celery producer (a broker connection, kombu's channel and its
retry machinery cost more per request than the rest of the webhook together). It builds the
message kombu's Redis transport would `LPUSH` onto the `events` list (Celery protocol 2, JSON,
base64 body) and hands the bytes to `bot.state.deliveries.DeliveryIntake`, which records the
delivery and queues the message in one Redis round trip. The events worker consumes it as any
task sent with `send_task`. It shares no code with `workers.celery_app`; the two agree through
`bot.core.queues` and the Celery protocol.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import socket
import uuid
from typing import Any

import orjson

from bot.core.events import Event
from bot.core.queues import EVENTS_QUEUE, HANDLE_EVENT_TASK
from bot.telemetry import trace

# Celery cuts `argsrepr`/`kwargsrepr` (display only: logs, monitoring) at this length.
REPR_MAX = 1024
# What Celery puts in every message's "embed": no callbacks, no chain, no chord.
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
_REPLY_TO = str(uuid.uuid4())  # Celery's per-app oid; unused, results are ignored


def event_message(event: Event, trace_ids: dict[str, Any] | None = None) -> bytes:
    """`send_task(HANDLE_EVENT_TASK, kwargs={"event": ...}, queue=EVENTS_QUEUE)`'s message;
    `trace_ids` (the delivery's, `bot.telemetry.trace`) ride in its headers, for the logs."""
    return task_message(HANDLE_EVENT_TASK, {"event": event.to_dict()}, EVENTS_QUEUE, trace_ids)


def task_message(
    task: str,
    kwargs: dict[str, Any],
    routing_key: str,
    trace_ids: dict[str, Any] | None = None,
) -> bytes:
    """A Celery protocol-2 message as kombu's Redis transport stores it (see
    `celery.app.amqp.as_task_v2` and `kombu.transport.virtual.Channel.prepare_message`)."""
    random = os.urandom(32)  # one call for both version-4 UUIDs
    task_id = str(uuid.UUID(bytes=random[:16], version=4))
    tag = str(uuid.UUID(bytes=random[16:], version=4))
    body = base64.b64encode(orjson.dumps([[], kwargs, _EMBED])).decode()
    # Everything but the ids, the body and the reprs is the same in every message: filled into
    # a template serialised once (this runs inside every webhook request).
    kwargsrepr = orjson.dumps(repr(kwargs)[:REPR_MAX]).decode()
    carried = orjson.dumps(trace_ids or {}).decode()
    text = _template(task, routing_key) % (
        body,
        task_id,
        task_id,
        kwargsrepr,
        carried,
        task_id,
        tag,
    )
    return text.encode()


@functools.cache
def _template(task: str, routing_key: str) -> str:
    """The message with `%s` where `task_message` puts its per-message values."""
    marker = "\x00{}\x00"
    message = {
        "body": marker.format("body"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": marker.format("id"),
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": marker.format("id"),
            "parent_id": None,
            "argsrepr": "()",
            "kwargsrepr": marker.format("kwargsrepr"),
            "origin": _ORIGIN,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
            trace.HEADER: marker.format("trace"),  # custom headers sit beside Celery's own
        },
        "properties": {
            "correlation_id": marker.format("id"),
            "reply_to": _REPLY_TO,
            "delivery_mode": 2,  # persistent
            "delivery_info": {"exchange": "", "routing_key": routing_key},
            "priority": 0,  # priority 0 lives on the plain list named after the queue
            "body_encoding": "base64",
            "delivery_tag": marker.format("tag"),
        },
    }
    text = json.dumps(message).replace("%", "%%")
    for name in ("body", "id", "tag"):  # plain strings: quoted in the template
        text = text.replace(json.dumps(marker.format(name)), '"%s"')
    for name in ("kwargsrepr", "trace"):  # already JSON when filled in
        text = text.replace(json.dumps(marker.format(name)), "%s")
    return text
