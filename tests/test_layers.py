"""The dependency direction of docs/design.md, read from the source with `ast` and enforced by
folder, not by hand-kept lists: `bot/` never imports `workers/`; `bot/core/` imports no edge
library and nothing of the project outside `bot/core/`; handlers are handed their clients (they
import only the core and each other); the run engine knows nothing of Celery or the job around it;
PyGithub stays inside `bot/github/`; nothing imports the test sandbox."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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
PROJECT = ("bot", "workers", "sandbox", "templates")


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


def _project_imports(path: Path) -> set[str]:
    # `from bot import x` lists `bot` itself; what it names is checked as `bot.x`
    return {m for m in _imports(path) if _within(m, PROJECT)} - set(PROJECT)


@pytest.mark.parametrize("path", _sources("bot"), ids=_name)
def test_bot_never_imports_workers(path: Path) -> None:
    assert sorted(m for m in _imports(path) if _within(m, ["workers"])) == []


@pytest.mark.parametrize("path", _sources("bot/core"), ids=_name)
def test_core_imports_no_edge_library_and_only_the_core(path: Path) -> None:
    imports = _imports(path)
    assert sorted(m for m in imports if _within(m, EDGE_LIBRARIES)) == []
    outside = {m for m in _project_imports(path) if not _within(m, ["bot.core", "templates"])}
    assert sorted(outside) == []


@pytest.mark.parametrize("path", _sources("bot/handlers"), ids=_name)
def test_handlers_import_only_the_core_and_each_other(path: Path) -> None:
    imports = _imports(path)
    assert sorted(m for m in imports if _within(m, EDGE_LIBRARIES)) == []
    outside = {m for m in _project_imports(path) if not _within(m, ["bot.core", "bot.handlers"])}
    assert sorted(outside) == []


@pytest.mark.parametrize("path", _sources("workers/engine"), ids=_name)
def test_the_engine_knows_no_celery_job_or_github(path: Path) -> None:
    imports = _imports(path)
    assert sorted(m for m in imports if _within(m, ["celery", "kombu", "redis", "github"])) == []
    allowed = ["bot.core", "workers.engine", "templates"]
    assert sorted(m for m in _project_imports(path) if not _within(m, allowed)) == []


@pytest.mark.parametrize("path", _sources("bot", "workers"), ids=_name)
def test_nothing_imports_the_test_sandbox(path: Path) -> None:
    assert sorted(m for m in _imports(path) if _within(m, ["sandbox", "tests"])) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _sources("bot", "workers", "sandbox") if "bot/github" not in _name(p)],
    ids=_name,
)
def test_only_the_github_package_imports_pygithub(path: Path) -> None:
    assert sorted(m for m in _imports(path) if _within(m, ["github"])) == []


def test_the_github_client_is_where_pygithub_is() -> None:
    assert "github" in _imports(ROOT / "bot" / "github" / "client.py")


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
    assert _within("bot.settings", ["bot"])
    assert not _within("bot_settings", ["bot"])


def test_the_folders_the_rules_name_exist_and_hold_modules() -> None:
    for folder in ("bot/core", "bot/handlers", "bot/github", "bot/state", "workers/engine"):
        assert len(_sources(folder)) > 1, folder
