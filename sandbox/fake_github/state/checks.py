"""Check runs: created and updated under GitHub's rules, every body sent kept in `history`."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.fake_github.rules import apply_check_run, not_found, now_iso, validate_check_run
from sandbox.fake_github.state.core import StateCore


class CheckRunState(StateCore):
    """Check runs by id, each with its accumulated annotations, actions and request history."""

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
            apply_check_run(run, body)
            run["history"].append({"method": "POST", "body": copy.deepcopy(body)})
            self.check_runs[run["id"]] = run
            return copy.deepcopy(run)

    def _check_run(self, full_name: str, run_id: int) -> dict[str, Any]:
        run = self.check_runs.get(int(run_id))
        if run is None or run["repo"] != full_name:
            raise not_found()
        return run

    def check_run(self, full_name: str, run_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._check_run(full_name, run_id))

    def update_check_run(self, full_name: str, run_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            run = self._check_run(full_name, run_id)
            validate_check_run(body, creating=False, has_conclusion=run["conclusion"] is not None)
            apply_check_run(run, body)
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
