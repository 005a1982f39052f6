"""The dependency direction of docs/design.md, read from the source with `ast`: the core imports
no edge library and no adapter; `bot/` reaches into `workers/` only for core values (and
`bot/queue.py` for the Celery app); PyGithub stays inside `bot/github_api.py`."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CORE = (
    "bot/run_model.py",
    "bot/webhook.py",
    "bot/events.py",
    "bot/commands.py",
    "bot/permissions.py",
    "bot/routing.py",
    "bot/scrub.py",
    "bot/closing_refs.py",
    "workers/plan.py",
    "workers/results.py",
    "workers/junit.py",
    "workers/verdict.py",
    "workers/signatures.py",
    "workers/report.py",
)
EDGE_LIBRARIES = (
    "fastapi",
    "starlette",
    "celery",
    "kombu",
    "redis",
    "github",
    "httpx",
    "subprocess",
    "socket",
    "requests",
    "urllib3",
    "uvicorn",
)
ADAPTERS = (
    "bot.settings",
    "bot.github_api",
    "bot.store",
    "bot.queue",
    "bot.run_records",
    "bot.env_lock",
    "workers.celery_app",
    "workers.tasks",
    "workers.checkout",
    "workers.pytest_process",
    "workers.publish",
    "workers.services",
)
WORKERS_CORE = ("workers.plan", "workers.report", "workers.results", "workers.signatures")


def imported_modules(source: str) -> set[str]:
    """Every module a source file imports, anywhere in it (functions included). For
    `from a import b` both `a` and `a.b` are listed, since `b` may be a submodule."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError("relative imports are not used in this project")
    return found


def _within(module: str, packages: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _imports(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("core", CORE)
def test_core_modules_import_no_edge_library_and_no_adapter(core: str) -> None:
    imports = _imports(ROOT / core)
    assert sorted(m for m in imports if _within(m, EDGE_LIBRARIES)) == []
    assert sorted(m for m in imports if _within(m, ADAPTERS)) == []


@pytest.mark.parametrize("path", _sources("bot"), ids=_name)
def test_bot_uses_only_core_modules_of_workers(path: Path) -> None:
    reach = {m for m in _imports(path) if _within(m, ["workers"])}
    if _name(path) == "bot/queue.py":
        reach = {m for m in reach if not _within(m, ["workers.celery_app"])}
    # `from workers import plan` lists `workers` itself; what it names is checked as `workers.x`
    assert sorted(m for m in reach - {"workers"} if not _within(m, WORKERS_CORE)) == []


GITHUB_CLIENT = ROOT / "bot" / "github_api.py"


@pytest.mark.parametrize(
    "path", [p for p in _sources("bot", "workers", "sandbox") if p != GITHUB_CLIENT], ids=_name
)
def test_only_the_github_client_imports_pygithub(path: Path) -> None:
    assert sorted(m for m in _imports(path) if _within(m, ["github"])) == []


def test_the_github_client_is_where_pygithub_is() -> None:
    assert "github" in _imports(GITHUB_CLIENT)


# --- the checker itself ---------------------------------------------------------------------


def test_the_checker_sees_every_import_form() -> None:
    source = (
        "import redis\n"
        "import github.GithubRetry as retry\n"
        "from bot import settings\n"
        "from workers.tasks import run\n"
        "def later():\n"
        "    import subprocess\n"
    )
    imports = imported_modules(source)
    assert {"redis", "github.GithubRetry", "bot.settings", "workers.tasks", "subprocess"} <= imports
    assert _within("github.GithubRetry", ["github"])
    assert not _within("githubx", ["github"])
    assert _within("bot.settings", ADAPTERS)
    assert not _within("bot.settings_view", ADAPTERS)


def test_every_listed_core_module_exists() -> None:
    for core in CORE:
        assert (ROOT / core).is_file(), core
    for adapter in ADAPTERS:
        assert (ROOT / (adapter.replace(".", "/") + ".py")).is_file(), adapter
