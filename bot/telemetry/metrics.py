"""Metrics recorded in Redis, so that every process on every machine adds to the same numbers.

Edge. A counter is a hash field per label set (`HINCRBYFLOAT`), a histogram a field per label set
and bucket plus a sum, a gauge a field holding the last value. Recording never raises:
a metric lost while Redis is away is better than a run or an event task failing over it. The web
process reads these hashes at scrape time (`bot.telemetry.collector`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import redis

from bot.telemetry.catalog import (
    GITHUB_REQUESTS,
    LOCK_WAIT,
    PHASE_DURATION,
    RATE_REMAINING,
    RUN_DURATION,
    RUNS,
    Kind,
    Spec,
    endpoint_template,
)

log = logging.getLogger(__name__)
PREFIX = "gp:metrics"
_PHASE_RAN = {"passed", "failed", "timed_out"}


class Pipeline(Protocol):
    def hincrbyfloat(self, name: str, key: str, amount: float) -> Any: ...
    def hincrby(self, name: str, key: str, amount: int) -> Any: ...
    def hset(self, name: str, key: str, value: Any) -> Any: ...


def key(spec: Spec, part: str = "") -> str:
    return f"{PREFIX}:{spec.name}{':' + part if part else ''}"


def label_field(spec: Spec, labels: Mapping[str, Any]) -> str:
    """The label values in the spec's order, as a JSON list (a hash field)."""
    return json.dumps([str(labels.get(name, "")) for name in spec.labels])


def bucket_of(spec: Spec, value: float) -> str:
    for bound in spec.buckets:
        if value <= bound:
            return repr(float(bound))
    return "+Inf"


def add(pipe: Pipeline, spec: Spec, labels: Mapping[str, Any], value: float = 1.0) -> None:
    """Queue one observation on `pipe` (a counter's increment, a histogram's sample, a gauge)."""
    field = label_field(spec, labels)
    if spec.kind is Kind.COUNTER:
        pipe.hincrbyfloat(key(spec), field, value)
    elif spec.kind is Kind.GAUGE:
        pipe.hset(key(spec), field, value)
    else:
        pipe.hincrby(key(spec, "bucket"), f"{field}|{bucket_of(spec, value)}", 1)
        pipe.hincrbyfloat(key(spec, "sum"), field, value)  # the count is the +Inf bucket


def add_run_concluded(
    pipe: Pipeline,
    conclusion: str,
    duration_seconds: float | None,
    phases: Sequence[Mapping[str, Any]],
) -> None:
    """A run's completion: its count, its duration and each phase that ran (run records call
    this inside the transaction that completes the run, so it counts exactly once)."""
    add(pipe, RUNS, {"conclusion": conclusion})
    if duration_seconds is not None:
        add(pipe, RUN_DURATION, {"conclusion": conclusion}, max(0.0, duration_seconds))
    for phase in phases:
        status, seconds = phase.get("status"), phase.get("duration_seconds")
        if status in _PHASE_RAN and isinstance(seconds, int | float):
            add(pipe, PHASE_DURATION, {"status": status}, float(seconds))


class RedisMetrics:
    """What workers (and the web's own GitHub calls) record; each call one pipelined trip."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def lock_waited(self, seconds: float) -> None:
        self._send(lambda pipe: add(pipe, LOCK_WAIT, {}, seconds))

    def github_response(
        self,
        installation_id: int | str | None,
        method: str,
        path: str,
        status: int | str,
        remaining: str | None,
        repo: str | None = None,
    ) -> None:
        """One answer from GitHub: counted by endpoint template; the rate budget remembered."""

        def record(pipe: Pipeline) -> None:
            labels = {"method": method, "endpoint": endpoint_template(path, repo), "status": status}
            add(pipe, GITHUB_REQUESTS, labels)
            if remaining is not None and remaining.isdigit() and installation_id is not None:
                add(pipe, RATE_REMAINING, {"installation": installation_id}, int(remaining))

        self._send(record)

    def _send(self, build: Any) -> None:
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                build(pipe)
                pipe.execute()
        except redis.RedisError as error:
            log.debug("metric not recorded: %s", error)
