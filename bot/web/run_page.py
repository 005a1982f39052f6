"""A run's page, the check run's `details_url`: the run's record, live while it goes on.

It opens with the run's signed link (`bot.web.links`) or for a signed-in user whom GitHub lets
read the repository; any other request gets the same 404 as a run that does not exist (contract
§6). While the run goes on, `/runs/{id}/events` streams its progress (server-sent events) and
`templates/static/live.js` updates the page in place. Internals (task ids, worker names, the
check run id) stay out of both the page and its JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from bot.core.run_model import RUN_ID, RunRecord
from bot.state.run_records import RecordNotFound
from bot.web import env_queues, links, views
from bot.web.rendering import HEADERS, not_found, page, viewer_of

SSE_POLL_SECONDS = 1.0
SSE_MAX_SECONDS = 600  # then the browser's EventSource reconnects

SHOWN = {
    "run_id",
    "repo",
    "pr_number",
    "merge_group_ref",
    "head_sha",
    "phases",
    "requested_by",
    "trigger",
    "check_name",
    "environment",
    "state",
    "current_phase",
    "conclusion",
    "reason",
    "created_at",
    "started_at",
    "finished_at",
    "verdicts",
    "mrr_at_risk",
    "patterns",
}


def as_json(record: RunRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", include=SHOWN)


async def run_details(run_id: str, request: Request) -> Response:
    """The check run's `details_url`: the run, live while it goes on."""
    found = await _visible_run(request, run_id)
    if isinstance(found, Response):
        return found
    record, viewer = found
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(as_json(record), headers=HEADERS)
    token = request.query_params.get("token")
    events_url = f"/runs/{record.run_id}/events" + (f"?token={token}" if token else "")
    queues = await run_in_threadpool(
        env_queues.queues, request.app.state.wiring, frozenset({record.repo}), viewer is not None
    )
    view = as_json(record)
    return page(
        request,
        "run_page.html.j2",
        viewer,
        run=view,
        events_url=events_url,
        queues=queues,
        mrr=f"${record.mrr_at_risk:,}",
    )


async def run_events(run_id: str, request: Request) -> Response:
    """Server-sent events: the run's progress whenever it changes, until it completes."""
    found = await _visible_run(request, run_id)
    if isinstance(found, Response):
        return found
    records = request.app.state.wiring.records()

    async def stream() -> AsyncIterator[str]:
        last = ""
        deadline = time.monotonic() + SSE_MAX_SECONDS
        yield "retry: 2000\n\n"
        while time.monotonic() < deadline and not await request.is_disconnected():
            try:
                record = await run_in_threadpool(records.get, run_id)
            except (RecordNotFound, RedisError):
                return
            data = json.dumps(views.progress(record))
            if data != last:
                last = data
                yield f"event: run\ndata: {data}\n\n"
            if record.conclusion is not None:
                return
            await asyncio.sleep(SSE_POLL_SECONDS)

    headers = {**HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


async def _visible_run(request: Request, run_id: str) -> tuple[RunRecord, Any] | Response:
    """The run and the viewer, or the one 404 every refusal looks like (contract §6)."""
    if not RUN_ID.fullmatch(run_id):
        return not_found(request, None)
    wiring = request.app.state.wiring
    try:
        record = await run_in_threadpool(wiring.records().get, run_id)
    except RecordNotFound:
        return not_found(request, None)
    except RedisError:
        return JSONResponse({"error": "redis unavailable"}, status_code=503)
    viewer = await viewer_of(request)
    if viewer is not None and viewer.may_read(record.repo):
        return record, viewer
    if links.verify(run_id, request.query_params.get("token"), wiring.settings().link_key()):
        return record, None
    return not_found(request, viewer)
