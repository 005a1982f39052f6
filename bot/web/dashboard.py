"""The dashboard's routes: runs list, run page with live progress, repository trends, sign-in.

Edge (FastAPI + Redis). Who may see what: a run page opens with its signed link
(`bot.web.links`) or for a signed-in user whom GitHub lets read the repository; anything else is
the same 404 as a run that does not exist. Pages are server-rendered (Jinja2, autoescaped) under a
strict Content-Security-Policy: no inline script or style, nothing from another origin.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, PackageLoader, select_autoescape
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from bot.core.run_model import RUN_ID, RunRecord
from bot.state.env_lock import queue_of
from bot.state.run_records import RecordNotFound
from bot.web import auth, links, plots, run_page, trends, views

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a signed link must not leak through Referer
    "Cache-Control": "no-store",
}
STATIC = {"dashboard.css": "text/css", "live.js": "text/javascript"}
SIGN_IN_TO_SEE = "Sign in with GitHub to see the runs of the repositories you can read."
SSE_POLL_SECONDS = 1.0
SSE_MAX_SECONDS = 600  # then the browser's EventSource reconnects
LIST_SCAN = 1000  # newest runs considered by one list page, whatever the filters

_ENV = Environment(
    loader=PackageLoader("templates", ""),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def mount(app: FastAPI) -> None:
    app.add_api_route("/", home, methods=["GET"])
    app.add_api_route("/runs/{run_id}", run_details, methods=["GET"])
    app.add_api_route("/runs/{run_id}/events", run_events, methods=["GET"])
    app.add_api_route("/repos/{owner}/{name}", repository, methods=["GET"])
    app.add_api_route("/login", login, methods=["GET"])
    app.add_api_route("/auth/callback", auth_callback, methods=["GET"], name="auth_callback")
    app.add_api_route("/logout", logout, methods=["POST"])
    app.add_api_route("/static/{name}", static, methods=["GET"])


# pages


async def home(request: Request) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        enabled = request.app.state.wiring.sign_in() is not None
        message = SIGN_IN_TO_SEE if enabled else "This bot has no sign-in configured."
        return _page(
            request,
            "message.html.j2",
            None,
            heading="Golden Path runs",
            message=message,
            show_sign_in=True,
        )
    filters = views.parse_filters(request.query_params)
    repos = sorted(viewer.readable)
    wanted = [filters.repo] if filters.repo in viewer.readable else repos
    wiring = request.app.state.wiring
    records = await run_in_threadpool(_recent, wiring, wanted)
    shown = [r for r in views.visible(records, viewer.readable) if views.matches(r, filters)]
    runs, has_next = views.page_of(shown, filters.page)
    queues = await run_in_threadpool(_queues, wiring, viewer.readable, True)
    return _page(
        request,
        "dashboard.html.j2",
        viewer,
        runs=[r.model_dump(mode="json") for r in runs],
        repos=repos,
        filters=filters,
        conclusions=views.CONCLUSIONS,
        page=filters.page,
        has_next=has_next,
        page_url=lambda n: "/?" + filters.query(n),
        queues=queues,
    )


async def run_details(run_id: str, request: Request) -> Response:
    """The check run's `details_url`: the run, live while it goes on."""
    found = await _visible_run(request, run_id)
    if isinstance(found, Response):
        return found
    record, viewer = found
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(run_page.as_json(record), headers=HEADERS)
    token = request.query_params.get("token")
    events_url = f"/runs/{record.run_id}/events" + (f"?token={token}" if token else "")
    queues = await run_in_threadpool(
        _queues, request.app.state.wiring, frozenset({record.repo}), viewer is not None
    )
    view = run_page.as_json(record)
    return _page(
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


async def repository(owner: str, name: str, request: Request) -> Response:
    repo = f"{owner}/{name}"
    viewer = await _viewer(request)
    if viewer is None or not viewer.may_read(repo):
        return _not_found(request, viewer)
    records = await run_in_threadpool(_recent, request.app.state.wiring, [repo], 200)
    phase_trends = [
        {
            "phase_id": t.phase_id,
            "plots": [
                _plot(f"{t.phase_id}: pass rate", t.series("pass_rate"), views.percent, 0.0, 1.0),
                _plot(f"{t.phase_id}: p95 test duration", t.series("p95_seconds"), views.secs),
                _plot(f"{t.phase_id}: phase duration", t.series("duration_seconds"), views.secs),
            ],
        }
        for t in trends.phase_trends(records)
    ]
    return _page(
        request,
        "repo.html.j2",
        viewer,
        repo=repo,
        trends=phase_trends,
        last=trends.LAST_RUNS,
        patterns=trends.frequent_patterns(records),
        flaky=trends.flakiest_tests(records),
    )


# sign-in


async def login(request: Request) -> Response:
    sign_in = request.app.state.wiring.sign_in()
    if sign_in is None:
        return _page(
            request,
            "message.html.j2",
            None,
            status=404,
            heading="Sign-in is off",
            message="This bot has no GitHub OAuth client configured.",
        )
    return await sign_in.start(request)


async def auth_callback(request: Request) -> Response:
    sign_in = request.app.state.wiring.sign_in()
    if sign_in is None:
        return _not_found(request, None)
    done = await sign_in.finish(request)
    if isinstance(done, Response):
        return done
    return _page(
        request,
        "message.html.j2",
        None,
        status=400,
        heading="Not signed in",
        message=done,
        show_sign_in=True,
    )


async def logout(request: Request) -> Response:
    sign_in = request.app.state.wiring.sign_in()
    if sign_in is not None:
        await sign_in.sign_out(request)
    return RedirectResponse("/", status_code=303)


async def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found\n", status_code=404, media_type="text/plain")
    body = resources.files("templates").joinpath("static", name).read_bytes()
    headers = {"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=STATIC[name], headers=headers)


# helpers


async def _viewer(request: Request) -> auth.Viewer | None:
    sign_in = request.app.state.wiring.sign_in()
    return None if sign_in is None else await sign_in.viewer(request)


async def _visible_run(request: Request, run_id: str) -> tuple[RunRecord, Any] | Response:
    """The run and the viewer, or the one 404 every refusal looks like (contract §6)."""
    if not RUN_ID.fullmatch(run_id):
        return _not_found(request, None)
    wiring = request.app.state.wiring
    try:
        record = await run_in_threadpool(wiring.records().get, run_id)
    except RecordNotFound:
        return _not_found(request, None)
    except RedisError:
        return JSONResponse({"error": "redis unavailable"}, status_code=503)
    viewer = await _viewer(request)
    if viewer is not None and viewer.may_read(record.repo):
        return record, viewer
    if links.verify(run_id, request.query_params.get("token"), wiring.settings().link_key()):
        return record, None
    return _not_found(request, viewer)


def _recent(wiring: Any, repos: list[str], per_repo: int = LIST_SCAN) -> list[RunRecord]:
    ids = wiring.index().recent_ids(repos, per_repo)[:LIST_SCAN]
    return wiring.records().get_many(ids)


def _queues(wiring: Any, readable: frozenset[str], linked: bool) -> list[dict[str, Any]]:
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


def _plot(
    title: str, series: Any, fmt: Any, floor: float | None = 0.0, ceiling: float | None = None
) -> dict[str, str]:
    svg = plots.line_chart(title, series, fmt=fmt, floor=floor, ceiling=ceiling)
    return {"svg": svg, "caption": title}


def _page(
    request: Request, template: str, viewer: Any, *, status: int = 200, **context: Any
) -> HTMLResponse:
    wiring = request.app.state.wiring
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    here = request.url.path + (f"?{urlencode(kept)}" if kept else "")  # never the link's token
    html = _ENV.get_template(template).render(
        viewer=viewer,
        sign_in_enabled=wiring.sign_in() is not None,
        here=here,
        when=_when,
        percent=views.percent,
        secs=views.secs,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _not_found(request: Request, viewer: Any) -> HTMLResponse:
    return _page(
        request,
        "message.html.j2",
        viewer,
        status=404,
        heading="Not found",
        message="There is no such page, or you may not see it.",
        show_sign_in=True,
    )


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
