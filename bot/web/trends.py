"""Per-phase trends over a repository's last runs, and its most frequent failure patterns.

Pure: run records in, plain values out (the plots and templates only draw them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.core.run_model import RunRecord

LAST_RUNS = 30
_RAN = {"passed", "failed", "timed_out"}


@dataclass(frozen=True)
class Point:
    run_id: str
    label: str  # short sha, for tooltips
    pass_rate: float | None
    p95_seconds: float | None
    duration_seconds: float | None


@dataclass
class PhaseTrend:
    phase_id: str
    points: list[Point] = field(default_factory=list)  # oldest first

    def series(self, metric: str) -> list[tuple[str, float]]:
        return [(p.label, v) for p in self.points if (v := getattr(p, metric)) is not None]


def phase_trends(records: Iterable[RunRecord], last: int = LAST_RUNS) -> list[PhaseTrend]:
    """Each phase's pass rate, p95 and duration over the last `last` completed runs that ran it
    (records newest first, as the index gives them)."""
    completed = [r for r in records if r.conclusion is not None and r.verdicts][:last]
    trends: dict[str, PhaseTrend] = {}
    for record in reversed(completed):
        for verdict in record.verdicts:
            if verdict.get("status") not in _RAN:
                continue
            trend = trends.setdefault(verdict["phase_id"], PhaseTrend(verdict["phase_id"]))
            trend.points.append(
                Point(
                    record.run_id,
                    record.head_sha[:7],
                    _number(verdict.get("pass_rate")),
                    _number(verdict.get("p95_seconds")),
                    _number(verdict.get("duration_seconds")),
                )
            )
    return list(trends.values())


def frequent_patterns(records: Iterable[RunRecord], top: int = 5) -> list[dict[str, Any]]:
    """Failure patterns by how many runs they failed, most first, with their latest details."""
    counts: Counter[str] = Counter()
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        for pattern in record.patterns:
            key = str(pattern.get("key", ""))
            counts[key] += 1
            latest.setdefault(key, pattern)
    return [{**latest[key], "runs": n} for key, n in counts.most_common(top)]


def flakiest_tests(records: Iterable[RunRecord], top: int = 5) -> list[tuple[str, int]]:
    """Tests marked flaky most often over these runs."""
    counts: Counter[str] = Counter()
    for record in records:
        for verdict in record.verdicts:
            counts.update(t["id"] for t in verdict.get("tests", ()) if t.get("flaky"))
    return counts.most_common(top)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
