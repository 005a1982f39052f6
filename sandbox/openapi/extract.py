"""Regenerate `rest-subset.json` from GitHub's OpenAPI description.

The source is the npm package `@octokit/openapi` version 23.0.2 (MIT), file
`generated/api.github.com.deref.json` (every `$ref` already inlined). To regenerate:

    cd /tmp && npm pack @octokit/openapi@23.0.2 && mkdir octokit-openapi-23.0.2 \
        && tar -xzf octokit-openapi-23.0.2.tgz -C octokit-openapi-23.0.2
    python -m sandbox.openapi.extract \
        /tmp/octokit-openapi-23.0.2/package/generated/api.github.com.deref.json

The same run writes the webhook payloads GitHub publishes no example of (`WEBHOOK_EXAMPLES`)
into `sandbox/payloads/`, built from the webhook's schema and its own per-field `example` values
(see `webhook_example`), and keeps those webhooks' schemas, stripped, in the subset.

Only the operations the bot (and PyGithub on its behalf) calls are kept, and their schemas are
stripped of prose (descriptions, examples, titles) so the file stays small and diff-able.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

SOURCE = "@octokit/openapi 23.0.2, generated/api.github.com.deref.json"
OUTPUT = Path(__file__).with_name("rest-subset.json")

OPERATIONS: tuple[tuple[str, str], ...] = (
    ("get", "/app"),
    ("get", "/app/installations"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/rate_limit"),
    ("get", "/user"),
    ("get", "/user/installations"),
    ("get", "/user/installations/{installation_id}/repositories"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("get", "/repos/{owner}/{repo}/labels"),
    ("post", "/repos/{owner}/{repo}/labels"),
    ("get", "/repos/{owner}/{repo}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule"),
)

# Webhooks neither @octokit/webhooks-examples nor @octokit/openapi has an example of: the file
# written to sandbox/payloads, and the values of the top-level fields whose schema has no
# `example` (each taken from an example the same schema gives for the same thing elsewhere).
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
WEBHOOK_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "deployment-protection-rule-requested": (
        "deployment_protection_rule.requested.json",
        {
            "action": "requested",
            "environment": "production",  # deployment.environment's example
            "event": "deployment",
            "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",  # deployment.sha's example
            "ref": "topic-branch",  # deployment.ref's example
            # `actions/review-custom-gates-for-run` on the example's repository.full_name
            "deployment_callback_url": "https://api.github.com/repos/octocat/Hello-World/actions"
            "/runs/1/deployment_protection_rule",
            "pull_requests": [],
        },
    ),
}

# Where the schema is stricter than GitHub's own documented behaviour. The description of
# "Add labels to an issue" says "You can also pass an array of labels directly", and PyGithub's
# `Issue.add_to_labels` does exactly that, but the schema only lists the object form.
AMENDMENTS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"): {
        "reason": "description: 'You can also pass an array of labels directly'",
        "extra_one_of": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
}

_PROSE = {"description", "examples", "example", "title", "externalDocs"}
_SCHEMA_MAPS = {"properties", "patternProperties"}
_SCHEMA_LISTS = {"oneOf", "anyOf", "allOf"}
_SCHEMA_ONE = {"items", "additionalProperties", "not"}


def strip_schema(schema: Any) -> Any:
    """Drop prose from a JSON schema; turn OpenAPI 3.0 `nullable` into a JSON-schema type."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _PROSE or key.startswith("x-") or key == "nullable":
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: strip_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [strip_schema(sub) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = strip_schema(value)
        else:
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    body = operation.get("requestBody")
    if not body:
        return None
    return cast(dict[str, Any], strip_schema(body["content"]["application/json"]["schema"]))


def _query(operation: dict[str, Any]) -> dict[str, Any]:
    params = operation.get("parameters", [])
    return {p["name"]: strip_schema(p.get("schema", {})) for p in params if p["in"] == "query"}


def extract_operation(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": method.upper(),
        "path": path,
        "operationId": operation["operationId"],
        "query": _query(operation),
        "body_required": bool(operation.get("requestBody", {}).get("required", False)),
        "body": _body_schema(operation),
    }
    amendment = AMENDMENTS.get((method, path))
    if amendment and entry["body"] is not None:
        entry["body"] = {"oneOf": [entry["body"], amendment["extra_one_of"]]}
        entry["amended"] = amendment["reason"]
    return entry


def _webhook_schema(description: dict[str, Any], name: str) -> dict[str, Any]:
    body = description["x-webhooks"][name]["post"]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


def example_value(schema: dict[str, Any]) -> Any:
    """A value for `schema` made of the schema's own `example`s: objects hold their required
    properties; a property without an example is left out when optional, else it gets the
    empty value of its type."""
    if "example" in schema and schema.get("type") not in ("object", "array"):
        return schema["example"]
    kind = schema.get("type")
    if "oneOf" in schema or "anyOf" in schema:
        return example_value((schema.get("oneOf") or schema["anyOf"])[0])
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example_value(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if schema.get("nullable"):
        return None
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


def webhook_example(description: dict[str, Any], name: str) -> dict[str, Any]:
    """The example payload of webhook `name` (see `WEBHOOK_EXAMPLES`)."""
    schema = _webhook_schema(description, name)
    top = WEBHOOK_EXAMPLES[name][1]
    payload: dict[str, Any] = {}
    for key, sub in schema["properties"].items():
        payload[key] = top[key] if key in top else example_value(sub)
    return payload


def extract(description: dict[str, Any]) -> dict[str, Any]:
    operations = [
        extract_operation(method, path, description["paths"][path][method])
        for method, path in OPERATIONS
    ]
    return {
        "source": SOURCE,
        "api_version": description["info"]["version"],
        "operations": operations,
        "webhooks": {
            name: strip_schema(_webhook_schema(description, name)) for name in WEBHOOK_EXAMPLES
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    description = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    OUTPUT.write_text(json.dumps(extract(description), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")
    for name, (file_name, _) in WEBHOOK_EXAMPLES.items():
        example = json.dumps(webhook_example(description, name), indent=2, ensure_ascii=False)
        (PAYLOADS / file_name).write_text(example + "\n", encoding="utf-8")
        print(f"wrote {PAYLOADS / file_name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
