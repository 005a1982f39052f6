"""Answers to deployments waiting on the App's custom protection rule."""

from __future__ import annotations

from typing import Any

from sandbox.fake_github.rules import invalid, now_iso
from sandbox.fake_github.state.core import StateCore


class DeploymentState(StateCore):
    """Every review an App posted (tests count them)."""

    def answer_deployment(self, full_name: str, run_id: int, body: dict[str, Any]) -> None:
        """`POST .../actions/runs/{run_id}/deployment_protection_rule`: an App's review of a
        deployment waiting on it. Every answer is kept (tests count them)."""
        environment, state = body.get("environment_name"), body.get("state")
        if not isinstance(environment, str) or not environment:
            raise invalid("environment_name is missing", "environment_name", "missing_field")
        if state not in ("approved", "rejected"):
            raise invalid("state must be approved or rejected", "state")
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
