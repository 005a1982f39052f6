"""The App's own routes (JWT): the App, its installations and their tokens; and the signed-in
user's (user-to-server token from "Sign in with GitHub"): who they are, what they may see."""

from __future__ import annotations

from sandbox.fake_github.auth import TOKEN_PERMISSIONS, TokenScope
from sandbox.fake_github.bodies.apps import actor_json, app_json, installation_json, repo_json
from sandbox.fake_github.http import Ctx, Reply, paginate
from sandbox.fake_github.rules import PERMISSION_OF_ROLE, ApiError

# --- handlers: the App (JWT) ------------------------------------------------------------------


def get_app(ctx: Ctx) -> Reply:
    return Reply(app_json(ctx.base, ctx.app_info))


def list_installations(ctx: Ctx) -> Reply:
    with ctx.state.lock:
        records = list(ctx.state.installations.values())
    return paginate(ctx, [installation_json(ctx.base, ctx.app_info, r) for r in records])


def create_access_token(ctx: Ctx) -> Reply:
    installation_id = ctx.int_param("installation_id")
    ctx.state.installation(installation_id)
    asked = ctx.json_object()
    repositories = asked.get("repositories")
    permissions = asked.get("permissions") or TOKEN_PERMISSIONS
    scope = TokenScope(tuple(repositories) if repositories else None, dict(permissions))
    token, expires_at = ctx.credentials.issue_token(installation_id, scope)
    body = {
        "token": token,
        "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "permissions": permissions,
        "repository_selection": "selected" if repositories else "all",
    }
    return Reply(body, 201)


def get_repo_installation(ctx: Ctx) -> Reply:
    with ctx.state.lock:
        ctx.state.repo(ctx.repo)
        records = list(ctx.state.installations.values())
    if not records:
        raise ApiError(404, "Not Found")
    return Reply(installation_json(ctx.base, ctx.app_info, records[0]))


def get_user(ctx: Ctx) -> Reply:
    return Reply(actor_json(ctx.base, ctx.actor[0], "User"))


def _readable_repos(ctx: Ctx) -> list[str]:
    """Repositories where the user has an explicit role that reads (GitHub lists only those);
    every repository of the sandbox belongs to each of its installations."""
    login = ctx.actor[0]
    with ctx.state.lock:
        return sorted(
            name
            for name, repo in ctx.state.repos.items()
            if PERMISSION_OF_ROLE.get(repo.roles.get(login, "none"), "none") != "none"
        )


def list_user_installations(ctx: Ctx) -> Reply:
    with ctx.state.lock:
        records = list(ctx.state.installations.values()) if _readable_repos(ctx) else []
    installations = [installation_json(ctx.base, ctx.app_info, r) for r in records]
    return paginate(ctx, installations, key="installations")


def list_user_installation_repos(ctx: Ctx) -> Reply:
    ctx.state.installation(ctx.int_param("installation_id"))
    names = _readable_repos(ctx)
    with ctx.state.lock:
        repos = [repo_json(ctx.base, n, ctx.state.repo(n)) for n in names]
    return paginate(ctx, repos, key="repositories")
