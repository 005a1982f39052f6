"""Fetch exactly one commit with git into a fresh folder (contract §5.1).

An `https` clone URL gets the installation token as an HTTP header passed through git's
environment (`GIT_CONFIG_*`), so it appears neither on a command line nor in `.git/config`; the
token is one scoped to the repository with `contents: read` (see `RepoClient.fetch_token`).

git reads no configuration but ours: not the system's, not a global `~/.gitconfig`
(`GIT_CONFIG_GLOBAL=/dev/null`, which also covers `$XDG_CONFIG_HOME/git/config`), and runs no hook
(`core.hooksPath=/dev/null`). Whatever a run left behind, it cannot see the next run's token.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

GIT_TIMEOUT_SECONDS = 300


class CheckoutError(RuntimeError):
    """git could not fetch the commit; the message is safe to show (no token inside)."""


def checkout(clone_url: str, sha: str, dest: Path, *, token: str | None = None) -> Path:
    """Leave `dest` holding the work tree of `sha` (detached), and return it."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    env = _git_env(clone_url, token)
    _git(["init", "--quiet"], dest, env)
    _git(["fetch", "--quiet", "--depth", "1", "--no-tags", clone_url, sha], dest, env)
    _git(["checkout", "--quiet", "--detach", "FETCH_HEAD"], dest, env)
    return dest


def _git_env(clone_url: str, token: str | None) -> dict[str, str]:
    config = {
        "core.hooksPath": "/dev/null",
        # allow fetching an unadvertised commit from a local repository too
        "uploadpack.allowAnySHA1InWant": "true",
    }
    if token and clone_url.startswith("https://"):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        config["http.extraHeader"] = f"Authorization: Basic {basic}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _git(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CheckoutError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise CheckoutError(f"git {args[0]} failed: {_summary(done.stderr or done.stdout)}")


def _summary(output: str) -> str:
    """git's own error lines (`fatal:`/`error:`), at most three, on one line; its advice
    paragraphs ("Please make sure you have the correct access rights") say less than they do."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return " / ".join(list(dict.fromkeys(errors or lines))[:3]) or "no output"
