"""The REST routes of the fake, one module per resource; this table maps each
`(method, path template)` to its handler and the credentials it takes."""

from __future__ import annotations

import re

from sandbox.fake_github.http import Handler
from sandbox.fake_github.routes.apps import (
    create_access_token,
    get_app,
    get_repo_installation,
    get_user,
    list_installations,
    list_user_installation_repos,
    list_user_installations,
)
from sandbox.fake_github.routes.checks import (
    create_check_run,
    get_check_run,
    list_annotations,
    list_check_runs_for_ref,
    update_check_run,
)
from sandbox.fake_github.routes.deployments import review_custom_gates
from sandbox.fake_github.routes.issues import (
    create_comment,
    create_issue,
    edit_comment,
    get_comment,
    get_issue,
    list_comments,
    list_issues,
    update_issue,
)
from sandbox.fake_github.routes.labels import (
    add_labels,
    create_label,
    get_label,
    list_labels,
    remove_label,
)
from sandbox.fake_github.routes.reactions import create_reaction
from sandbox.fake_github.routes.repos import (
    compare_commits,
    get_commit,
    get_contents,
    get_permission,
    get_pull,
    get_rate_limit,
    get_repo,
)

_R = "/repos/{owner}/{repo}"
# (method, path template, handler, auth): "jwt" = the App's JWT, "token" = installation token,
# "user" = a user's token from the OAuth web flow (`sandbox.github_oauth`).
API_ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/app", get_app, "jwt"),
    ("GET", "/app/installations", list_installations, "jwt"),
    ("POST", "/app/installations/{installation_id}/access_tokens", create_access_token, "jwt"),
    ("GET", f"{_R}/installation", get_repo_installation, "jwt"),
    ("GET", "/rate_limit", get_rate_limit, "token"),
    ("GET", "/user", get_user, "user"),
    ("GET", "/user/installations", list_user_installations, "user"),
    (
        "GET",
        "/user/installations/{installation_id}/repositories",
        list_user_installation_repos,
        "user",
    ),
    ("GET", _R, get_repo, "token"),
    ("GET", f"{_R}/pulls/{{number}}", get_pull, "token"),
    ("GET", f"{_R}/commits/{{ref}}", get_commit, "token"),
    ("GET", f"{_R}/compare/{{basehead}}", compare_commits, "token"),
    ("GET", f"{_R}/commits/{{ref}}/check-runs", list_check_runs_for_ref, "token"),
    ("GET", f"{_R}/collaborators/{{username}}/permission", get_permission, "token"),
    ("GET", f"{_R}/contents/{{path}}", get_contents, "token"),
    ("POST", f"{_R}/check-runs", create_check_run, "token"),
    ("GET", f"{_R}/check-runs/{{run_id}}", get_check_run, "token"),
    ("PATCH", f"{_R}/check-runs/{{run_id}}", update_check_run, "token"),
    ("GET", f"{_R}/check-runs/{{run_id}}/annotations", list_annotations, "token"),
    ("GET", f"{_R}/issues/comments/{{comment_id}}", get_comment, "token"),
    ("PATCH", f"{_R}/issues/comments/{{comment_id}}", edit_comment, "token"),
    ("POST", f"{_R}/issues/comments/{{comment_id}}/reactions", create_reaction, "token"),
    ("GET", f"{_R}/issues", list_issues, "token"),
    ("POST", f"{_R}/issues", create_issue, "token"),
    ("GET", f"{_R}/issues/{{number}}", get_issue, "token"),
    ("PATCH", f"{_R}/issues/{{number}}", update_issue, "token"),
    ("GET", f"{_R}/issues/{{number}}/comments", list_comments, "token"),
    ("POST", f"{_R}/issues/{{number}}/comments", create_comment, "token"),
    ("POST", f"{_R}/issues/{{number}}/labels", add_labels, "token"),
    ("DELETE", f"{_R}/issues/{{number}}/labels/{{name}}", remove_label, "token"),
    ("GET", f"{_R}/labels", list_labels, "token"),
    ("POST", f"{_R}/labels", create_label, "token"),
    ("GET", f"{_R}/labels/{{name}}", get_label, "token"),
    (
        "POST",
        f"{_R}/actions/runs/{{run_id}}/deployment_protection_rule",
        review_custom_gates,
        "token",
    ),
]
_NUMERIC = {"number", "run_id", "comment_id", "installation_id"}


def _compile(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "path":
            return "(?P<path>.+)"
        return f"(?P<{name}>\\d+)" if name in _NUMERIC else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")


_COMPILED = [(m, _compile(t), h, auth) for m, t, h, auth in API_ROUTES]


def match_route(method: str, path: str) -> tuple[Handler, str, dict[str, str]] | None:
    for route_method, pattern, handler, auth in _COMPILED:
        found = pattern.match(path)
        if found and route_method == method:
            return handler, auth, found.groupdict()
    return None
