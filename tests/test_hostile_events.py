"""Issue 9's reproductions on the events path: the handlers, the real GitHub client (PyGithub
unmodified) against the sandbox's fake GitHub, and real Redis for run records and replies.

A 64 KB comment, another App's check run, an old commit's button: each costs a bounded amount,
posts at most what the contract allows and trusts only what this App wrote."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from bot.core.events import CheckRunEvent, MergeGroupEvent
from bot.github.client import GitHubApp, RepoClient
from bot.handlers import router
from bot.handlers.comments import MAX_COMMAND_LINES, reply_marker
from bot.handlers.context import Context
from bot.state.comment_replies import CommentReplies
from bot.state.run_records import RunRecords
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHub, FakeGitHubServer, create_fake_github
from tests.factories import comment_event
from tests.fakes.launcher import RecordingLauncher

APP_ID = "4242"
INSTALLATION = 77
HEAD = "a" * 40
OLD = "b" * 40


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return app_keypair()


@pytest.fixture
def repo() -> str:
    return f"acme/shop-{uuid.uuid4().hex[:8]}"  # records in the shared Redis never collide


@pytest.fixture
def fake(keys: tuple[str, str], repo: str) -> Iterator[FakeGitHub]:
    fake = create_fake_github(APP_ID, keys[1])
    fake.add_installation(INSTALLATION)
    fake.add_repo(repo)
    fake.add_pull(repo, 7, head_sha=HEAD, head_ref="fix", body="Fixes #8")
    fake.add_pull(repo, 8, head_sha="c" * 40, head_ref="other")
    fake.set_permission(repo, "reader", "read")
    fake.set_permission(repo, "dev", "write")
    with FakeGitHubServer(fake) as server:
        yield server.fake
    bad = [r for r in fake.requests if r["openapi_problems"]]
    assert not bad, bad


@pytest.fixture
def client(fake: FakeGitHub, keys: tuple[str, str], repo: str) -> RepoClient:
    app = GitHubApp(
        APP_ID, keys[0], fake.base_url, seconds_between_requests=None, seconds_between_writes=None
    )
    return app.repo_client(INSTALLATION, repo)


@pytest.fixture
def launcher() -> RecordingLauncher:
    return RecordingLauncher()


def context(client: RepoClient, redis_url: str, launcher: RecordingLauncher, **kw: Any) -> Context:
    store = redis.Redis.from_url(redis_url)
    fields: dict[str, Any] = {
        "github": client,
        "runs": RunRecords(store),
        "launcher": launcher,
        "installation_id": INSTALLATION,
        "replies": CommentReplies(store),
        "app_id": APP_ID,
        **kw,
    }
    return Context(**fields)


def handle(event: Any, ctx: Context) -> None:
    assert router.dispatch(event, ctx) >= 1


# --- comments: a bounded answer, once --------------------------------------------------------


def test_a_64_kb_comment_from_a_reader_gets_one_reply_and_one_reaction(
    fake: FakeGitHub, client: RepoClient, redis_url: str, launcher: RecordingLauncher, repo: str
) -> None:
    """Issue 9: one 64 KB comment from a read-only user produced 4,300 replies and reactions."""
    body = ("/golden-path run\n" * 4_000)[:65_000]
    comment_id = fake.add_comment(repo, 7, body, user="reader")
    event = comment_event(
        repo=repo,
        installation_id=INSTALLATION,
        number=7,
        comment_id=comment_id,
        body=body,
        author="reader",
        sender="reader",
    )
    handle(event, context(client, redis_url, launcher))

    bot_comments = [c for c in fake.comments(repo, 7) if c["user"]["type"] == "Bot"]
    assert len(bot_comments) == 1
    [reply] = bot_comments
    assert reply["body"].startswith(reply_marker(comment_id))
    assert "read" in reply["body"] and "were ignored" in reply["body"]
    lines = body.count("/golden-path run")
    assert f"the other {lines - MAX_COMMAND_LINES} were ignored" in reply["body"]
    assert [r["content"] for r in fake.reactions(comment_id)] == ["confused"]
    permission_asks = [r for r in fake.requests if r["path"].endswith("/permission")]
    assert len(permission_asks) <= MAX_COMMAND_LINES
    assert launcher.launched == []


@pytest.mark.parametrize("memo_kept", [True, False])
def test_handling_a_comment_again_posts_nothing_twice(
    fake: FakeGitHub,
    client: RepoClient,
    redis_url: str,
    launcher: RecordingLauncher,
    repo: str,
    memo_kept: bool,
) -> None:
    """A retried task (its memo kept) or a redelivery or a task whose worker died (memo lost):
    the reply is claimed in Redis and found by its marker; the reaction is not repeated."""
    body = "/golden-path status\n/golden-path help\n/golden-path frobnicate"
    comment_id = fake.add_comment(repo, 7, body, user="reader")
    event = comment_event(
        repo=repo,
        installation_id=INSTALLATION,
        number=7,
        comment_id=comment_id,
        body=body,
        author="reader",
        sender="reader",
    )
    ctx = context(client, redis_url, launcher)
    handle(event, ctx)
    handle(event, context(client, redis_url, launcher, memo=ctx.memo if memo_kept else {}))
    bot_comments = [c for c in fake.comments(repo, 7) if c["user"]["type"] == "Bot"]
    assert len(bot_comments) == 1
    assert len(fake.reactions(comment_id)) == 1


def test_an_attempt_that_claimed_but_never_posted_is_completed_by_the_next(
    fake: FakeGitHub, client: RepoClient, redis_url: str, launcher: RecordingLauncher, repo: str
) -> None:
    comment_id = fake.add_comment(repo, 7, "/golden-path help", user="reader")
    event = comment_event(
        repo=repo,
        installation_id=INSTALLATION,
        number=7,
        comment_id=comment_id,
        body="/golden-path help",
        author="reader",
        sender="reader",
    )
    assert CommentReplies(redis.Redis.from_url(redis_url)).claim(repo, comment_id)  # then died
    handle(event, context(client, redis_url, launcher))
    assert len([c for c in fake.comments(repo, 7) if c["user"]["type"] == "Bot"]) == 1


def test_ten_command_lines_are_all_answered_in_one_reply(
    fake: FakeGitHub, client: RepoClient, redis_url: str, launcher: RecordingLauncher, repo: str
) -> None:
    body = "\n".join(["/golden-path status", "/golden-path frobnicate"] * 5)
    comment_id = fake.add_comment(repo, 7, body, user="reader")
    event = comment_event(
        repo=repo,
        installation_id=INSTALLATION,
        number=7,
        comment_id=comment_id,
        body=body,
        author="reader",
        sender="reader",
    )
    handle(event, context(client, redis_url, launcher))
    [reply] = [c for c in fake.comments(repo, 7) if c["user"]["type"] == "Bot"]
    assert "frobnicate" in reply["body"] and "were ignored" not in reply["body"]
    assert len(fake.reactions(comment_id)) == 1


# --- check runs: only this App's, only the commit asked about ---------------------------------


def test_merge_queue_reuse_trusts_only_this_apps_check_runs(
    fake: FakeGitHub, client: RepoClient, redis_url: str, launcher: RecordingLauncher, repo: str
) -> None:
    """Issue 9: `reuse` trusted a check run of the same name from any App."""
    fake.add_check_run(repo, head_sha=HEAD, name="Golden Path P0", app_id="999")
    group = "d" * 40
    event = MergeGroupEvent(
        delivery_id="d",
        installation_id=INSTALLATION,
        repo=repo,
        action="checks_requested",
        sender="dev",
        head_sha=group,
        head_ref=f"refs/heads/gh-readonly-queue/main/pr-7-{HEAD}",
        base_ref="refs/heads/main",
        reason=None,
    )
    handle(event, context(client, redis_url, launcher))
    [check] = fake.check_runs(repo, group)
    assert check["conclusion"] == "failure" and "#7" in check["output"]["summary"]

    fake.add_check_run(repo, head_sha=HEAD, name="Golden Path P0")  # this App's own
    again = "e" * 40
    handle(
        MergeGroupEvent(**{**event.__dict__, "head_sha": again}),
        context(client, redis_url, launcher),
    )
    [check] = fake.check_runs(repo, again)
    assert check["conclusion"] == "success"


@pytest.mark.parametrize("action", ["requested_action", "rerequested"])
def test_a_button_on_an_old_commits_check_run_starts_nothing_and_says_so(
    fake: FakeGitHub,
    client: RepoClient,
    redis_url: str,
    launcher: RecordingLauncher,
    repo: str,
    action: str,
) -> None:
    """Issue 9: "Run golden path" on an old commit's check run ran the live head."""
    old_check = fake.add_check_run(
        repo, head_sha=OLD, name="Golden Path P0", conclusion="action_required"
    )
    event = CheckRunEvent(
        delivery_id="d",
        installation_id=INSTALLATION,
        repo=repo,
        action=action,
        sender="dev",
        check_run_id=old_check,
        name="Golden Path P0",
        head_sha=OLD,
        external_id="",
        requested_action="run" if action == "requested_action" else None,
        app_id=int(APP_ID),
        pull_requests=(7,),
    )
    handle(event, context(client, redis_url, launcher))
    assert launcher.launched == []
    assert fake.check_runs(repo, HEAD) == []  # nothing created for the live head
    [check] = fake.check_runs(repo, OLD)
    assert check["output"]["title"].startswith(f"Not started: {OLD[:7]} is no longer the head")
    assert HEAD[:7] in check["output"]["summary"]
    assert [c for c in fake.comments(repo, 7) if c["user"]["type"] == "Bot"] == []
