"""`GET /metrics`: what workers record in Redis and what web counts itself, in one scrape."""

from __future__ import annotations

import re

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.settings import Settings
from bot.state.run_records import RunRecord, RunRecords
from bot.telemetry.metrics import RedisMetrics
from sandbox import webhook_delivery


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_scrape_shows_runs_phases_lock_wait_github_and_queue_depth(redis_server_factory) -> None:
    server = redis_server_factory()
    client = redis.Redis.from_url(server.url)
    records = RunRecords(client)
    record = records.create(RunRecord(installation_id=7, repo="acme/app", head_sha="a" * 40))
    records.start(record.run_id, worker="w", task_id="t")
    verdicts = [
        {"phase_id": "auth", "status": "passed", "duration_seconds": 3.0},
        {"phase_id": "agent", "status": "not_run", "duration_seconds": 0.0},
    ]
    records.finish(record.run_id, "success", verdicts=verdicts)
    records.finish(record.run_id, "failure")  # a second finish is declined: counted once
    recorder = RedisMetrics(client)
    recorder.lock_waited(2.5)
    recorder.github_response(7, "GET", "/repos/acme/app/pulls/1", "2xx", "4999", "acme/app")
    recorder.github_response(7, "PATCH", "/repos/acme/app/check-runs/9", 422, "4998", "acme/app")
    client.rpush("runs", b"task-1", b"task-2")

    app = create_app(Settings(REDIS_URL=server.url, GITHUB_WEBHOOK_SECRET="s"))
    with TestClient(app) as web:
        text = web.get("/metrics").text
    got = samples(text)

    assert got[("golden_path_runs_total", (("conclusion", "success"),))] == 1
    assert ("golden_path_runs_total", (("conclusion", "failure"),)) not in got
    assert got[("golden_path_run_duration_seconds_count", (("conclusion", "success"),))] == 1
    assert got[("golden_path_phase_duration_seconds_count", (("status", "passed"),))] == 1
    assert got[("golden_path_phase_duration_seconds_sum", (("status", "passed"),))] == 3.0
    assert ("golden_path_phase_duration_seconds_count", (("status", "not_run"),)) not in got
    assert got[("golden_path_lock_wait_seconds_bucket", (("le", "1.0"),))] == 0
    assert got[("golden_path_lock_wait_seconds_bucket", (("le", "5.0"),))] == 1
    pulls = (("endpoint", "/repos/{owner}/{repo}/pulls/{n}"), ("method", "GET"), ("status", "2xx"))
    assert got[("golden_path_github_requests_total", pulls)] == 1
    assert got[("golden_path_github_rate_limit_remaining", (("installation", "7"),))] == 4998
    assert got[("golden_path_queue_depth", (("queue", "runs"),))] == 2
    assert got[("golden_path_queue_depth", (("queue", "events"),))] == 0
    assert got[("golden_path_redis_up", ())] == 1


def test_deliveries_counted_by_event_and_answer_unsigned_ones_unlabelled(redis_url) -> None:
    secret = b"metrics-secret"
    app = create_app(Settings(REDIS_URL=redis_url, GITHUB_WEBHOOK_SECRET=secret.decode()))
    with TestClient(app) as web:
        body = webhook_delivery.json_body({"zen": "hi", "hook_id": 1})
        web.post(
            "/webhook",
            content=body,
            headers=webhook_delivery.delivery_headers("ping", body, secret),
        )
        forged = webhook_delivery.delivery_headers("made_up_event_name", body, b"wrong")
        web.post("/webhook", content=body, headers=forged)
        got = samples(web.get("/metrics").text)
    assert got[("golden_path_deliveries_total", (("answer", "200"), ("event", "ping")))] == 1
    assert got[("golden_path_deliveries_total", (("answer", "401"), ("event", "unverified")))] == 1
    assert not any("made_up_event_name" in str(labels) for _, labels in got)


def test_metrics_token_required_when_set(redis_url) -> None:
    settings = Settings(REDIS_URL=redis_url, GOLDEN_PATH_METRICS_TOKEN="scrape-token-123")
    with TestClient(create_app(settings)) as web:
        assert web.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert web.get("/metrics", headers=wrong).status_code == 401
        right = web.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert right.status_code == 200
    assert re.search(r"^golden_path_redis_up 1\.0$", right.text, re.M)


def test_scrape_survives_redis_being_away(redis_server_factory) -> None:
    server = redis_server_factory()
    url = server.url
    server.stop()
    with TestClient(create_app(Settings(REDIS_URL=url))) as web:
        answer = web.get("/metrics")
    assert answer.status_code == 200
    assert samples(answer.text)[("golden_path_redis_up", ())] == 0
