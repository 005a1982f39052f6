"""How the dashboard's pages are rendered and sent: one Jinja2 environment (autoescaped), the
security headers every page carries, the static files, the viewer, the one 404.

Pages are server-rendered under a strict Content-Security-Policy: no inline script or style,
nothing from another origin (the CSS and the live-progress script are served from here).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.web import auth, views

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
_ENV = Environment(
    loader=PackageLoader("templates", ""),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


async def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found\n", status_code=404, media_type="text/plain")
    body = resources.files("templates").joinpath("static", name).read_bytes()
    headers = {"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=STATIC[name], headers=headers)


async def viewer_of(request: Request) -> auth.Viewer | None:
    sign_in = request.app.state.wiring.sign_in()
    return None if sign_in is None else await sign_in.viewer(request)


def page(
    request: Request, template: str, viewer: Any, *, status: int = 200, **context: Any
) -> HTMLResponse:
    wiring = request.app.state.wiring
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    here = request.url.path + (f"?{urlencode(kept)}" if kept else "")  # never the link's token
    html = _ENV.get_template(template).render(
        viewer=viewer,
        sign_in_enabled=wiring.sign_in() is not None,
        here=here,
        when=when,
        percent=views.percent,
        secs=views.secs,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def not_found(request: Request, viewer: Any) -> HTMLResponse:
    return page(
        request,
        "message.html.j2",
        viewer,
        status=404,
        heading="Not found",
        message="There is no such page, or you may not see it.",
        show_sign_in=True,
    )


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
