"""What the dashboard's pages show, decided from plain values: filters, pages, live progress.

Pure: query strings and run records in, values out; the routes (`bot.web.dashboard`) read Redis
and GitHub, the templates only lay these out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from bot.core.run_model import RunRecord

PAGE_SIZE = 25
MAX_PAGE = 200
CONCLUSIONS = ("success", "failure", "cancelled", "timed_out", "queued", "running")
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100}")
_ENVIRONMENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
T = TypeVar("T")


@dataclass(frozen=True)
class Filters:
    repo: str | None = None
    pr: int | None = None
    environment: str | None = None
    conclusion: str | None = None
    page: int = 1

    def query(self, page: int) -> str:
        """The query string of this filter's `page`."""
        values = {"repo": self.repo, "pr": self.pr, "environment": self.environment}
        values |= {"conclusion": self.conclusion, "page": page}
        return urlencode({k: v for k, v in values.items() if v is not None})


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Unknown or malformed values are dropped (an empty filter), never an error page."""
    repo = query.get("repo", "")
    pr = query.get("pr", "")
    environment = query.get("environment", "")
    conclusion = query.get("conclusion", "")
    page = query.get("page", "")
    return Filters(
        repo=repo if _REPO.fullmatch(repo) else None,
        pr=int(pr) if pr.isdigit() and len(pr) < 10 else None,
        environment=environment if _ENVIRONMENT.fullmatch(environment) else None,
        conclusion=conclusion if conclusion in CONCLUSIONS else None,
        page=min(int(page), MAX_PAGE) if page.isdigit() and 0 < len(page) < 5 and int(page) else 1,
    )


def outcome(record: RunRecord) -> str:
    """`success`, `failure`, ... once concluded; `queued` or `running` before."""
    return record.conclusion or record.state.value


def matches(record: RunRecord, filters: Filters) -> bool:
    return (
        (filters.repo is None or record.repo == filters.repo)
        and (filters.pr is None or record.pr_number == filters.pr)
        and (filters.environment is None or record.environment == filters.environment)
        and (filters.conclusion is None or outcome(record) == filters.conclusion)
    )


def page_of(items: Sequence[T], page: int, size: int = PAGE_SIZE) -> tuple[list[T], bool]:
    """The items of `page` (from 1) and whether there is a next page."""
    start = (page - 1) * size
    return list(items[start : start + size]), len(items) > start + size


def visible(records: Iterable[RunRecord], readable: frozenset[str]) -> list[RunRecord]:
    """Only runs of repositories GitHub says the viewer can read."""
    return [r for r in records if r.repo in readable]


def progress(record: RunRecord) -> dict[str, Any]:
    """What a live run page needs to update itself (sent as a server-sent event)."""
    return {
        "state": record.state.value,
        "conclusion": record.conclusion,
        "current_phase": record.current_phase,
        "phases": [
            {
                "phase_id": v.get("phase_id"),
                "status": v.get("status"),
                "passed": v.get("passed", 0),
                "total": v.get("total", 0),
            }
            for v in record.verdicts
        ],
    }


def percent(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "—"


def secs(value: Any) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else "—"
