"""The metrics every process may record, by name: kind, help text, labels and buckets.

Core: plain values. Workers add to them in Redis (`bot.telemetry.metrics`); the web process reads
them back at scrape time and serves them, with its own in-process ones, at `GET /metrics`.
Labels are closed sets or ids the bot controls, never user text (a label per value would let an
input grow the scrape without bound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


@dataclass(frozen=True)
class Spec:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


RUNS = Spec("golden_path_runs", Kind.COUNTER, "Runs concluded, by conclusion.", ("conclusion",))
RUN_DURATION = Spec(
    "golden_path_run_duration_seconds",
    Kind.HISTOGRAM,
    "Wall time of a run from its start to its conclusion.",
    ("conclusion",),
    (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
PHASE_DURATION = Spec(
    "golden_path_phase_duration_seconds",
    Kind.HISTOGRAM,
    "Wall time of a phase that ran, by its status.",
    ("status",),
    (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
LOCK_WAIT = Spec(
    "golden_path_lock_wait_seconds",
    Kind.HISTOGRAM,
    "Time a run waited for its environment (staging) before it could start.",
    (),
    (0.1, 1, 5, 15, 30, 60, 300, 900, 1800, 3600),
)
GITHUB_REQUESTS = Spec(
    "golden_path_github_requests",
    Kind.COUNTER,
    "Requests to GitHub's REST API, by method, endpoint template and HTTP status.",
    ("method", "endpoint", "status"),
)
RATE_REMAINING = Spec(
    "golden_path_github_rate_limit_remaining",
    Kind.GAUGE,
    "Requests left in GitHub's rate-limit window, per installation, as last seen.",
    ("installation",),
)

SHARED = (RUNS, RUN_DURATION, PHASE_DURATION, LOCK_WAIT, GITHUB_REQUESTS, RATE_REMAINING)

_ID = re.compile(r"^\d+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_AFTER_NAMED = {
    "labels": "{name}",
    "contents": "{path}",
    "ref": "{ref}",
    "refs": "{ref}",
    "collaborators": "{username}",  # one label per commenter would grow without bound
}


def endpoint_template(path: str, repo: str | None = None) -> str:
    """`/repos/acme/app/issues/5/labels/x` -> `/repos/{owner}/{repo}/issues/{n}/labels/{name}`.

    Numbers, commit shas and the names that follow `labels/`, `contents/`, `refs/` and
    `collaborators/` become placeholders, so the label set stays the size of the bot's own code."""
    path = path.split("?", 1)[0]
    if repo and path.startswith(f"/repos/{repo}"):
        path = "/repos/{owner}/{repo}" + path[len(f"/repos/{repo}") :]
    out: list[str] = []
    for segment in path.split("/"):
        previous = out[-1] if out else ""
        if previous in _AFTER_NAMED:
            out.append(_AFTER_NAMED[previous])
            if previous in ("contents", "ref", "refs"):
                break  # the rest is a path or a ref name
        elif _ID.match(segment):
            out.append("{n}")
        elif _SHA.match(segment):
            out.append("{sha}")
        else:
            out.append(segment)
    return "/".join(out)[:120]
