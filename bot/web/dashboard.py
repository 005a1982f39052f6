"""The dashboard's routes: the runs list, repository trends, sign-in; run pages are
`bot.web.run_page`'s. Edge (FastAPI + Redis); what to show is decided in `bot.web.views` and
`bot.web.trends`. A user sees only the repositories GitHub says they can read (`bot.web.auth`).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.core.run_model import RunRecord
from bot.state.run_index import RunIndex
from bot.state.run_records import RunRecords
from bot.web import env_queues, plots, rendering, run_page, trends, views
from bot.web.auth import SignIn
from bot.web.rendering import not_found, page, viewer_of

SIGN_IN_TO_SEE = "Sign in with GitHub to see the runs of the repositories you can read."
LIST_SCAN = 1000  # newest runs considered by one list page, whatever the filters


def mount(app: FastAPI) -> None:
    app.add_api_route("/", home, methods=["GET"])
    app.add_api_route("/runs/{run_id}", run_page.run_details, methods=["GET"])
    app.add_api_route("/runs/{run_id}/events", run_page.run_events, methods=["GET"])
    app.add_api_route("/repos/{owner}/{name}", repository, methods=["GET"])
    app.add_api_route("/login", login, methods=["GET"])
    app.add_api_route("/auth/callback", auth_callback, methods=["GET"], name="auth_callback")
    app.add_api_route("/logout", logout, methods=["POST"])
    app.add_api_route("/static/{name}", rendering.static, methods=["GET"])


# pages


async def home(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        enabled = request.app.state.wiring.sign_in() is not None
        message = SIGN_IN_TO_SEE if enabled else "This bot has no sign-in configured."
        return page(
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
    queues = await run_in_threadpool(env_queues.queues, wiring, viewer.readable, True)
    return page(
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


async def repository(owner: str, name: str, request: Request) -> Response:
    repo = f"{owner}/{name}"
    viewer = await viewer_of(request)
    if viewer is None or not viewer.may_read(repo):
        return not_found(request, viewer)
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
    return page(
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
    sign_in: SignIn | None = request.app.state.wiring.sign_in()
    if sign_in is None:
        return page(
            request,
            "message.html.j2",
            None,
            status=404,
            heading="Sign-in is off",
            message="This bot has no GitHub OAuth client configured.",
        )
    return await sign_in.start(request)


async def auth_callback(request: Request) -> Response:
    sign_in: SignIn | None = request.app.state.wiring.sign_in()
    if sign_in is None:
        return not_found(request, None)
    done = await sign_in.finish(request)
    if isinstance(done, Response):
        return done
    return page(
        request,
        "message.html.j2",
        None,
        status=400,
        heading="Not signed in",
        message=done,
        show_sign_in=True,
    )


async def logout(request: Request) -> Response:
    sign_in: SignIn | None = request.app.state.wiring.sign_in()
    if sign_in is not None:
        await sign_in.sign_out(request)
    return RedirectResponse("/", status_code=303)


# helpers


class _RunStore(Protocol):
    """What the runs list reads from the app's wiring."""

    def index(self) -> RunIndex: ...
    def records(self) -> RunRecords: ...


def _recent(wiring: _RunStore, repos: list[str], per_repo: int | None = None) -> list[RunRecord]:
    """The newest runs of `repos`: at most `LIST_SCAN` records read, however many repos."""
    per_repo = per_repo or max(2 * views.PAGE_SIZE, LIST_SCAN // max(1, len(repos)))
    ids = wiring.index().recent_ids(repos, per_repo)[:LIST_SCAN]
    return wiring.records().get_many(ids)


def _plot(
    title: str, series: Any, fmt: Any, floor: float | None = 0.0, ceiling: float | None = None
) -> dict[str, str]:
    svg = plots.line_chart(title, series, fmt=fmt, floor=floor, ceiling=ceiling)
    return {"svg": svg, "caption": title}
