"""The dashboard through the real app: sign-in against the sandbox's OAuth endpoints, who sees
which runs, signed run links, the live-progress stream, security headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings
from bot.state.run_records import RunRecord, RunRecords
from bot.web import links
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHubServer

SESSION_SECRET = "session-secret-for-tests-0123456789"


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHubServer]:
    _, public = app_keypair()
    server = FakeGitHubServer(app_id="1", public_key_pem=public).start()
    fake = server.fake
    fake.add_installation(77)
    for repo in ("acme/app", "acme/secret"):
        fake.add_repo(repo, private=True)
    fake.set_permission("acme/app", "octocat", "write")
    fake.set_permission("acme/secret", "octocat", "read")
    fake.set_permission("acme/app", "mallory", "read")
    yield server
    server.stop()


@pytest.fixture
def web(
    github: FakeGitHubServer, redis_server_factory: Any
) -> Iterator[tuple[TestClient, RunRecords]]:
    server = redis_server_factory()
    settings = Settings(
        REDIS_URL=server.url,
        GITHUB_API_URL=github.url,
        GITHUB_OAUTH_URL=github.url,
        GITHUB_CLIENT_ID=github.fake.oauth.client_id,
        GITHUB_CLIENT_SECRET=github.fake.oauth.client_secret,
        GOLDEN_PATH_SESSION_SECRET=SESSION_SECRET,
    )
    with TestClient(create_app(settings)) as client:
        yield client, RunRecords(redis.Redis.from_url(server.url))


def sign_in(client: TestClient, github: FakeGitHubServer, login: str) -> httpx.Response:
    """The browser's trip: /login -> GitHub's authorize -> back to /auth/callback."""
    github.fake.oauth.sign_in(login)
    to_github = client.get("/login?next=/repos/acme/app", follow_redirects=False)
    assert to_github.status_code == 302
    back = httpx.get(to_github.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    return client.get(back.headers["location"], follow_redirects=False)


def make_run(records: RunRecords, repo: str, **fields: Any) -> RunRecord:
    return records.create(RunRecord(installation_id=77, repo=repo, head_sha="c" * 40, **fields))


def test_sign_in_uses_state_and_pkce_and_keeps_the_token_out_of_the_cookie(web, github):
    client, _ = web
    done = sign_in(client, github, "octocat")
    assert done.status_code == 303 and done.headers["location"] == "/repos/acme/app"
    sent = github.fake.oauth.authorizations[-1]
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) >= 43
    assert sent["state"] and sent["redirect_uri"].endswith("/auth/callback")
    cookie = done.headers["set-cookie"]
    assert "gp_session=" in cookie and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "ghu_" not in cookie
    assert "Signed in as <strong>octocat</strong>" in client.get("/").text


def test_a_forged_state_signs_nobody_in(web, github):
    client, _ = web
    github.fake.oauth.sign_in("octocat")
    to_github = client.get("/login", follow_redirects=False)
    back = httpx.get(to_github.headers["location"], follow_redirects=False)
    query = parse_qs(urlsplit(back.headers["location"]).query)
    forged = client.get(f"/auth/callback?code={query['code'][0]}&state=forged")
    assert forged.status_code == 400
    assert "Signed in as" not in client.get("/").text


def test_users_see_only_runs_of_repositories_github_lets_them_read(web, github):
    client, records = web
    mine = make_run(records, "acme/app", pr_number=1)
    secret = make_run(records, "acme/secret", pr_number=2)
    sign_in(client, github, "mallory")
    page = client.get("/").text
    assert mine.run_id in page and secret.run_id not in page
    assert client.get(f"/runs/{secret.run_id}").status_code == 404
    assert client.get(f"/runs/{mine.run_id}").status_code == 200
    assert client.get("/repos/acme/secret").status_code == 404
    assert client.get("/?repo=acme/secret").text.count(secret.run_id) == 0


def test_filters_and_pages(web, github):
    client, records = web
    for number in range(1, 31):
        make_run(records, "acme/app", pr_number=number, environment="staging")
    sign_in(client, github, "octocat")
    first = client.get("/?repo=acme/app").text
    assert 'rel="next"' in first
    only_7 = client.get("/?repo=acme/app&pr=7").text
    assert "<td>#7</td>" in only_7 and "<td>#8</td>" not in only_7


def test_run_page_opens_with_its_signed_link_and_is_404_otherwise(web):
    client, records = web
    run = make_run(records, "acme/app", pr_number=4)
    other = make_run(records, "acme/app", pr_number=5)
    good = links.sign(run.run_id, SESSION_SECRET)
    assert client.get(f"/runs/{run.run_id}?token={good}").status_code == 200
    assert client.get(f"/runs/{run.run_id}").status_code == 404
    assert client.get(f"/runs/{run.run_id}?token=nope").status_code == 404
    assert client.get(f"/runs/{other.run_id}?token={good}").status_code == 404
    missing = client.get(f"/runs/0123456789ab?token={links.sign('0123456789ab', SESSION_SECRET)}")
    assert missing.status_code == 404
    # the same answer whether the run exists or not
    absent = client.get("/runs/0123456789ab").text.replace("0123456789ab", "ID")
    assert absent == client.get(f"/runs/{run.run_id}").text.replace(run.run_id, "ID")


def test_pages_carry_a_strict_content_security_policy(web):
    client, records = web
    run = make_run(records, "acme/app", pr_number=4)
    page = client.get(f"/runs/{run.run_id}?token={links.sign(run.run_id, SESSION_SECRET)}")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text and "style=" not in page.text
    assert client.get("/static/live.js").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404


def test_event_stream_sends_progress_and_ends_with_the_run(web):
    client, records = web
    run = make_run(records, "acme/app", pr_number=4)
    records.start(run.run_id, worker="w", task_id="t")
    verdicts = [{"phase_id": "auth", "status": "passed", "passed": 2, "total": 2}]
    records.finish(run.run_id, "success", verdicts=verdicts)
    token = links.sign(run.run_id, SESSION_SECRET)
    with client.stream("GET", f"/runs/{run.run_id}/events?token={token}") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        body = "".join(stream.iter_text())
    data = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    assert data[-1]["state"] == "completed" and data[-1]["conclusion"] == "success"
    assert data[-1]["phases"] == [{"phase_id": "auth", "status": "passed", "passed": 2, "total": 2}]
    assert client.get(f"/runs/{run.run_id}/events").status_code == 404


def test_repository_page_draws_trend_plots(web, github):
    client, records = web
    for rate in (1.0, 0.5, 1.0):
        run = make_run(records, "acme/app", pr_number=9)
        records.start(run.run_id, worker="w", task_id="t")
        verdict = {
            "phase_id": "auth",
            "status": "passed" if rate == 1.0 else "failed",
            "pass_rate": rate,
            "p95_seconds": 1.5,
            "duration_seconds": 4.0,
        }
        records.finish(run.run_id, "success" if rate == 1.0 else "failure", verdicts=[verdict])
    sign_in(client, github, "octocat")
    page = client.get("/repos/acme/app").text
    assert page.count('<svg class="plot"') == 3
    assert "auth: pass rate" in page and page.count("<circle") >= 9


def test_sign_in_off_without_an_oauth_client(redis_url):
    with TestClient(create_app(Settings(REDIS_URL=redis_url))) as client:
        assert client.get("/login").status_code == 404
        assert "Sign in with GitHub" not in client.get("/").text


def test_sign_out_forgets_the_session(web, github):
    client, _ = web
    sign_in(client, github, "octocat")
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert "Signed in as" not in client.get("/").text


def test_manifest_sends_sign_in_back_to_the_dashboard():
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[1] / "app.yaml").read_text())
    assert all(url.endswith("/auth/callback") for url in manifest["callback_urls"])
    assert manifest["request_oauth_on_install"] is False


def test_environment_queue_shows_the_holder_and_the_waiters_in_order(web, github):
    from bot.state.env_lock import EnvironmentLock

    client, records = web
    runs = [make_run(records, "acme/app", pr_number=n, environment="staging") for n in (11, 12, 13)]
    client_redis = records._redis  # the same Redis the page reads
    for run in runs:
        EnvironmentLock(client_redis, "acme/app", "staging", run.run_id).join()
    assert (
        EnvironmentLock(client_redis, "acme/app", "staging", runs[0].run_id).try_acquire().holding
    )
    sign_in(client, github, "octocat")
    page = client.get("/").text
    queue = page[page.index('id="environments"') :]
    holder_at, first_at, second_at = (queue.index(f"acme/app#{n} at") for n in (11, 12, 13))
    assert holder_at < first_at < second_at
    row = queue[queue.index("<td>staging</td>") :]
    assert f'href="/runs/{runs[0].run_id}"' in row.split("</td>")[1]  # the holder's cell
