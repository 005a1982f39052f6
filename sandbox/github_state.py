"""In-memory state of the fake GitHub and the rules GitHub enforces on it (no HTTP here).

Records are plain dicts; every reader returns deep copies so a test can never mutate the fake by
accident. Errors are `ApiError`, which the HTTP layer turns into GitHub-shaped answers.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CHECK_STATUSES = {"queued", "in_progress", "completed"}
ACTIONS_ONLY_STATUSES = {"waiting", "requested", "pending"}
CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
}
ANNOTATION_LEVELS = {"notice", "warning", "failure"}
REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}
# GitHub's `permission` field only knows four values; `role_name` keeps the fine role.
PERMISSION_OF_ROLE = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
MAX_OUTPUT_CHARS = 65535
MAX_COMMENT_CHARS = 65536
MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "description": 40, "identifier": 20}
DEFAULT_LABEL_COLOR = "ededed"


class ApiError(Exception):
    """An error answer: status, GitHub's `message` and optional `errors` list."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _invalid(message: str, field_name: str = "", code: str = "invalid") -> ApiError:
    errors = [{"resource": "Request", "field": field_name, "code": code}] if field_name else None
    return ApiError(422, message, errors)


def _not_found() -> ApiError:
    return ApiError(404, "Not Found")


@dataclass
class Repo:
    full_name: str
    id: int
    clone_url: str | None
    private: bool
    created_at: str
    default_branch: str = "main"
    next_number: int = 1
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # pulls included
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # login -> fine role


# --- GitHub's rules for check runs -------------------------------------------------------------


def _check_text(output: dict[str, Any]) -> None:
    for key in ("summary", "text"):
        value = output.get(key)
        if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
            raise _invalid(
                f"Invalid request.\n\nOnly {MAX_OUTPUT_CHARS} characters are allowed.", key
            )


def _check_annotations(annotations: list[dict[str, Any]]) -> None:
    if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
        raise _invalid(
            "Invalid request.\n\nOnly 50 annotations are allowed per request.", "annotations"
        )
    required = ("path", "start_line", "end_line", "annotation_level", "message")
    for annotation in annotations:
        missing = [key for key in required if key not in annotation]
        if missing:
            raise _invalid(f"Invalid request.\n\n{missing[0]} wasn't supplied.", missing[0])
        if annotation["annotation_level"] not in ANNOTATION_LEVELS:
            raise _invalid("Invalid request.\n\nannotation_level is not included.", "level")
        same_line = annotation["start_line"] == annotation["end_line"]
        if not same_line and ("start_column" in annotation or "end_column" in annotation):
            raise _invalid("Invalid request.\n\ncolumns need start_line == end_line.", "column")


def _check_actions(actions: list[dict[str, Any]]) -> None:
    if len(actions) > MAX_ACTIONS:
        raise _invalid("Invalid request.\n\nOnly 3 actions are allowed.", "actions")
    for action in actions:
        for key, limit in ACTION_LIMITS.items():
            value = action.get(key)
            if not isinstance(value, str):
                raise _invalid(f"Invalid request.\n\n{key} wasn't supplied.", key)
            if len(value) > limit:
                raise _invalid(
                    f"Invalid request.\n\n{key} is too long (maximum is {limit} characters).", key
                )


def _check_status(body: dict[str, Any], has_conclusion: bool) -> None:
    status = body.get("status")
    if status in ACTIONS_ONLY_STATUSES:
        raise _invalid(
            "Invalid request.\n\nOnly GitHub Actions can set a status of waiting, pending, "
            "or requested.",
            "status",
        )
    if status is not None and status not in CHECK_STATUSES:
        raise _invalid(f"Invalid request.\n\n{status!r} is not a valid status.", "status")
    conclusion = body.get("conclusion")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise _invalid(
            f"Invalid request.\n\n{conclusion!r} is not a valid conclusion.", "conclusion"
        )
    if conclusion == "stale":
        raise _invalid(
            "Invalid request.\n\nOnly GitHub can set a conclusion of stale.", "conclusion"
        )
    if status == "completed" and conclusion is None and not has_conclusion:
        raise _invalid(
            "Invalid request.\n\nWhen the status is completed, a conclusion is required.",
            "conclusion",
        )


def validate_check_run(body: dict[str, Any], *, creating: bool, has_conclusion: bool) -> None:
    """Raise `ApiError(422)` where GitHub would refuse this create or update body."""
    if creating:
        for key in ("name", "head_sha"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise _invalid(f"Invalid request.\n\n{key} wasn't supplied.", key, "missing")
    _check_status(body, has_conclusion)
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict) or not isinstance(output.get("summary"), str):
            raise _invalid("Invalid request.\n\nsummary wasn't supplied.", "summary", "missing")
        _check_text(output)
        _check_annotations(output.get("annotations") or [])
    _check_actions(body.get("actions") or [])


def _apply_check_run(run: dict[str, Any], body: dict[str, Any]) -> None:
    for key in ("name", "details_url", "external_id", "started_at", "completed_at", "status"):
        if key in body:
            run[key] = body[key]
    if body.get("conclusion") is not None:
        run["conclusion"] = body["conclusion"]
        run["status"] = "completed"  # GitHub implies it
    if run["status"] == "completed" and not run["completed_at"]:
        run["completed_at"] = now_iso()
    if "actions" in body:
        run["actions"] = copy.deepcopy(body["actions"])
    output = body.get("output")
    if output is not None:
        for key in ("title", "summary", "text"):
            if key in output:
                run["output"][key] = output[key]
        run["annotations"].extend(copy.deepcopy(output.get("annotations") or []))


# --- the state ---------------------------------------------------------------------------------


class GitHubState:
    """Repositories, issues and pulls, comments, reactions, labels, check runs, installations."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self.repos: dict[str, Repo] = {}
        self.installations: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.reactions: dict[int, list[dict[str, Any]]] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.deployment_answers: list[dict[str, Any]] = []

    def new_id(self) -> int:
        return next(self._ids)

    # installations and repositories

    def add_installation(self, installation_id: int, account: str = "acme") -> dict[str, Any]:
        with self.lock:
            record = {"id": int(installation_id), "account": account, "created_at": now_iso()}
            self.installations[int(installation_id)] = record
            return copy.deepcopy(record)

    def installation(self, installation_id: int) -> dict[str, Any]:
        with self.lock:
            if int(installation_id) not in self.installations:
                raise _not_found()
            return copy.deepcopy(self.installations[int(installation_id)])

    def add_repo(
        self, full_name: str, *, clone_url: str | None = None, private: bool = False
    ) -> Repo:
        with self.lock:
            if full_name not in self.repos:
                self.repos[full_name] = Repo(
                    full_name, self.new_id(), clone_url, private, created_at=now_iso()
                )
            repo = self.repos[full_name]
            repo.clone_url = clone_url or repo.clone_url
            repo.private = private
            return repo

    def repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name)
        if repo is None:
            raise _not_found()
        return repo

    def clone_sources(self, full_name: str) -> list[str]:
        """Local git repositories holding this repository's commits (its own, its pulls' heads)."""
        with self.lock:
            repo = self.repo(full_name)
            urls = [repo.clone_url] + [
                issue["pull"].get("head_clone_url")
                for issue in repo.issues.values()
                if issue["pull"] is not None
            ]
        return [u for u in dict.fromkeys(urls) if u and not u.startswith(("http:", "https:"))]

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        if permission not in PERMISSION_OF_ROLE:
            raise ValueError(f"unknown role {permission!r}; one of {sorted(PERMISSION_OF_ROLE)}")
        with self.lock:
            self.repo(full_name).roles[login] = permission

    def role_of(self, full_name: str, login: str) -> str:
        """A collaborator's role; outsiders can read a public repository, nothing else."""
        with self.lock:
            repo = self.repo(full_name)
            return repo.roles.get(login, "none" if repo.private else "read")

    # issues and pull requests (one numbering space per repository)

    def _take_number(self, repo: Repo, number: int | None) -> int:
        if number is None:
            number = repo.next_number
        if number in repo.issues:
            raise ValueError(f"{repo.full_name}#{number} exists")
        repo.next_number = max(repo.next_number, number + 1)
        return number

    def _new_issue(
        self, repo: Repo, number: int, title: str, body: str | None, user: str, user_type: str
    ) -> dict[str, Any]:
        stamp = now_iso()
        issue = {
            "id": self.new_id(),
            "repo": repo.full_name,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "user": user,
            "user_type": user_type,
            "labels": [],
            "created_at": stamp,
            "updated_at": stamp,
            "closed_at": None,
            "pull": None,
        }
        repo.issues[number] = issue
        return issue

    def add_issue(
        self,
        full_name: str,
        number: int | None = None,
        title: str = "An issue",
        body: str = "",
        *,
        user: str = "octocat",
        user_type: str = "User",
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self._new_issue(
                repo, self._take_number(repo, number), title, body, user, user_type
            )
            issue["labels"] = [self._ensure_label(repo, name)["name"] for name in labels or []]
            return copy.deepcopy(issue)

    def add_pull(
        self,
        full_name: str,
        number: int,
        *,
        head_sha: str,
        head_ref: str,
        head_clone_url: str | None = None,
        head_full_name: str | None = None,
        body: str = "",
        user: str = "octocat",
        state: str = "open",
        base_ref: str = "main",
        title: str | None = None,
        draft: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self._new_issue(
                repo, self._take_number(repo, number), title or f"PR {number}", body, user, "User"
            )
            issue["state"] = state
            issue["pull"] = {
                "id": self.new_id(),
                "head_sha": head_sha,
                "head_ref": head_ref,
                "head_full_name": head_full_name or full_name,
                "head_clone_url": head_clone_url,
                "base_ref": base_ref,
                "draft": draft,
            }
            return copy.deepcopy(issue)

    def set_head(self, full_name: str, number: int, sha: str) -> None:
        """Simulate a push to the pull request's head branch."""
        with self.lock:
            self._pull(full_name, number)["pull"]["head_sha"] = sha

    def _issue(self, full_name: str, number: int) -> dict[str, Any]:
        issue = self.repo(full_name).issues.get(int(number))
        if issue is None:
            raise _not_found()
        return issue

    def _pull(self, full_name: str, number: int) -> dict[str, Any]:
        issue = self._issue(full_name, number)
        if issue["pull"] is None:
            raise _not_found()
        return issue

    def issue(self, full_name: str, number: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._issue(full_name, number))

    def pull(self, full_name: str, number: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._pull(full_name, number))

    def list_issues(
        self,
        full_name: str,
        *,
        state: str = "open",
        labels: list[str] | None = None,
        creator: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first, as GitHub's default `sort=created&direction=desc`."""
        with self.lock:
            found = [
                issue
                for issue in self.repo(full_name).issues.values()
                if (state == "all" or issue["state"] == state)
                and all(name in issue["labels"] for name in labels or [])
                and (creator is None or issue["user"] == creator)
            ]
            return copy.deepcopy(sorted(found, key=lambda i: i["number"], reverse=True))

    def create_issue(self, full_name: str, body: dict[str, Any], user: str, user_type: str) -> int:
        if not isinstance(body.get("title"), str | int) or body.get("title") == "":
            raise _invalid("Validation Failed", "title", "missing_field")
        with self.lock:
            repo = self.repo(full_name)
            number = self._take_number(repo, None)
            issue = self._new_issue(
                repo, number, str(body["title"]), body.get("body"), user, user_type
            )
            issue["labels"] = [self._ensure_label(repo, name)["name"] for name in label_names(body)]
            return number

    def update_issue(self, full_name: str, number: int, body: dict[str, Any]) -> None:
        with self.lock:
            issue = self._issue(full_name, number)
            for key in ("title", "body", "state_reason"):
                if key in body:
                    issue[key] = body[key]
            if body.get("state") in ("open", "closed") and body["state"] != issue["state"]:
                issue["state"] = body["state"]
                issue["closed_at"] = now_iso() if body["state"] == "closed" else None
            if "labels" in body:
                repo = self.repo(full_name)
                issue["labels"] = [self._ensure_label(repo, n)["name"] for n in label_names(body)]
            issue["updated_at"] = now_iso()

    # labels

    def _ensure_label(
        self,
        repo: Repo,
        name: str,
        color: str = DEFAULT_LABEL_COLOR,
        description: str | None = None,
    ) -> dict[str, Any]:
        if name not in repo.labels:
            repo.labels[name] = {
                "id": self.new_id(),
                "name": name,
                "color": color,
                "description": description,
                "default": False,
            }
        return repo.labels[name]

    def create_label(self, full_name: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise _invalid("Validation Failed", "name", "missing_field")
        with self.lock:
            repo = self.repo(full_name)
            if name in repo.labels:
                raise _invalid("Validation Failed", "name", "already_exists")
            color = str(body.get("color", DEFAULT_LABEL_COLOR)).lstrip("#")
            return copy.deepcopy(self._ensure_label(repo, name, color, body.get("description")))

    def label(self, full_name: str, name: str) -> dict[str, Any]:
        with self.lock:
            label = self.repo(full_name).labels.get(name)
            if label is None:
                raise _not_found()
            return copy.deepcopy(label)

    def labels(self, full_name: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.repo(full_name).labels.values()))

    def add_labels(self, full_name: str, number: int, names: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self._issue(full_name, number)
            for name in names:
                self._ensure_label(repo, name)
                if name not in issue["labels"]:
                    issue["labels"].append(name)
            return self.labels_on(full_name, number)

    def remove_label(self, full_name: str, number: int, name: str) -> list[dict[str, Any]]:
        with self.lock:
            issue = self._issue(full_name, number)
            if name not in issue["labels"]:
                raise ApiError(404, "Label does not exist")
            issue["labels"].remove(name)
            return self.labels_on(full_name, number)

    def labels_on(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self._issue(full_name, number)
            return copy.deepcopy([repo.labels[name] for name in issue["labels"]])

    # comments and reactions

    def add_comment(
        self,
        full_name: str,
        number: int,
        body: str,
        *,
        user: str = "octocat",
        user_type: str = "User",
        via_app: bool = False,
    ) -> dict[str, Any]:
        if not isinstance(body, str) or not body:
            raise _invalid("Validation Failed", "body", "missing_field")
        if len(body) > MAX_COMMENT_CHARS:
            raise _invalid("Body is too long (maximum is 65536 characters)", "body", "custom")
        with self.lock:
            issue = self._issue(full_name, number)
            stamp = now_iso()
            comment = {
                "id": self.new_id(),
                "repo": full_name,
                "number": int(number),
                "is_pull": issue["pull"] is not None,
                "body": body,
                "user": user,
                "user_type": user_type,
                "via_app": via_app,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.comments[comment["id"]] = comment
            return copy.deepcopy(comment)

    def _comment(self, full_name: str, comment_id: int) -> dict[str, Any]:
        comment = self.comments.get(int(comment_id))
        if comment is None or comment["repo"] != full_name:
            raise _not_found()
        return comment

    def comment(self, full_name: str, comment_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._comment(full_name, comment_id))

    def edit_comment(self, full_name: str, comment_id: int, body: str) -> dict[str, Any]:
        if not isinstance(body, str) or len(body) > MAX_COMMENT_CHARS:
            raise _invalid("Body is too long (maximum is 65536 characters)", "body", "custom")
        with self.lock:
            comment = self._comment(full_name, comment_id)
            comment.update(body=body, updated_at=now_iso())
            return copy.deepcopy(comment)

    def comments_on(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            self._issue(full_name, number)
            found = [
                c
                for c in self.comments.values()
                if c["repo"] == full_name and c["number"] == number
            ]
            return copy.deepcopy(sorted(found, key=lambda c: c["id"]))

    def react(
        self, full_name: str, comment_id: int, content: Any, user: str, user_type: str
    ) -> tuple[dict[str, Any], bool]:
        """Add a reaction; `(reaction, created)`: GitHub answers 200 for a repeat, 201 if new."""
        if content not in REACTIONS:
            raise _invalid("Validation Failed", "content", "invalid")
        with self.lock:
            self._comment(full_name, comment_id)
            existing = self.reactions.setdefault(int(comment_id), [])
            for reaction in existing:
                if reaction["content"] == content and reaction["user"] == user:
                    return copy.deepcopy(reaction), False
            reaction = {
                "id": self.new_id(),
                "content": content,
                "user": user,
                "user_type": user_type,
                "created_at": now_iso(),
            }
            existing.append(reaction)
            return copy.deepcopy(reaction), True

    def reactions_on(self, comment_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.reactions.get(int(comment_id), []))

    # check runs

    def create_check_run(self, full_name: str, body: dict[str, Any]) -> dict[str, Any]:
        validate_check_run(body, creating=True, has_conclusion=False)
        with self.lock:
            self.repo(full_name)
            run: dict[str, Any] = {
                "id": self.new_id(),
                "repo": full_name,
                "name": body["name"],
                "head_sha": body["head_sha"],
                "status": "queued",
                "conclusion": None,
                "started_at": now_iso(),
                "completed_at": None,
                "details_url": None,
                "external_id": "",
                "output": {"title": None, "summary": None, "text": None},
                "annotations": [],
                "actions": [],
                "history": [],
            }
            _apply_check_run(run, body)
            run["history"].append({"method": "POST", "body": copy.deepcopy(body)})
            self.check_runs[run["id"]] = run
            return copy.deepcopy(run)

    def _check_run(self, full_name: str, run_id: int) -> dict[str, Any]:
        run = self.check_runs.get(int(run_id))
        if run is None or run["repo"] != full_name:
            raise _not_found()
        return run

    def check_run(self, full_name: str, run_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._check_run(full_name, run_id))

    def update_check_run(self, full_name: str, run_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            run = self._check_run(full_name, run_id)
            validate_check_run(body, creating=False, has_conclusion=run["conclusion"] is not None)
            _apply_check_run(run, body)
            run["history"].append({"method": "PATCH", "body": copy.deepcopy(body)})
            return copy.deepcopy(run)

    def check_runs_for(
        self, full_name: str, head_sha: str | None = None, name: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first, as GitHub lists them."""
        with self.lock:
            found = [
                run
                for run in self.check_runs.values()
                if run["repo"] == full_name
                and (head_sha is None or run["head_sha"] == head_sha)
                and (name is None or run["name"] == name)
            ]
            return copy.deepcopy(sorted(found, key=lambda r: r["id"], reverse=True))

    # deployment protection rules

    def answer_deployment(self, full_name: str, run_id: int, body: dict[str, Any]) -> None:
        """`POST .../actions/runs/{run_id}/deployment_protection_rule`: an App's review of a
        deployment waiting on it. Every answer is kept (tests count them)."""
        environment, state = body.get("environment_name"), body.get("state")
        if not isinstance(environment, str) or not environment:
            raise _invalid("environment_name is missing", "environment_name", "missing_field")
        if state not in ("approved", "rejected"):
            raise _invalid("state must be approved or rejected", "state")
        with self.lock:
            self.repo(full_name)
            self.deployment_answers.append(
                {
                    "repo": full_name,
                    "run_id": run_id,
                    "environment_name": environment,
                    "state": state,
                    "comment": str(body.get("comment") or ""),
                    "at": now_iso(),
                }
            )

    def answers_for(self, full_name: str) -> list[dict[str, Any]]:
        """The answers given for `full_name`'s deployments, oldest first."""
        with self.lock:
            return [dict(a) for a in self.deployment_answers if a["repo"] == full_name]

    def pulls_with_head(self, full_name: str, sha: str) -> list[int]:
        """Open pull requests whose head is `sha` (GitHub's `check_run.pull_requests`)."""
        with self.lock:
            return [
                issue["number"]
                for issue in self.repo(full_name).issues.values()
                if issue["pull"] and issue["pull"]["head_sha"] == sha and issue["state"] == "open"
            ]


def label_names(body: dict[str, Any]) -> list[str]:
    """Label names from `{"labels": [...]}`; items may be strings or `{"name": ...}`."""
    labels = body.get("labels") or []
    return [item["name"] if isinstance(item, dict) else str(item) for item in labels]
