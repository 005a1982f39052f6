"""`GET /metrics` of the web process: its own counters plus what every worker recorded in Redis.

Edge. `RedisCollector` is a prometheus-client custom collector: at each scrape it reads the
shared hashes (`bot.telemetry.metrics`) and the Celery queues' lengths in one pipelined trip, so
the numbers are global whichever web instance is scraped. Redis being away costs the shared
families, never the scrape: `golden_path_redis_up` says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, disable_created_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bot.core.queues import EVENTS_QUEUE, RUNS_QUEUE
from bot.telemetry.catalog import SHARED, Kind, Spec
from bot.telemetry.metrics import key

QUEUES = (EVENTS_QUEUE, RUNS_QUEUE)
# kombu's Redis transport keeps a list per queue, plus one per priority step when priorities are
# used (`name\x06\x16N`): a queue's depth is the sum.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
ACTIVE_RUNS_KEY = "gp:active"


class RedisCollector(Collector):
    def __init__(self, client: redis.Redis, specs: tuple[Spec, ...] = SHARED) -> None:
        self._redis = client
        self._specs = specs

    def collect(self) -> Iterator[Metric]:
        try:
            raw = self._read()
        except redis.RedisError:
            yield _gauge("golden_path_redis_up", "Whether Redis answered this scrape.", 0)
            return
        yield _gauge("golden_path_redis_up", "Whether Redis answered this scrape.", 1)
        depth = GaugeMetricFamily(
            "golden_path_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"]
        )
        for queue in QUEUES:
            depth.add_metric([queue], sum(raw.pop(f"len:{queue}{s}") for s in _PRIORITY_SUFFIXES))
        yield depth
        yield _gauge(
            "golden_path_runs_unfinished", "Runs queued or running now.", raw.pop("active")
        )
        for spec in self._specs:
            yield _family(spec, raw)

    def _read(self) -> dict[str, Any]:
        names: list[str] = []
        with self._redis.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
                    names.append(f"len:{queue}{suffix}")
            pipe.scard(ACTIVE_RUNS_KEY)
            names.append("active")
            for spec in self._specs:
                parts = ("bucket", "sum") if spec.kind is Kind.HISTOGRAM else ("",)
                for part in parts:
                    pipe.hgetall(key(spec, part))
                    names.append(key(spec, part))
            values = pipe.execute()
        return dict(zip(names, values, strict=True))


def _family(spec: Spec, raw: dict[str, Any]) -> Metric:
    if spec.kind is Kind.HISTOGRAM:
        return _histogram(spec, raw)
    family: CounterMetricFamily | GaugeMetricFamily = (
        CounterMetricFamily(spec.name, spec.help, labels=list(spec.labels))
        if spec.kind is Kind.COUNTER
        else GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    )
    for field, value in sorted(_decoded(raw[key(spec)]).items()):
        family.add_metric(json.loads(field), float(value))
    return family


def _histogram(spec: Spec, raw: dict[str, Any]) -> Metric:
    family = HistogramMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    buckets = _decoded(raw[key(spec, "bucket")])
    sums = _decoded(raw[key(spec, "sum")])
    bounds = [repr(float(b)) for b in spec.buckets] + ["+Inf"]
    for field, total in sorted(sums.items()):
        running, cumulative = 0.0, []
        for bound in bounds:
            running += float(buckets.get(f"{field}|{bound}", 0))
            cumulative.append((bound, running))
        family.add_metric(json.loads(field), cumulative, float(total))
    return family


def _decoded(mapping: dict[Any, Any]) -> dict[str, str]:
    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    return {text(k): text(v) for k, v in mapping.items()}


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


class WebMetrics:
    """The web process's registry: its in-process delivery counter and the Redis collector.

    Deliveries are counted here, not in Redis, so the webhook's hot path costs no extra round
    trip: this process serves `/metrics` itself (each web instance reports its own)."""

    def __init__(self, client: redis.Redis) -> None:
        disable_created_metrics()  # `_created` samples only add noise to counters here
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "golden_path_deliveries",
            "Webhook deliveries answered, by event (verified ones only) and HTTP status.",
            ["event", "answer"],
            registry=self.registry,
        )
        self.registry.register(RedisCollector(client))
