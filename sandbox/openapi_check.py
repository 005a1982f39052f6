"""Check a REST request against the subset of GitHub's OpenAPI description in `openapi/`."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema

SUBSET = Path(__file__).parent / "openapi" / "rest-subset.json"
# Query parameters every list endpoint takes that PyGithub may add on its own.
_ALWAYS_ALLOWED_QUERY = {"per_page", "page"}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    literal_segments: int
    query: dict[str, Any]
    body: dict[str, Any] | None
    body_required: bool


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    # `{path}` (a file path in the contents API) spans slashes; other parameters do not.
    regex = "".join(
        (".+" if p == "{path}" else "[^/]+") if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^{regex}$")


@functools.cache
def operations() -> tuple[Operation, ...]:
    """The operations, most specific template first (more literal segments win)."""
    data = json.loads(SUBSET.read_text(encoding="utf-8"))
    ops = [
        Operation(
            method=entry["method"],
            template=entry["path"],
            operation_id=entry["operationId"],
            pattern=_compile(entry["path"]),
            literal_segments=sum(1 for s in entry["path"].split("/") if s and "{" not in s),
            query=entry["query"],
            body=entry["body"],
            body_required=entry["body_required"],
        )
        for entry in data["operations"]
    ]
    return tuple(sorted(ops, key=lambda op: -op.literal_segments))


def find_operation(method: str, path: str) -> Operation | None:
    path = "/" + path.strip("/")
    for op in operations():
        if op.method == method.upper() and op.pattern.match(path):
            return op
    return None


def _schema_problems(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        location = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where} {location}: {error.message}")
    return problems


def _query_problems(op: Operation, query: dict[str, str]) -> list[str]:
    problems = []
    for name, raw in query.items():
        if name in _ALWAYS_ALLOWED_QUERY:
            continue
        schema = op.query.get(name)
        if schema is None:
            problems.append(f"query {name}: not a parameter of {op.operation_id}")
        elif "enum" in schema and unquote(raw) not in schema["enum"]:
            problems.append(f"query {name}: {raw!r} is not one of {schema['enum']}")
    return problems


def check_request(
    method: str, path: str, body: Any, query: dict[str, str] | None = None
) -> list[str]:
    """Problems with one request; an empty list means GitHub's description allows it."""
    op = find_operation(method, path)
    if op is None:
        return [f"unknown endpoint: {method.upper()} {path}"]
    problems = _query_problems(op, query or {})
    if body is None:
        if op.body_required:
            problems.append(f"body: {op.operation_id} requires a JSON body")
        return problems
    if op.body is None:
        return [*problems, f"body: {op.operation_id} takes no body"]
    return problems + _schema_problems(op.body, body, "body")


@functools.cache
def _webhook_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(SUBSET.read_text(encoding="utf-8")).get("webhooks", {})
    return schemas


def check_webhook(name: str, payload: Any) -> list[str]:
    """Problems with a webhook payload against GitHub's schema of it (`webhooks` in the subset,
    e.g. `deployment-protection-rule-requested`)."""
    schema = _webhook_schemas().get(name)
    if schema is None:
        return [f"unknown webhook: {name}"]
    return _schema_problems(schema, payload, "payload")
