"""`workers.job.checkout.checkout` against real git: exactly the commit asked for, clean errors, and
an installation token that never lands on disk, on a command line or in a message."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from workers.job import checkout as checkout_module
from workers.job.checkout import CheckoutError, checkout

TOKEN = "ghs_" + "S3cr3tInstallationToken0123456789ab"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _commit(repo: Path, content: str) -> str:
    (repo / "app.txt").write_text(content)
    _git(repo, "add", "app.txt")
    _git(repo, "commit", "--quiet", "-m", content)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A repository: main has first -> second; `orphan` was committed then dropped from every
    branch (like a force-pushed-away head); `side` is the tip of another branch."""
    repo = tmp_path_factory.mktemp("origin")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    first = _commit(repo, "first")
    second = _commit(repo, "second")
    orphan = _commit(repo, "orphan")
    _git(repo, "reset", "--quiet", "--hard", second)
    _git(repo, "checkout", "--quiet", "-b", "side", first)
    side = _commit(repo, "side")
    _git(repo, "checkout", "--quiet", "main")
    return {"path": repo, "first": first, "second": second, "orphan": orphan, "side": side}


def _head(dest: Path) -> str:
    return _git(dest, "rev-parse", "HEAD")


def test_fetches_exactly_the_commit_asked_for_not_the_branch_tip(
    origin: dict[str, Any], tmp_path: Path
) -> None:
    dest = checkout(str(origin["path"]), origin["first"], tmp_path / "work")
    assert dest == tmp_path / "work"
    assert _head(dest) == origin["first"]
    assert (dest / "app.txt").read_text() == "first"  # not "second", main's tip


@pytest.mark.parametrize(("name", "content"), [("second", "second"), ("side", "side")])
def test_branch_tips_too(origin: dict[str, Any], tmp_path: Path, name: str, content: str) -> None:
    dest = checkout(str(origin["path"]), origin[name], tmp_path / "work")
    assert (_head(dest), (dest / "app.txt").read_text()) == (origin[name], content)


def test_an_unadvertised_commit_on_no_branch(origin: dict[str, Any], tmp_path: Path) -> None:
    dest = checkout(str(origin["path"]), origin["orphan"], tmp_path / "work")
    assert _head(dest) == origin["orphan"]
    assert (dest / "app.txt").read_text() == "orphan"


def test_a_file_url_works_as_well(origin: dict[str, Any], tmp_path: Path) -> None:
    dest = checkout(f"file://{origin['path']}", origin["first"], tmp_path / "work")
    assert _head(dest) == origin["first"]


def test_the_work_tree_is_detached_and_clean(origin: dict[str, Any], tmp_path: Path) -> None:
    dest = checkout(str(origin["path"]), origin["first"], tmp_path / "work")
    assert _git(dest, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"  # detached
    assert _git(dest, "status", "--porcelain") == ""


def test_a_previous_checkout_in_the_folder_is_replaced(
    origin: dict[str, Any], tmp_path: Path
) -> None:
    dest = tmp_path / "work"
    checkout(str(origin["path"]), origin["second"], dest)
    (dest / "leftover.txt").write_text("from the last run")
    checkout(str(origin["path"]), origin["first"], dest)
    assert _head(dest) == origin["first"]
    assert not (dest / "leftover.txt").exists()


def test_a_missing_commit_is_a_checkout_error(origin: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(CheckoutError) as raised:
        checkout(str(origin["path"]), "f" * 40, tmp_path / "work")
    message = str(raised.value)
    assert message.startswith("git fetch failed:")
    assert "\n" not in message
    assert "Traceback" not in message


def test_a_missing_repository_is_a_checkout_error(tmp_path: Path) -> None:
    with pytest.raises(CheckoutError) as raised:
        checkout(str(tmp_path / "no-such-repo"), "f" * 40, tmp_path / "work")
    message = str(raised.value)
    assert message.startswith("git fetch failed:")
    assert "no-such-repo" in message  # says what it could not reach


# --- the installation token -------------------------------------------------------------------


def _encoded(token: str) -> str:
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every subprocess.run the checkout makes (argv and env), still run for real."""
    calls: list[dict[str, Any]] = []
    real_run = subprocess.run

    def spy(args: list[str], **kwargs: Any) -> Any:
        calls.append({"argv": list(args), "env": dict(kwargs.get("env") or {})})
        return real_run(args, **kwargs)

    monkeypatch.setattr(checkout_module.subprocess, "run", spy)
    return calls


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"https://127.0.0.1:{port}/acme/shop.git"


def test_a_token_never_appears_in_config_argv_or_error(
    tmp_path: Path, git_calls: list[dict[str, Any]]
) -> None:
    url = _closed_port_url()
    dest = tmp_path / "work"
    with pytest.raises(CheckoutError) as raised:
        checkout(url, "a" * 40, dest, token=TOKEN)
    message = str(raised.value)
    assert message.startswith("git fetch failed:")
    assert "127.0.0.1" in message  # a useful message ...
    for secret in (TOKEN, _encoded(TOKEN)):
        assert secret not in message  # ... without the token
        assert secret not in (dest / ".git" / "config").read_text()
        for call in git_calls:
            assert not any(secret in arg for arg in call["argv"])
    fetch = next(c for c in git_calls if "fetch" in c["argv"])
    headers = [v for k, v in fetch["env"].items() if k.startswith("GIT_CONFIG_VALUE_")]
    assert f"Authorization: Basic {_encoded(TOKEN)}" in headers  # it does reach git


def test_the_token_is_not_sent_to_a_non_https_url(
    origin: dict[str, Any], tmp_path: Path, git_calls: list[dict[str, Any]]
) -> None:
    dest = checkout(str(origin["path"]), origin["first"], tmp_path / "work", token=TOKEN)
    assert _head(dest) == origin["first"]
    for call in git_calls:
        assert not any(_encoded(TOKEN) in value for value in call["env"].values())


def test_git_runs_with_a_clean_environment(
    origin: dict[str, Any],
    tmp_path: Path,
    git_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bot's own secrets in the worker's environment are not handed to git."""
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----secret")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "hook-secret")
    checkout(str(origin["path"]), origin["first"], tmp_path / "work")
    for call in git_calls:
        assert "GITHUB_PRIVATE_KEY" not in call["env"]
        assert "GITHUB_WEBHOOK_SECRET" not in call["env"]
        assert call["env"]["GIT_TERMINAL_PROMPT"] == "0"


def _plant_global_hooks(home: Path) -> Path:
    """What a hostile run could leave in the worker's HOME: a global git config whose hooks
    would see the next checkout (and its token) run by."""
    hooks = home / "evil-hooks"
    hooks.mkdir(parents=True)
    marker = home / "hook-ran"
    for name in ("post-checkout", "reference-transaction"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\nenv >> {marker}\n")
        hook.chmod(0o755)
    (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
    return marker


def test_a_planted_global_gitconfig_and_its_hooks_are_ignored(
    origin: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    marker = _plant_global_hooks(home)
    plain = subprocess.run(  # the plant works on a git that reads the global config ...
        ["git", "clone", "-q", str(origin["path"]), str(tmp_path / "plain")],
        env={"PATH": os.environ["PATH"], "HOME": str(home)},
        check=True,
    )
    assert plain.returncode == 0 and marker.exists()
    marker.unlink()
    monkeypatch.setenv("HOME", str(home))
    dest = checkout(str(origin["path"]), origin["first"], tmp_path / "work", token=TOKEN)
    assert _head(dest) == origin["first"]
    assert not marker.exists()  # ... but not on the bot's checkout
