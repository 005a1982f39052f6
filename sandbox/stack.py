"""The whole bot on one machine: real redis-server, the Procfile's processes, the fake GitHub.

Used by the end-to-end tests and by the demo. Each process type is started exactly as production
starts it: its Procfile line run with bash, after the settings are exported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from sandbox import webhook_delivery, webhooks
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHubServer
from sandbox.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def procfile_lines(path: Path = ROOT / "Procfile") -> dict[str, str]:
    lines = {}
    for line in path.read_text().splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            lines[name.strip()] = command.strip()
    return lines


def wait_until(
    check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; its value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)


@dataclass
class Stack:
    """Redis, the fake GitHub, and the bot's processes; `start()` then `stop()`."""

    processes: Iterable[str] = ("web", "worker")
    extra_env: dict[str, str] = field(default_factory=dict)
    app_id: str = "4242"
    installation_id: int = 77
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gp-stack-")))
    secret: bytes = field(default_factory=lambda: uuid.uuid4().hex.encode())
    session_secret: str = field(default_factory=lambda: uuid.uuid4().hex + uuid.uuid4().hex)
    redis_appendonly: bool = False  # with AOF on, a Redis restart keeps every key

    def __post_init__(self) -> None:
        self.redis = RedisServer(appendonly=self.redis_appendonly)
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._private_pem, self._public_pem = app_keypair()
        self.key_path = self.workdir / "app-key.pem"

    # lifecycle
    def start(self) -> Stack:
        self.key_path.write_text(self._private_pem)
        self.key_path.chmod(0o600)
        self.redis.start()
        self.github = FakeGitHubServer(app_id=self.app_id, public_key_pem=self._public_pem).start()
        self.github.fake.add_installation(self.installation_id)
        for name in self.processes:
            self.start_process(name)
        if "web" in self.processes:
            wait_until(self._web_ready, timeout=30, what="web /healthz")
        return self

    def env(self) -> dict[str, str]:
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(self.workdir)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "GITHUB_APP_ID": self.app_id,
            "GITHUB_PRIVATE_KEY_PATH": str(self.key_path),
            "GITHUB_WEBHOOK_SECRET": self.secret.decode(),
            "GITHUB_API_URL": self.github.url,
            "REDIS_URL": self.redis.url,
            "GOLDEN_PATH_WORKDIR": str(self.workdir / "work"),
            "GOLDEN_PATH_PUBLIC_URL": self.web_url,
            "GITHUB_OAUTH_URL": self.github.url,  # github.com's OAuth pages, served by the fake
            "GITHUB_CLIENT_ID": self.github.fake.oauth.client_id,
            "GITHUB_CLIENT_SECRET": self.github.fake.oauth.client_secret,
            "GOLDEN_PATH_SESSION_SECRET": self.session_secret,
            "PORT": str(self.web_port),
        }
        env.update(self.extra_env)
        return env

    def start_process(self, name: str, *, key: str | None = None) -> subprocess.Popen[bytes]:
        """Start the Procfile's `name` line; `key` names a second instance of one type."""
        key = key or name
        line = procfile_lines()[name]
        log = (self.workdir / f"{key}.log").open("ab")
        proc = subprocess.Popen(
            ["bash", "-c", line],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._procs[key] = proc
        return proc

    def kill_process(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self._procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for name in list(self._procs):
            proc = self._procs[name]
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            self._procs.pop(name, None)
        if hasattr(self, "github"):
            self.github.stop()
        self.redis.stop()

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _web_ready(self) -> bool:
        try:
            return httpx.get(f"{self.web_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    # setting up "GitHub"
    def add_project(
        self,
        repo: str,
        files: dict[str, str],
        *,
        path: Path | None = None,
        number: int = 1,
        body: str = "",
        head_full_name: str | None = None,
        permissions: dict[str, str] | None = None,
    ) -> tuple[Path, str]:
        """A git repository holding `files`, known to the fake GitHub with an open pull request
        `number` whose head is its one commit. Returns (path, head sha)."""
        path = path or self.workdir / "repos" / f"{repo.replace('/', '_')}-{number}"
        for name, text in files.items():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        sha = commit_all(path, "initial", init=True)
        fake = self.github.fake
        fake.add_repo(repo, clone_url=str(path))
        fake.add_pull(
            repo,
            number,
            head_sha=sha,
            head_ref=f"feature-{number}",
            head_clone_url=str(path),
            head_full_name=head_full_name,
            body=body,
        )
        for login, role in (permissions or {"octocat": "write"}).items():
            fake.set_permission(repo, login, role)
        return path, sha

    # talking to the bot
    def deliver(self, event: str, payload: dict[str, Any]) -> httpx.Response:
        """POST a webhook signed exactly as GitHub signs it."""
        body = webhook_delivery.json_body(payload)
        headers = webhook_delivery.delivery_headers(event, body, self.secret)
        return httpx.post(f"{self.web_url}/webhook", content=body, headers=headers, timeout=10)

    def comment(
        self, repo: str, number: int, body: str, *, user: str = "octocat", user_type: str = "User"
    ) -> httpx.Response:
        """A comment as GitHub would announce it: it exists on the fake first (so it can be
        reacted to), then the signed `issue_comment` delivery reaches the bot."""
        comment_id = self.github.fake.add_comment(
            repo, number, body, user=user, user_type=user_type
        )
        payload = webhooks.comment_on_pr(
            repo,
            number,
            body,
            user=user,
            user_type=user_type,
            installation_id=self.installation_id,
            base_url=self.github.url,
            comment_id=comment_id,
        )
        return self.deliver("issue_comment", payload)


def git_repo_from(source: Path, dest: Path, *, message: str = "example") -> str:
    """Copy `source` into a new git repository at `dest` and commit it; returns the sha."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    return commit_all(dest, message, init=True)


def commit_all(repo: Path, message: str, *, init: bool = False) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Octo Cat",
        "GIT_AUTHOR_EMAIL": "octocat@example.com",
        "GIT_COMMITTER_NAME": "Octo Cat",
        "GIT_COMMITTER_EMAIL": "octocat@example.com",
    }
    if init:
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", message], cwd=repo, check=True, env=env
    )
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, env=env, capture_output=True, text=True
    )
    return done.stdout.strip()


def pytest_pids(marker: str) -> list[int]:
    """Host pids of the pytest processes whose environment holds `RUN_MARKER=<marker>`.

    A sandboxed test cannot write its pid anywhere the host test can read, and it only knows its
    pid inside its own PID namespace; its environment, seen from the host, tells it apart."""
    wanted = f"RUN_MARKER={marker}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and b"pytest" in argv and "python" in Path(argv[0].decode()).name:
            found.append(int(proc.name))
    return sorted(found)
