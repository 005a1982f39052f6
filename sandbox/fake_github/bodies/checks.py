"""Bodies of check runs and their annotations."""

from __future__ import annotations

from typing import Any

from sandbox.fake_github.bodies.apps import AppInfo, app_json


def check_run_json(
    base: str, app: AppInfo, run: dict[str, Any], pulls: list[dict[str, Any]]
) -> dict[str, Any]:
    full_name, rid = run["repo"], run["id"]
    api = f"{base}/repos/{full_name}/check-runs/{rid}"
    output = run["output"]
    return {
        "id": rid,
        "node_id": f"CR_{rid}",
        "head_sha": run["head_sha"],
        "external_id": run["external_id"],
        "url": api,
        "html_url": f"{base}/{full_name}/runs/{rid}",
        "details_url": run["details_url"],
        "status": run["status"],
        "conclusion": run["conclusion"],
        "started_at": run["started_at"],
        "completed_at": run["completed_at"],
        "output": {
            "title": output["title"],
            "summary": output["summary"],
            "text": output["text"],
            "annotations_count": len(run["annotations"]),
            "annotations_url": f"{api}/annotations",
        },
        "name": run["name"],
        "check_suite": {"id": rid},
        "app": app_json(base, app),
        "pull_requests": pulls,
    }


def annotation_json(annotation: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": annotation["path"],
        "start_line": annotation["start_line"],
        "end_line": annotation["end_line"],
        "start_column": annotation.get("start_column"),
        "end_column": annotation.get("end_column"),
        "annotation_level": annotation["annotation_level"],
        "title": annotation.get("title"),
        "message": annotation["message"],
        "raw_details": annotation.get("raw_details"),
        "blob_href": "",
    }
