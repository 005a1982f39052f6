"""Issues and pull requests (one numbering space per repository) and their labels."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.fake_github.rules import (
    DEFAULT_LABEL_COLOR,
    ApiError,
    invalid,
    label_names,
    not_found,
    now_iso,
)
from sandbox.fake_github.state.core import Repo, StateCore


class IssueState(StateCore):
    """Issues, pull requests (an issue with a `pull` part) and the labels on them."""

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
            raise invalid("Validation Failed", "title", "missing_field")
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

    def create_label(self, full_name: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise invalid("Validation Failed", "name", "missing_field")
        with self.lock:
            repo = self.repo(full_name)
            if name in repo.labels:
                raise invalid("Validation Failed", "name", "already_exists")
            color = str(body.get("color", DEFAULT_LABEL_COLOR)).lstrip("#")
            return copy.deepcopy(self._ensure_label(repo, name, color, body.get("description")))

    def label(self, full_name: str, name: str) -> dict[str, Any]:
        with self.lock:
            label = self.repo(full_name).labels.get(name)
            if label is None:
                raise not_found()
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

    def pulls_with_head(self, full_name: str, sha: str) -> list[int]:
        """Open pull requests whose head is `sha` (GitHub's `check_run.pull_requests`)."""
        with self.lock:
            return [
                issue["number"]
                for issue in self.repo(full_name).issues.values()
                if issue["pull"] and issue["pull"]["head_sha"] == sha and issue["state"] == "open"
            ]
