"""Repositories: the repository, a pull request, a commit, a file's contents, a collaborator's
permission, and the rate limit."""

from __future__ import annotations

import subprocess
import time

from sandbox.fake_github.bodies.apps import actor_json, content_json, rate_limit_json, repo_json
from sandbox.fake_github.bodies.issues import pull_json
from sandbox.fake_github.http import Ctx, Reply
from sandbox.fake_github.rules import PERMISSION_OF_ROLE, ApiError


def get_rate_limit(ctx: Ctx) -> Reply:
    return Reply(rate_limit_json(int(time.time()) + 3600))


def get_repo(ctx: Ctx) -> Reply:
    return Reply(repo_json(ctx.base, ctx.repo, ctx.state.repo(ctx.repo)))


def get_pull(ctx: Ctx) -> Reply:
    state = ctx.state
    with state.lock:
        issue = state.pull(ctx.repo, ctx.int_param("number"))
        head_repo = state.repos.get(issue["pull"]["head_full_name"])
        return Reply(pull_json(ctx.base, issue, state.repo(ctx.repo), head_repo))


def get_commit(ctx: Ctx) -> Reply:
    """Just enough of a commit for PyGithub's `Commit` to complete itself."""
    ctx.state.repo(ctx.repo)
    sha = ctx.params["ref"]
    api = f"{ctx.base}/repos/{ctx.repo}/commits/{sha}"
    commit = {"message": "", "tree": {"sha": "0" * 40}, "url": api}
    return Reply({"sha": sha, "node_id": f"C_{sha}", "url": api, "commit": commit, "files": []})


def compare_commits(ctx: Ctx) -> Reply:
    """`GET /compare/{base}...{head}`, read with git from the local clone: the commits
    reachable from head and not from base (oldest first, as GitHub lists them) and the files
    that differ, in GitHub's shape (the fields the bot reads, and the counts)."""
    base, sep, head = ctx.params["basehead"].partition("...")
    if not sep or not base or not head or base.startswith("-") or head.startswith("-"):
        raise ApiError(404, "Not Found")
    for source in ctx.state.clone_sources(ctx.repo):
        log = _git(source, "log", "--reverse", "--format=%H%x00%s%x00%an", f"{base}..{head}")
        names = _git(source, "diff", "--name-status", base, head)
        if log is None or names is None:
            continue
        commits = [line.split("\0") for line in log.splitlines() if line]
        files = [line.split("\t") for line in names.splitlines() if line]
        api = f"{ctx.base}/repos/{ctx.repo}"
        return Reply(
            {
                "url": f"{api}/compare/{base}...{head}",
                "status": "ahead" if commits else "identical",
                "ahead_by": len(commits),
                "behind_by": 0,
                "total_commits": len(commits),
                "commits": [
                    {
                        "sha": sha,
                        "url": f"{api}/commits/{sha}",
                        "commit": {"message": subject, "author": {"name": author}},
                    }
                    for sha, subject, author in commits
                ],
                "files": [
                    {"filename": parts[-1], "status": _FILE_STATUS.get(parts[0][:1], "modified")}
                    for parts in files
                ],
            }
        )
    raise ApiError(404, "Not Found")


_FILE_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed"}


def _git(source: str, *args: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", source, *args], capture_output=True, check=False, timeout=30, text=True
    )
    return done.stdout if done.returncode == 0 else None


def get_contents(ctx: Ctx) -> Reply:
    """A file at a commit, read with git from the repository's (or a pull's head's) local
    clone URL: the sandbox keeps no file contents of its own."""
    ref = ctx.query.get("ref") or "HEAD"
    path = ctx.params["path"]
    for source in ctx.state.clone_sources(ctx.repo):
        done = subprocess.run(
            ["git", "-C", source, "show", f"{ref}:{path}"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if done.returncode == 0:
            return Reply(content_json(ctx.base, ctx.repo, path, ref, done.stdout))
    raise ApiError(404, "Not Found")


def get_permission(ctx: Ctx) -> Reply:
    login = ctx.params["username"]
    role = ctx.state.role_of(ctx.repo, login)
    user = actor_json(ctx.base, login, "User")
    user["role_name"] = role
    return Reply({"permission": PERMISSION_OF_ROLE[role], "role_name": role, "user": user})
