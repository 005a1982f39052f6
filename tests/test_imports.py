"""Every module imports alone, in a fresh interpreter, with warnings as errors, and importing
it reads none of the bot's settings from the environment and opens no connection (design:
"Nothing reads the environment or opens a connection at import time")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "workers", "sandbox")
WATCHED = ("GITHUB_", "REDIS_URL", "GOLDEN_PATH_")

# Runs in the child before the import: watch os.environ reads of the bot's settings and every
# socket connect, then import the module and report what happened as one JSON line.
_PROBE = """
import importlib, json, os, socket, sys
import wsgiref.handlers  # stdlib; copies all of os.environ when imported (prometheus_client
                         # imports it): a copy of the environment, not a read of a setting

WATCHED = tuple(sys.argv[2].split(","))
reads, connects = [], []


class WatchedEnviron(type(os.environ)):
    def __getitem__(self, key):
        if isinstance(key, str) and key.startswith(WATCHED):
            reads.append(key)
        return super().__getitem__(key)


os.environ.__class__ = WatchedEnviron


def refuse_connect(self, address):
    connects.append(repr(address))
    raise OSError("no connections at import time")


socket.socket.connect = refuse_connect
socket.socket.connect_ex = refuse_connect
for name in sys.argv[1].split(","):
    importlib.import_module(name)
settings = sys.modules.get("bot.settings")
built = settings.get_settings.cache_info().currsize if settings is not None else 0
print(json.dumps({"reads": reads, "connects": connects, "settings_built": built}))
"""

# Values a careless import would find (and, for REDIS_URL, try to reach: nothing listens there).
_CHILD_ENV = {
    "GITHUB_APP_ID": "1",
    "GITHUB_WEBHOOK_SECRET": "import-probe",
    "GITHUB_PRIVATE_KEY": "not-a-key",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "GOLDEN_PATH_WORKDIR": "/nonexistent/golden-path",
}


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


MODULES = _modules()


def _import_alone(module: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(WATCHED) and k != "PYTHONPATH"}
    env.update(_CHILD_ENV, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PROBE, module, ",".join(WATCHED)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report: dict[str, Any] = {"returncode": done.returncode, "stderr": done.stderr}
    if done.returncode == 0:
        report.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return report


@pytest.fixture(scope="module")
def imported() -> dict[str, dict[str, Any]]:
    """Every module imported in its own interpreter, a few at a time."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(MODULES, pool.map(_import_alone, MODULES), strict=True))


def test_the_module_list_covers_the_entry_points() -> None:
    for name in ("bot.app", "workers.celery_app", "workers.tasks", "bot.handlers", "sandbox"):
        assert name in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_imports_alone_without_warnings(imported: dict[str, dict[str, Any]], module: str) -> None:
    report = imported[module]
    assert report["returncode"] == 0, report["stderr"][-3000:]


@pytest.mark.parametrize("module", MODULES)
def test_import_reads_no_setting_and_opens_no_connection(
    imported: dict[str, dict[str, Any]], module: str
) -> None:
    report = imported[module]
    if report["returncode"] != 0:
        pytest.skip("does not import (reported by test_imports_alone_without_warnings)")
    assert report["reads"] == [], f"{module} reads {report['reads']} at import"
    assert report["connects"] == [], f"{module} connects to {report['connects']} at import"
    assert report["settings_built"] == 0, f"{module} builds Settings at import"


def test_the_web_and_worker_entry_points_leave_settings_unbuilt() -> None:
    """What `uvicorn bot.app:app` and `celery -A workers.celery_app` import, in one process."""
    report = _import_alone("bot.app,workers.celery_app,workers.tasks")
    assert report["returncode"] == 0, report["stderr"][-3000:]
    assert (report["reads"], report["connects"], report["settings_built"]) == ([], [], 0)


def test_the_probe_notices_a_read_at_import(tmp_path: Path) -> None:
    """The watch works: a module that reads GITHUB_WEBHOOK_SECRET at import is caught."""
    (tmp_path / "careless.py").write_text(
        "import os\nSECRET = os.environ.get('GITHUB_WEBHOOK_SECRET')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PROBE, "careless", ",".join(WATCHED)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["reads"] == ["GITHUB_WEBHOOK_SECRET"]


def _run_probe(source: str) -> Any:
    """Run `source` in a fresh interpreter (none of the bot's settings in its environment);
    the JSON object it printed last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(WATCHED)}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", source],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


_SIGN_IN_PROBE = """
import asyncio, json, sys
from bot.app import create_app
from bot.settings import Settings

LAZY = ("authlib", "joserfc", "httpx")
app = create_app(Settings(
    GITHUB_WEBHOOK_SECRET="s", GITHUB_CLIENT_ID="Iv1.probe", GITHUB_CLIENT_SECRET="c",
    GOLDEN_PATH_SESSION_SECRET="x" * 32, GITHUB_OAUTH_URL="http://127.0.0.1:1",
    REDIS_URL="redis://127.0.0.1:1/0",
))


async def request(method, path, body=b""):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 1), "headers": [(b"host", b"bot.test"),
             (b"x-github-event", b"ping"), (b"x-hub-signature-256", b"sha256=00")]}
    sent, status = [{"type": "http.request", "body": body, "more_body": False}], []

    async def receive():
        return sent.pop() if sent else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


def loaded():
    return sorted(name for name in LAZY if name in sys.modules)


report = {"before": loaded(), "webhook": asyncio.run(request("POST", "/webhook", b"{}"))}
report["after_webhook"] = loaded()
report["login"] = asyncio.run(request("GET", "/login"))
report["after_login"] = loaded()
print(json.dumps(report))
"""


def test_the_web_process_loads_sign_in_only_when_someone_signs_in() -> None:
    """Authlib, joserfc and httpx (a fifth of the web process's import time) stay out of a web
    process that only answers webhooks; the first visit to /login loads Authlib."""
    assert _run_probe(_SIGN_IN_PROBE) == {
        "before": [],
        "webhook": 401,
        "after_webhook": [],
        "login": 302,
        "after_login": ["authlib", "joserfc"],  # httpx: when GitHub sends the user back
    }


_WARM_UP_PROBE = """
import ast, json, sys
import workers.celery_app, workers.tasks
from workers.tasks import BODY_MODULES, warm_up

early = sorted(name for name in BODY_MODULES if name in sys.modules)
warm_up()
loaded = set(sys.modules)
# Every import inside a function of workers/tasks.py (and celery_app's bootstep), run now:
# after the warm-up, none may load anything more.
statements = []
for path in ("workers/tasks.py", "workers/celery_app.py"):
    for function in ast.walk(ast.parse(open(path).read())):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements += [
                ast.unparse(node) for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            ]
for statement in statements:
    exec(statement, {})
print(json.dumps({"early": early, "statements": len(statements),
                  "loaded_by_bodies": sorted(set(sys.modules) - loaded)}))
"""


def test_a_worker_is_ready_before_the_task_bodies_load_and_warm_up_loads_them() -> None:
    """Celery imports `workers.tasks` before the worker says `ready`: it must not load PyGithub,
    the handlers or the run job then; `warm_up` (run once ready) must load all a task needs."""
    report = _run_probe(_WARM_UP_PROBE)
    assert report["early"] == [], "loaded before the worker is ready"
    assert report["statements"] >= 10
    assert report["loaded_by_bodies"] == [], "a task body imports what warm_up does not"
