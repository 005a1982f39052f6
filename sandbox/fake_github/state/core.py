"""What every part of the fake's state shares: the lock, the ids, the records, the repositories
and installations, and the lookups the resource mixins build on.

Records are plain dicts; every reader returns deep copies so a test can never mutate the fake by
accident. Errors are `ApiError`, which the HTTP layer turns into GitHub-shaped answers.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.fake_github.rules import (
    DEFAULT_LABEL_COLOR,
    PERMISSION_OF_ROLE,
    not_found,
    now_iso,
)


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


class StateCore:
    """The records of every resource, and the repositories and installations they belong to."""

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
                raise not_found()
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
            raise not_found()
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

    def _issue(self, full_name: str, number: int) -> dict[str, Any]:
        issue = self.repo(full_name).issues.get(int(number))
        if issue is None:
            raise not_found()
        return issue

    def _pull(self, full_name: str, number: int) -> dict[str, Any]:
        issue = self._issue(full_name, number)
        if issue["pull"] is None:
            raise not_found()
        return issue

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
