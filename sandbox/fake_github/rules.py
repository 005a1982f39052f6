"""The rules GitHub enforces on what it is sent, and the error it answers with (no state here).

`ApiError` is raised by the state and the routes alike; the HTTP layer turns it into a
GitHub-shaped answer (`sandbox.fake_github.http.error_body`).
"""

from __future__ import annotations

import copy
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


def invalid(message: str, field_name: str = "", code: str = "invalid") -> ApiError:
    errors = [{"resource": "Request", "field": field_name, "code": code}] if field_name else None
    return ApiError(422, message, errors)


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


# --- GitHub's rules for check runs -------------------------------------------------------------


def _check_text(output: dict[str, Any]) -> None:
    for key in ("summary", "text"):
        value = output.get(key)
        if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
            raise invalid(
                f"Invalid request.\n\nOnly {MAX_OUTPUT_CHARS} characters are allowed.", key
            )


def _check_annotations(annotations: list[dict[str, Any]]) -> None:
    if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
        raise invalid(
            "Invalid request.\n\nOnly 50 annotations are allowed per request.", "annotations"
        )
    required = ("path", "start_line", "end_line", "annotation_level", "message")
    for annotation in annotations:
        missing = [key for key in required if key not in annotation]
        if missing:
            raise invalid(f"Invalid request.\n\n{missing[0]} wasn't supplied.", missing[0])
        if annotation["annotation_level"] not in ANNOTATION_LEVELS:
            raise invalid("Invalid request.\n\nannotation_level is not included.", "level")
        same_line = annotation["start_line"] == annotation["end_line"]
        if not same_line and ("start_column" in annotation or "end_column" in annotation):
            raise invalid("Invalid request.\n\ncolumns need start_line == end_line.", "column")


def _check_actions(actions: list[dict[str, Any]]) -> None:
    if len(actions) > MAX_ACTIONS:
        raise invalid("Invalid request.\n\nOnly 3 actions are allowed.", "actions")
    for action in actions:
        for key, limit in ACTION_LIMITS.items():
            value = action.get(key)
            if not isinstance(value, str):
                raise invalid(f"Invalid request.\n\n{key} wasn't supplied.", key)
            if len(value) > limit:
                raise invalid(
                    f"Invalid request.\n\n{key} is too long (maximum is {limit} characters).", key
                )


def _check_status(body: dict[str, Any], has_conclusion: bool) -> None:
    status = body.get("status")
    if status in ACTIONS_ONLY_STATUSES:
        raise invalid(
            "Invalid request.\n\nOnly GitHub Actions can set a status of waiting, pending, "
            "or requested.",
            "status",
        )
    if status is not None and status not in CHECK_STATUSES:
        raise invalid(f"Invalid request.\n\n{status!r} is not a valid status.", "status")
    conclusion = body.get("conclusion")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise invalid(
            f"Invalid request.\n\n{conclusion!r} is not a valid conclusion.", "conclusion"
        )
    if conclusion == "stale":
        raise invalid(
            "Invalid request.\n\nOnly GitHub can set a conclusion of stale.", "conclusion"
        )
    if status == "completed" and conclusion is None and not has_conclusion:
        raise invalid(
            "Invalid request.\n\nWhen the status is completed, a conclusion is required.",
            "conclusion",
        )


def validate_check_run(body: dict[str, Any], *, creating: bool, has_conclusion: bool) -> None:
    """Raise `ApiError(422)` where GitHub would refuse this create or update body."""
    if creating:
        for key in ("name", "head_sha"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise invalid(f"Invalid request.\n\n{key} wasn't supplied.", key, "missing")
    _check_status(body, has_conclusion)
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict) or not isinstance(output.get("summary"), str):
            raise invalid("Invalid request.\n\nsummary wasn't supplied.", "summary", "missing")
        _check_text(output)
        _check_annotations(output.get("annotations") or [])
    _check_actions(body.get("actions") or [])


def apply_check_run(run: dict[str, Any], body: dict[str, Any]) -> None:
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


def label_names(body: dict[str, Any]) -> list[str]:
    """Label names from `{"labels": [...]}`; items may be strings or `{"name": ...}`."""
    labels = body.get("labels") or []
    return [item["name"] if isinstance(item, dict) else str(item) for item in labels]
