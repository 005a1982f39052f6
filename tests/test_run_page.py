"""GET /runs/{id}: the page check runs link to, read from the run's record in Redis."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings
from bot.state.run_records import RunRecord, RunRecords
from bot.web import links

KEY = "link-secret-for-the-run-page-tests"


def _client(redis_url: str) -> TestClient:
    settings = Settings(REDIS_URL=redis_url, GITHUB_WEBHOOK_SECRET="s", GOLDEN_PATH_LINK_SECRET=KEY)
    return TestClient(create_app(settings))


def test_run_page_shows_the_record_escaped(redis_url: str) -> None:
    records = RunRecords(redis.Redis.from_url(redis_url))
    record = records.create(
        RunRecord(
            installation_id=1,
            repo="acme/app",
            pr_number=12,
            head_sha="a" * 40,
            requested_by="<script>alert(1)</script>",
            check_run_id=99,
            task_id="secret-task-id",
        )
    )
    records.finish(record.run_id, "failure", "Superseded by bbbbbbb.")
    client = _client(redis_url)

    assert client.get(f"/runs/{record.run_id}").status_code == 404  # no signed link
    page = client.get(f"/runs/{record.run_id}?token={links.sign(record.run_id, KEY)}")
    assert page.status_code == 200
    assert "acme/app#12" in page.text and "failure" in page.text
    assert "Superseded by bbbbbbb." in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "secret-task-id" not in page.text

    as_json = client.get(
        f"/runs/{record.run_id}?token={links.sign(record.run_id, KEY)}",
        headers={"Accept": "application/json"},
    )
    assert as_json.json()["conclusion"] == "failure"
    assert "task_id" not in as_json.json()


def test_unknown_or_malformed_run_ids_are_404(redis_url: str) -> None:
    client = _client(redis_url)
    assert client.get("/runs/0123456789ab").status_code == 404
    assert client.get("/runs/..%2F..%2Fetc").status_code == 404


def _key(**env: str) -> str | None:
    return Settings(**env).link_key()


def test_links_are_signed_by_the_link_secret_else_the_session_secret_else_the_webhooks() -> None:
    """Issue 9: without a valid token `/runs/<id>` is 404, whichever secrets are configured; the
    webhook secret itself never signs (a key is derived from it)."""
    both = _key(GOLDEN_PATH_LINK_SECRET="L", GOLDEN_PATH_SESSION_SECRET="S")
    assert both == "L"
    assert _key(GOLDEN_PATH_SESSION_SECRET="S", GITHUB_WEBHOOK_SECRET="w") == "S"
    derived = _key(GITHUB_WEBHOOK_SECRET="w")
    assert derived is not None and derived != "w"
    assert derived != _key(GITHUB_WEBHOOK_SECRET="other")
    assert _key() is None


def test_a_bot_without_link_or_session_secret_still_serves_only_signed_links(
    redis_url: str,
) -> None:
    records = RunRecords(redis.Redis.from_url(redis_url))
    record = records.create(
        RunRecord(installation_id=1, repo="acme/private", pr_number=3, head_sha="b" * 40)
    )
    records.finish(record.run_id, "failure", "setup step 'Deploy' failed")
    settings = Settings(REDIS_URL=redis_url, GITHUB_WEBHOOK_SECRET="s")
    client = TestClient(create_app(settings))
    key = settings.link_key()
    assert key is not None
    link = links.run_url("", record.run_id, key)
    assert "?token=" in link
    assert client.get(link).status_code == 200
    anonymous = client.get(f"/runs/{record.run_id}")
    assert anonymous.status_code == 404 and "acme/private" not in anonymous.text
    assert (
        client.get(f"/runs/{record.run_id}?token={links.sign(record.run_id, 's')}").status_code
        == 404
    )
    no_keys = TestClient(create_app(Settings(REDIS_URL=redis_url)))
    assert no_keys.get(link).status_code == 404
