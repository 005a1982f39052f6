"""Issue and check-run bodies that need more of the state than the record itself (labels,
comment count, the pulls whose head a check run is on); shared by the routes and the fake's
readers."""

from __future__ import annotations

from typing import Any

from sandbox.fake_github.bodies.apps import AppInfo
from sandbox.fake_github.bodies.checks import check_run_json
from sandbox.fake_github.bodies.issues import issue_json, pull_ref_json
from sandbox.fake_github.state import GitHubState


def issue_body(state: GitHubState, base: str, full_name: str, number: int) -> dict[str, Any]:
    with state.lock:
        issue = state.issue(full_name, number)
        labels = state.labels_on(full_name, number)
        count = len(state.comments_on(full_name, number))
    return issue_json(base, issue, labels, count)


def check_run_body(
    state: GitHubState, app_info: AppInfo, base: str, run: dict[str, Any]
) -> dict[str, Any]:
    with state.lock:
        repo = state.repo(run["repo"])
        pulls = [
            pull_ref_json(base, state.pull(run["repo"], n), repo)
            for n in state.pulls_with_head(run["repo"], run["head_sha"])
        ]
    app = app_info
    if run.get("other_app"):  # a check run another App created (`add_check_run`)
        app = AppInfo(run["other_app"], f"app-{run['other_app']}[bot]")
    return check_run_json(base, app, run, pulls)
