"""The GitHub client against the fake GitHub server (real HTTP, PyGithub unmodified)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from github.GithubRetry import GithubRetry

from bot.github.client import (
    GitHubApp,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    IssueRef,
    PullInfo,
    RepoClient,
)
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHub, FakeGitHubServer, create_fake_github

APP_ID = "4242"
INSTALLATION = 77
REPO = "acme/shop"
HEAD = "a" * 40


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return app_keypair()


@pytest.fixture
def fake(keys: tuple[str, str]) -> Iterator[FakeGitHub]:
    fake = create_fake_github(APP_ID, keys[1])
    fake.add_installation(INSTALLATION)
    fake.add_repo(REPO, clone_url="https://github.example/acme/shop.git")
    fake.add_pull(REPO, 5, head_sha=HEAD, head_ref="fix-login", body="Fixes #3")
    fake.add_pull(
        REPO, 6, head_sha="b" * 40, head_ref="patch", head_full_name="evil/shop", user="eve"
    )
    fake.add_issue(REPO, 3, "Login broken")
    fake.set_permission(REPO, "maint", "maintain")
    fake.set_permission(REPO, "triager", "triage")
    fake.set_permission(REPO, "dev", "write")
    with FakeGitHubServer(fake) as server:
        yield server.fake
    bad = [r for r in fake.requests if r["openapi_problems"]]
    assert not bad, bad  # every request we made is one GitHub's OpenAPI description allows


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _app(
    fake: FakeGitHub, keys: tuple[str, str], clock: Clock | None = None, **options: Any
) -> GitHubApp:
    options = {"seconds_between_requests": None, "seconds_between_writes": None, **options}
    return GitHubApp(APP_ID, keys[0], fake.base_url, clock=clock or Clock(), **options)


@pytest.fixture
def client(fake: FakeGitHub, keys: tuple[str, str]) -> RepoClient:
    return _app(fake, keys).repo_client(INSTALLATION, REPO)


def _token_requests(fake: FakeGitHub) -> int:
    return sum(r["path"].endswith("/access_tokens") for r in fake.requests)


def test_installation_token_is_cached_until_five_minutes_before_expiry(
    fake: FakeGitHub, keys: tuple[str, str]
) -> None:
    clock = Clock()
    app = _app(fake, keys, clock)
    first = app.installation_token(INSTALLATION)
    assert first.startswith("ghs_")
    clock.now += timedelta(minutes=50)  # the fake's tokens live one hour
    assert app.installation_token(INSTALLATION) == first
    assert _token_requests(fake) == 1
    clock.now += timedelta(minutes=6)  # 4 minutes before expiry: refresh
    second = app.installation_token(INSTALLATION)
    assert second != first
    assert _token_requests(fake) == 2


def test_repo_client_follows_a_refreshed_token(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    clock = Clock()
    client = _app(fake, keys, clock).repo_client(INSTALLATION, REPO)
    assert client.permission_of("dev") == "write"
    old = client.token
    fake.expire_tokens()
    clock.now += timedelta(minutes=56)
    assert client.permission_of("dev") == "write"
    assert client.token != old


def test_unknown_installation_is_not_found(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    with pytest.raises(GitHubNotFound):
        _app(fake, keys).installation_token(999)


def test_permissions_keep_maintain_and_triage(client: RepoClient) -> None:
    assert client.permission_of("maint") == "maintain"
    assert client.permission_of("triager") == "triage"
    assert client.permission_of("dev") == "write"
    assert client.permission_of("stranger") in ("none", "read")


def test_get_pull(client: RepoClient) -> None:
    pull = client.get_pull(5)
    assert isinstance(pull, PullInfo)
    assert (pull.number, pull.state, pull.head_sha, pull.head_ref) == (5, "open", HEAD, "fix-login")
    assert pull.body == "Fixes #3" and pull.base_full_name == REPO and not pull.is_fork
    fork = client.get_pull(6)
    assert fork.is_fork and fork.head_full_name == "evil/shop" and fork.user_login == "eve"
    with pytest.raises(GitHubNotFound):
        client.get_pull(404)


def test_comments_reactions_and_sticky_comments(fake: FakeGitHub, client: RepoClient) -> None:
    command = fake.add_comment(REPO, 5, "/golden-path run")
    client.react(command, "eyes")
    assert [r["content"] for r in fake.reactions(command)] == ["eyes"]
    assert client.reply(5, "hello").startswith("http")

    marker = "<!-- golden-path:pr-comment -->"
    fake.add_comment(REPO, 5, f"{marker} a user quoting the bot")  # not ours: never edited
    url = client.upsert_comment(5, marker, f"{marker}\nfirst")
    assert client.upsert_comment(5, marker, f"{marker}\nsecond") == url
    edits_before = sum(r["method"] == "PATCH" for r in fake.requests)
    assert client.upsert_comment(5, marker, f"{marker}\nsecond") == url  # same body: no edit
    assert sum(r["method"] == "PATCH" for r in fake.requests) == edits_before
    bodies = [c["body"] for c in fake.comments(REPO, 5)]
    assert bodies.count(f"{marker}\nsecond") == 1
    assert f"{marker} a user quoting the bot" in bodies
    assert f"{marker}\nfirst" not in bodies


def test_check_runs(fake: FakeGitHub, client: RepoClient) -> None:
    run_id = client.create_check_run(
        name="Golden Path P0", head_sha=HEAD, status="queued", title="Queued", summary="waiting",
        external_id="r1", actions=[{"label": "Run golden path", "description": "Run it",
                                    "identifier": "run"}],
    )  # fmt: skip
    note = {
        "path": "tests/t.py",
        "start_line": 3,
        "end_line": 3,
        "annotation_level": "failure",
        "message": "boom",
        "title": "t.py::test",
    }
    client.update_check_run(run_id, status="in_progress", title="Running", summary="phase 1")
    client.update_check_run(
        run_id, status="completed", conclusion="failure", title="Failed", summary="s",
        text="details", annotations=[note] * 50,
    )  # fmt: skip
    client.update_check_run(run_id, title="Failed", summary="s", annotations=[note] * 2)
    (stored,) = fake.check_runs(REPO, HEAD)
    assert (stored["status"], stored["conclusion"]) == ("completed", "failure")
    assert len(stored["annotations"]) == 52
    assert client.list_check_runs(HEAD, "Golden Path P0") == [
        {
            "id": run_id,
            "name": "Golden Path P0",
            "status": "completed",
            "conclusion": "failure",
            "external_id": "r1",
            "title": "Failed",
            "html_url": f"{fake.base_url}/{REPO}/runs/{run_id}",
            "app_id": int(APP_ID),
        }
    ]
    assert client.list_check_runs(HEAD, "Other") == []
    assert client.check_run_url(run_id) == f"{fake.base_url}/{REPO}/runs/{run_id}"
    assert client.check_run_url(987654) is None
    with pytest.raises(ValueError):
        client.update_check_run(run_id, annotations=[note])  # no title/summary
    with pytest.raises(ValueError):
        client.update_check_run(run_id, title="t", summary="s", annotations=[note] * 51)


def test_issues_and_labels(fake: FakeGitHub, client: RepoClient) -> None:
    marker = "<!-- golden-path:five-whys sig=abc123 -->"
    assert client.find_open_issue("five-whys", marker) is None
    client.ensure_label("five-whys", "5319e7", "why")
    client.ensure_label("five-whys", "5319e7", "why")  # idempotent
    issue = client.create_issue("Five whys: boom", f"{marker}\nbody", ["five-whys"])
    assert isinstance(issue, IssueRef) and issue.url
    assert client.find_open_issue("five-whys", marker) == issue
    assert client.find_open_issue("five-whys", "<!-- other -->") is None

    client.ensure_label("golden-path:failing", "d93f0b", "failing")
    client.add_labels(3, ["golden-path:failing"])
    client.remove_label(3, "golden-path:passing")  # absent: fine
    assert fake.labels_of(REPO, 3) == ["golden-path:failing"]
    client.remove_label(3, "golden-path:failing")
    assert fake.labels_of(REPO, 3) == []


def test_errors_are_translated_without_the_token(fake: FakeGitHub, client: RepoClient) -> None:
    token = client.token
    fake.fail_next("GET", r"/pulls/5$", 422)
    with pytest.raises(GitHubError) as raised:
        client.get_pull(5)
    assert raised.value.status == 422
    assert token not in str(raised.value) and token not in repr(raised.value.args)


def test_server_errors_are_retried(fake: FakeGitHub, client: RepoClient) -> None:
    fake.fail_next("GET", r"/pulls/5$", 502)
    assert client.get_pull(5).number == 5


def test_rate_limit_says_when_to_come_back(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    # No retries here, so the answer reaches the translation at once (the default retry would
    # first wait out the Retry-After).
    retry = GithubRetry(total=0, raise_on_status=False)
    client = _app(fake, keys, retry=retry).repo_client(INSTALLATION, REPO)
    fake.fail_next(
        "GET", r"/pulls/5$", 429, headers={"retry-after": "150"},
        body={"message": "You have exceeded a secondary rate limit."},
    )  # fmt: skip
    with pytest.raises(GitHubRateLimited) as limited:
        client.get_pull(5)
    assert 140 < limited.value.retry_after <= 150
    assert isinstance(limited.value, GitHubError)  # callers may catch the base class


# ---- the memo: a steady-state run skips the reads -------------------------------------------


def _sent(fake: FakeGitHub, since: int) -> list[str]:
    return [f"{r['method']} {r['path'].split('?')[0]}" for r in fake.requests[since:]]


def test_sticky_comment_edits_need_no_listing_once_known(
    fake: FakeGitHub, keys: tuple[str, str]
) -> None:
    app = _app(fake, keys)  # one memo, as every worker shares one in Redis
    marker = "<!-- golden-path:pr-comment -->"
    url = app.repo_client(INSTALLATION, REPO).upsert_comment(5, marker, f"{marker}\nrun 1")
    since = len(fake.requests)
    later = app.repo_client(INSTALLATION, REPO)  # the next run: a new client
    assert later.upsert_comment(5, marker, f"{marker}\nrun 2") == url
    [edit] = _sent(fake, since)  # no listing of the thread first
    assert edit.startswith(f"PATCH /repos/{REPO}/issues/comments/")
    since = len(fake.requests)
    assert later.upsert_comment(5, marker, f"{marker}\nrun 2") == url  # unchanged: nothing sent
    assert _sent(fake, since) == []


def test_a_remembered_comment_deleted_on_github_is_found_or_posted_again(
    fake: FakeGitHub, keys: tuple[str, str]
) -> None:
    app = _app(fake, keys)
    marker = "<!-- golden-path:linked-issue pr=5 -->"
    client = app.repo_client(INSTALLATION, REPO)
    client.upsert_comment(3, marker, f"{marker}\nfirst")
    with fake.state.lock:  # someone deleted it on GitHub
        for comment_id in [i for i, c in fake.state.comments.items() if c["number"] == 3]:
            del fake.state.comments[comment_id]
    client.upsert_comment(3, marker, f"{marker}\nsecond")
    assert [c["body"] for c in fake.comments(REPO, 3)] == [f"{marker}\nsecond"]


def test_labels_the_bot_set_last_are_not_set_again(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    app = _app(fake, keys)
    first, second = app.repo_client(INSTALLATION, REPO), app.repo_client(INSTALLATION, REPO)
    first.ensure_label("golden-path:passing", "0e8a16", "passing")
    first.add_labels(3, ["golden-path:passing"])
    first.remove_label(3, "golden-path:failing")
    since = len(fake.requests)
    second.ensure_label("golden-path:passing", "0e8a16", "passing")  # a green run after a green
    second.add_labels(3, ["golden-path:passing"])
    second.remove_label(3, "golden-path:failing")
    assert _sent(fake, since) == []
    second.add_labels(3, ["golden-path:failing"])  # red: both change
    second.remove_label(3, "golden-path:passing")
    assert fake.labels_of(REPO, 3) == ["golden-path:failing"]


def test_several_failure_patterns_read_the_open_issues_once(
    fake: FakeGitHub, client: RepoClient
) -> None:
    since = len(fake.requests)
    assert client.find_open_issue("five-whys", "<!-- sig=a -->") is None
    created = client.create_issue("Five whys: a", "<!-- sig=a -->", ["five-whys"])
    assert client.find_open_issue("five-whys", "<!-- sig=b -->") is None
    assert client.find_open_issue("five-whys", "<!-- sig=a -->") == created
    assert sum(r.startswith("GET") for r in _sent(fake, since)) == 1


def test_the_fetch_token_reads_only_the_one_repository(
    fake: FakeGitHub, keys: tuple[str, str]
) -> None:
    client = _app(fake, keys).repo_client(INSTALLATION, REPO)
    token = client.fetch_token()
    [asked] = [r for r in fake.requests if r["path"].endswith("/access_tokens")]
    assert asked["json"] == {
        "repositories": [REPO.split("/")[1]],
        "permissions": {"contents": "read"},
    }
    scope = fake.token_scopes[token]  # the sandbox honours what was asked
    assert scope.repositories == (REPO.split("/")[1],) and scope.permissions == {"contents": "read"}
    assert token != client.token  # the bot's own token stays as it was
    owner = REPO.split("/")[0]
    fake.add_repo(f"{owner}/another")
    as_fetcher = RepoClient(lambda: token, f"{owner}/another", base_url=fake.base_url)
    with pytest.raises(GitHubNotFound):  # another repository of the installation: not there
        as_fetcher.get_pull(5)
    same_repo = RepoClient(lambda: token, REPO, base_url=fake.base_url)
    assert same_repo.get_pull(5).head_sha == HEAD  # reading its own repository works
    with pytest.raises(GitHubError):  # contents: read cannot write
        same_repo.react(1, "eyes")


@pytest.mark.parametrize("what", ["check run", "issue"])
def test_a_create_whose_answer_came_too_late_is_found_not_sent_again(
    fake: FakeGitHub, keys: tuple[str, str], what: str
) -> None:
    """GitHub made it but answered past the client's timeout: never a second one."""
    client = _app(fake, keys, timeout=1).repo_client(INSTALLATION, REPO)
    marker = "<!-- golden-path:five-whys late -->"
    issue = client.find_issue("five-whys", marker)  # listed (and kept) before the create
    assert issue is None
    path = "/check-runs$" if what == "check run" else "/issues$"
    fake.fail_next("POST", path, 0, delay=1.5)
    if what == "check run":
        first = client.create_check_run(
            name="Golden Path", head_sha=HEAD, status="queued", title="Q", summary="s",
            external_id="run-late",
        )  # fmt: skip
        assert [r["id"] for r in client.list_check_runs(HEAD, "Golden Path")] == [first]
        return
    with pytest.raises(GitHubError):
        client.create_issue("Five whys: late", f"body\n{marker}", ["five-whys"])
    found = client.find_issue("five-whys", marker)  # listed again, not the stale listing
    assert found is not None
    assert sum(r["method"] == "POST" and r["path"].endswith("/issues") for r in fake.requests) == 1
