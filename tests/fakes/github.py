"""One repository on GitHub, in memory: the calls handlers and the run job make, recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.plan import PLAN_PATH
from bot.github.client import GitHubError, IssueRef, PullInfo

APP_ID = "4242"
REPO = "acme/shop"


def pull(number: int, head_sha: str, *, state: str = "open", body: str = "") -> PullInfo:
    """A pull request of `REPO` whose head is `head_sha`."""
    return PullInfo(
        number=number,
        state=state,
        head_sha=head_sha,
        head_ref=f"branch-{number}",
        head_full_name=REPO,
        head_clone_url=f"https://github.example/{REPO}.git",
        base_full_name=REPO,
        base_ref="main",
        body=body,
        html_url=f"https://github.example/{REPO}/pull/{number}",
        user_login="octocat",
        is_fork=False,
    )


@dataclass
class FakeGitHub:
    """Pull requests, permissions, files and check runs of one repository.

    Every call is appended to `calls` as `(method, arguments)`; `named(method)` lists one
    method's arguments. A method named in `fail` raises `GitHubError` (after being recorded)."""

    app_id: str = APP_ID
    pulls: dict[int, PullInfo] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)  # login -> permission
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, ref) -> text
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)  # (number, body)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> title, body...
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[str, Exception] = field(default_factory=dict)
    token: str = "ghs_installation_token_0123456789"
    clone_url: str = f"/srv/git/{REPO}"

    # arranging
    def plan_at(self, sha: str, text: str) -> None:
        self.files[(PLAN_PATH, sha)] = text

    def add_check_run(self, head_sha: str, name: str, **fields: Any) -> dict[str, Any]:
        """A check run already on the commit (this App's unless `app_id` says otherwise)."""
        run = {
            "id": 500 + len(self.check_runs),
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": None,
            "external_id": None,
            "title": "",
            "html_url": f"https://github.example/runs/{500 + len(self.check_runs)}",
            "app_id": self.app_id,
            **fields,
        }
        self.check_runs.append(run)
        return run

    # looking
    def named(self, method: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments in self.calls if name == method]

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _record(self, method: str, **arguments: Any) -> None:
        self.calls.append((method, arguments))
        if method in self.fail:
            raise self.fail[method]

    # the handlers' protocol (`bot.handlers.context.GitHub`)
    def permission_of(self, login: str) -> str:
        self._record("permission_of", login=login)
        return self.permissions.get(login, "none")

    def react(self, comment_id: int, content: str) -> None:
        self._record("react", comment_id=comment_id, content=content)

    def reply(self, number: int, body: str) -> str:
        self._record("reply", number=number, body=body)
        self.comments.append((number, body))
        return f"https://github.example/{REPO}/issues/{number}#comment-{len(self.comments)}"

    def has_comment_with(self, number: int, marker: str) -> bool:
        self._record("has_comment_with", number=number, marker=marker)
        return any(n == number and marker in body for n, body in self.comments)

    def get_pull(self, number: int) -> PullInfo:
        self._record("get_pull", number=number)
        if number not in self.pulls:
            raise GitHubError(f"no pull request #{number}", 404)
        return self.pulls[number]

    def read_file(self, path: str, ref: str) -> str | None:
        self._record("read_file", path=path, ref=ref)
        return self.files.get((path, ref))

    def create_check_run(self, **fields: Any) -> int:
        self._record("create_check_run", **fields)
        run = self.add_check_run(fields["head_sha"], fields["name"])
        run.update({k: v for k, v in fields.items() if k in run})
        return int(run["id"])

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        self._record("update_check_run", check_run_id=check_run_id, **fields)
        for run in self.check_runs:
            if run["id"] == check_run_id:
                run.update({k: v for k, v in fields.items() if k in run})

    def list_check_runs(
        self, head_sha: str, check_name: str, *, app_id: str | int | None = None
    ) -> list[dict[str, Any]]:
        self._record("list_check_runs", head_sha=head_sha, check_name=check_name, app_id=app_id)
        return [
            {k: v for k, v in run.items() if k != "head_sha"}
            for run in self.check_runs
            if run["head_sha"] == head_sha
            and run["name"] == check_name
            and (app_id is None or str(run["app_id"]) == str(app_id))
        ]

    def check_run_url(self, check_run_id: int) -> str | None:
        self._record("check_run_url", check_run_id=check_run_id)
        return f"https://github.example/runs/{check_run_id}"

    def answer_deployment_gate(
        self, workflow_run_id: int, environment: str, state: str, comment: str
    ) -> None:
        self._record(
            "answer_deployment_gate",
            workflow_run_id=workflow_run_id,
            environment=environment,
            state=state,
            comment=comment,
        )

    # the run job's (`workers.job` ports)
    def fetch_token(self) -> str:
        self._record("fetch_token")
        return "ghs_repository_token_0123456789"

    def repo_clone_url(self) -> str:
        self._record("repo_clone_url")
        return self.clone_url

    # publishing's and the tracking issue's (`workers.publish.PublishClient`, `IssueClient`)
    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        self._record("upsert_comment", number=number, marker=marker, body=body)
        self.comments = [(n, b) for n, b in self.comments if not (n == number and marker in b)]
        self.comments.append((number, body))
        return f"https://github.example/{REPO}/issues/{number}#comment-{len(self.comments)}"

    def comment(self, number: int, body: str) -> str:
        self._record("comment", number=number, body=body)
        self.comments.append((number, body))
        return f"https://github.example/{REPO}/issues/{number}#comment-{len(self.comments)}"

    def find_comment(self, number: int, marker: str) -> str | None:
        self._record("find_comment", number=number, marker=marker)
        found = any(n == number and marker in body for n, body in self.comments)
        return f"https://github.example/{REPO}/issues/{number}#found" if found else None

    def list_annotations(self, check_run_id: int) -> list[dict[str, Any]]:
        self._record("list_annotations", check_run_id=check_run_id)
        return []

    def find_open_issue(self, label: str, marker: str) -> IssueRef | None:
        self._record("find_open_issue", label=label, marker=marker)
        for number, issue in self.issues.items():
            if label in issue["labels"] and marker in issue["body"]:
                return IssueRef(number, issue["url"])
        return None

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef:
        self._record("create_issue", title=title, body=body, labels=labels)
        number = 100 + len(self.issues)
        url = f"https://github.example/{REPO}/issues/{number}"
        self.issues[number] = {"title": title, "body": body, "labels": set(labels), "url": url}
        return IssueRef(number, url)

    def update_issue(self, number: int, *, body: str) -> None:
        self._record("update_issue", number=number, body=body)
        self.issues[number]["body"] = body

    def ensure_label(self, name: str, color: str, description: str) -> None:
        self._record("ensure_label", name=name, color=color, description=description)

    def add_labels(self, number: int, names: list[str]) -> None:
        self._record("add_labels", number=number, names=names)

    def remove_label(self, number: int, name: str) -> None:
        self._record("remove_label", number=number, name=name)

    def is_pull_request(self, number: int) -> bool:
        self._record("is_pull_request", number=number)
        return number in self.pulls
