"""A tiny "staging" service for the golden-path demo: auth, agent runs, websocket events, billing.

Plain ASGI served by uvicorn on a loopback port. `GOLDEN_PATH_DEMO_BREAK=<phase id>` (auth,
agent, websocket or journeys) breaks that part of the service the way real outages look: a 500
from the session store, a missing tool registry, events out of order, a payment timeout.

Run: python -m staging_app.server --url-file .staging/url [--idle-seconds 300]
It exits by itself after `--idle-seconds` without a request, so a forgotten demo never lingers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

# `break:websocket:demo` (or just `websocket`). The value reaches the tests through `pass_env`, so
# the bot treats it as a secret and masks it in reports, and with it any 8 or more characters that
# start or end it: the `break:` and `:demo` ends keep "websocket" itself readable.
BREAK = os.environ.get("GOLDEN_PATH_DEMO_BREAK", "").strip().lower().removeprefix("break:")
BREAK = BREAK.removesuffix(":demo")
AGENT_EVENTS = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
)


class State:
    """Everything the service remembers, in memory."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {
            "demo@example.com": {"password": "correct-horse", "name": "Demo User", "plan": "free"}
        }
        self.access: dict[str, str] = {}  # access token -> email
        self.refresh: dict[str, str] = {}  # refresh token -> email
        self.runs: dict[str, dict[str, Any]] = {}
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        self.last_request = time.monotonic()
        self.invoices_warm = False  # the billing history's cache, cold after a deploy

    def issue(self, email: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access[access] = email
        self.refresh[refresh] = email
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": 900,
        }

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):04d}"


STATE = State()


class Request:
    def __init__(self, scope: dict[str, Any], body: bytes):
        self.method = scope["method"]
        self.path = scope["path"]
        self.headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.body = body

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def user(self) -> str | None:
        auth = self.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        return STATE.access.get(token)


Response = tuple[int, dict[str, Any] | None]


def unauthorized() -> Response:
    return 401, {"error": "missing or invalid access token"}


# --- auth ---------------------------------------------------------------------------------


def login(req: Request) -> Response:
    data = req.json()
    user = STATE.users.get(str(data.get("email", "")))
    if not user or user["password"] != data.get("password"):
        return 401, {"error": "invalid email or password"}
    return 200, STATE.issue(str(data["email"]))


def session(req: Request) -> Response:
    email = req.user()
    if email is None:
        return unauthorized()
    if BREAK == "auth":
        return 401, {"error": "token signature mismatch: key id 'k2' not found in JWKS"}
    user = STATE.users[email]
    return 200, {"user": {"email": email, "name": user["name"], "plan": user["plan"]}}


def refresh(req: Request) -> Response:
    if BREAK == "auth":
        return 500, {"error": "session store unavailable: redis timeout after 2.0s"}
    token = str(req.json().get("refresh_token", ""))
    email = STATE.refresh.pop(token, None)  # rotation: a refresh token works once
    if email is None:
        return 401, {"error": "refresh token is invalid or already used"}
    return 200, STATE.issue(email)


def logout(req: Request) -> Response:
    token = req.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if STATE.access.pop(token, None) is None:
        return unauthorized()
    return 204, None


def signup(req: Request) -> Response:
    data = req.json()
    email, password = str(data.get("email", "")), str(data.get("password", ""))
    if "@" not in email or len(password) < 8:
        return 422, {"error": "a valid email and a password of 8+ characters are required"}
    if email in STATE.users:
        return 409, {"error": "an account with this email exists"}
    STATE.users[email] = {"password": password, "name": data.get("name", ""), "plan": "free"}
    return 201, {"email": email, "plan": "free"}


# --- agents -------------------------------------------------------------------------------


async def start_run(req: Request) -> Response:
    email = req.user()
    if email is None:
        return unauthorized()
    data = req.json()
    if not str(data.get("prompt", "")).strip():
        return 422, {"error": "prompt is required"}
    if BREAK == "agent":
        await asyncio.sleep(0.3)
        agent = data.get("agent", "triage")
        return 500, {
            "error": f"ToolDispatcher not initialised: no tool registry for agent '{agent}'"
        }
    await asyncio.sleep(0.05)  # "thinking"
    run_id = STATE.next_id("run")
    run = {
        "run_id": run_id,
        "agent": data.get("agent", "triage"),
        "status": "completed",
        "output": f"Summary of: {data['prompt'][:40]}",
        "tools_used": ["search_docs"],
        "owner": email,
    }
    STATE.runs[run_id] = run
    STATE.users[email]["runs"] = STATE.users[email].get("runs", 0) + 1
    return 201, run


def get_run(req: Request, run_id: str) -> Response:
    if req.user() is None:
        return unauthorized()
    run = STATE.runs.get(run_id)
    return (200, run) if run else (404, {"error": f"run {run_id} not found"})


# --- journeys: workspaces and billing -----------------------------------------------------


def create_workspace(req: Request) -> Response:
    email = req.user()
    if email is None:
        return unauthorized()
    ws_id = STATE.next_id("ws")
    STATE.workspaces[ws_id] = {"id": ws_id, "name": req.json().get("name", ""), "members": [email]}
    return 201, STATE.workspaces[ws_id]


def invite(req: Request, ws_id: str) -> Response:
    if req.user() is None:
        return unauthorized()
    if ws_id not in STATE.workspaces:
        return 404, {"error": f"workspace {ws_id} not found"}
    if BREAK == "journeys":
        return 500, {"error": "mailer: SMTP connection refused (smtp.internal:587)"}
    return 201, {
        "invite_id": STATE.next_id("inv"),
        "email": req.json().get("email"),
        "status": "pending",
    }


async def checkout(req: Request) -> Response:
    email = req.user()
    if email is None:
        return unauthorized()
    if BREAK == "journeys":
        await asyncio.sleep(0.2)
        return 502, {"error": "payment provider timeout after 30000 ms (upstream: billing-gw)"}
    STATE.users[email]["plan"] = str(req.json().get("plan", "pro"))
    return 200, {"status": "active", "plan": STATE.users[email]["plan"]}


def invoices(req: Request) -> Response:
    """The billing history. Its cache is cold right after a deploy: the first request answers
    503 while it warms up, the next ones succeed. A test that asks first fails once and passes
    on a retry: the demo's flaky test (`retries` and `flaky` in the plan)."""
    email = req.user()
    if email is None:
        return unauthorized()
    if not STATE.invoices_warm:
        STATE.invoices_warm = True
        return 503, {"error": "invoice cache warming up after deploy"}
    return 200, {"email": email, "invoices": [{"id": "in_1", "plan": "free", "total": 0}]}


def usage(req: Request) -> Response:
    email = req.user()
    if email is None:
        return unauthorized()
    user = STATE.users[email]
    return 200, {"email": email, "plan": user["plan"], "agent_runs": user.get("runs", 0)}


# --- routing ------------------------------------------------------------------------------


async def route(req: Request) -> Response:
    parts = [p for p in req.path.split("/") if p]
    key = (req.method, tuple(parts))
    simple = {
        ("GET", ("healthz",)): lambda r: (200, {"status": "ok", "break": BREAK or None}),
        ("POST", ("auth", "login")): login,
        ("GET", ("auth", "session")): session,
        ("POST", ("auth", "refresh")): refresh,
        ("POST", ("auth", "logout")): logout,
        ("POST", ("users",)): signup,
        ("POST", ("workspaces",)): create_workspace,
        ("GET", ("billing", "usage")): usage,
        ("GET", ("billing", "invoices")): invoices,
    }
    if key in simple:
        return simple[key](req)
    if key == ("POST", ("agents", "runs")):
        return await start_run(req)
    if key == ("POST", ("billing", "checkout")):
        return await checkout(req)
    if req.method == "GET" and parts[:2] == ["agents", "runs"] and len(parts) == 3:
        return get_run(req, parts[2])
    if req.method == "POST" and parts[:1] == ["workspaces"] and parts[2:] == ["invites"]:
        return invite(req, parts[1])
    return 404, {"error": f"no route for {req.method} {req.path}"}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    STATE.last_request = time.monotonic()
    if scope["type"] == "websocket":
        await websocket(scope, receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status, payload = await route(Request(scope, body))
    data = b"" if payload is None else json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json")] if payload is not None else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


# --- websocket ----------------------------------------------------------------------------


async def websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
    if query.get("token") not in STATE.access:
        await send({"type": "websocket.close", "code": 4401})  # before accept: HTTP 403
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        STATE.last_request = time.monotonic()
        try:
            request = json.loads(message.get("text") or "{}")
        except ValueError:
            request = {}
        for event in agent_events(request):
            await send({"type": "websocket.send", "text": json.dumps(event)})
            await asyncio.sleep(0.01)


def agent_events(request: dict[str, Any]) -> list[dict[str, Any]]:
    if request.get("type") == "ping":
        return [{"type": "pong"}]
    if request.get("type") != "run_agent":
        return [{"type": "error", "error": f"unknown message type {request.get('type')!r}"}]
    run_id = STATE.next_id("run")
    names = list(AGENT_EVENTS)
    if BREAK == "websocket":
        # The regression the demo shows: the tool result is dropped, the run "completes" early.
        names = ["agent_started", "agent_thinking", "tool_executing", "agent_completed"]
    events = [{"type": name, "run_id": run_id, "seq": i} for i, name in enumerate(names)]
    if BREAK == "websocket":
        events[1]["run_id"] = None  # ...and the thinking event lost its run context
    return events


# --- process ------------------------------------------------------------------------------


def _exit_when_idle(idle_seconds: float) -> None:
    while True:
        time.sleep(min(1.0, idle_seconds))
        if time.monotonic() - STATE.last_request > idle_seconds:
            os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url-file", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, default=300.0)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    threading.Thread(target=_exit_when_idle, args=(args.idle_seconds,), daemon=True).start()
    args.url_file.parent.mkdir(parents=True, exist_ok=True)
    args.url_file.write_text(f"http://127.0.0.1:{port}\n")
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
