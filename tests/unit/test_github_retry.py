"""GitHub faults through the real client and the fake GitHub server: retried inside the bound,
never a create repeated after a 5xx, a rate limit shared by every process through Redis, and one
busy repository unable to spend another's retries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.github.budget import LocalBudget, RedisBudget
from bot.github.client import GitHubApp, GitHubError, GitHubRateLimited, RepoClient
from bot.github.faults import Bound
from bot.github.retrying import Retrier
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHub, FakeGitHubServer, create_fake_github

APP_ID = "4242"
INSTALLATION = 77
REPO = "acme/shop"
OTHER = "acme/other"


class Sleeps:
    """A sleep that only records (the waits are what is tested) and moves `clock` on."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = time.time()

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return app_keypair()


@pytest.fixture
def fake(keys: tuple[str, str]) -> Iterator[FakeGitHub]:
    fake = create_fake_github(APP_ID, keys[1])
    fake.add_installation(INSTALLATION)
    for repo in (REPO, OTHER):
        fake.add_repo(repo, clone_url=f"https://github.example/{repo}.git")
        fake.add_pull(repo, 5, head_sha="a" * 40, head_ref="fix", body="")
    with FakeGitHubServer(fake) as server:
        yield server.fake


def client_for(
    fake: FakeGitHub, keys: tuple[str, str], retrier: Retrier, repo: str = REPO
) -> RepoClient:
    app = GitHubApp(
        APP_ID,
        keys[0],
        fake.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retrier=retrier,
    )
    return app.repo_client(INSTALLATION, repo)


def retrier(sleeps: Sleeps, **options: object) -> Retrier:
    """A one-process retrier whose time is `sleeps`'s."""
    budget = LocalBudget(clock=sleeps.clock)
    return Retrier(budget=budget, sleep=sleeps, clock=sleeps.clock, **options)  # type: ignore[arg-type]


def sent(fake: FakeGitHub, method: str, suffix: str) -> int:
    return sum(r["method"] == method and r["path"].endswith(suffix) for r in fake.request_log())


def test_5xx_is_retried_with_jittered_waits(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    sleeps = Sleeps()
    client = client_for(fake, keys, retrier(sleeps))
    fake.fail_next("GET", r"/pulls/5$", 502, times=3)
    assert client.get_pull(5).number == 5
    assert sent(fake, "GET", "/pulls/5") == 4
    assert len(sleeps.waits) == 3 and all(0 < w <= 2 for w in sleeps.waits)


def test_5xx_past_the_bound_is_a_clear_failure(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    client = client_for(fake, keys, retrier(Sleeps(), bound=Bound(attempts=3)))
    fake.fail_next("GET", r"/pulls/5$", 503, times=10)
    with pytest.raises(GitHubError) as failed:
        client.get_pull(5)
    assert failed.value.status == 503
    assert sent(fake, "GET", "/pulls/5") == 3


def test_a_create_is_never_repeated_after_a_5xx(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    """GitHub may have made the comment before its proxy failed: the caller, which knows the
    write's idempotency key, decides (bot.state.ledger)."""
    client = client_for(fake, keys, retrier(Sleeps()))
    fake.fail_next("POST", r"/issues/5/comments$", 502)
    with pytest.raises(GitHubError):
        client.comment(5, "hello")
    assert sent(fake, "POST", "/issues/5/comments") == 1
    # A rate limit is different: GitHub did nothing, so the create is retried.
    fake.fail_next("POST", r"/issues/5/comments$", 429, headers={"retry-after": "1"})
    client.comment(5, "hello")
    assert sent(fake, "POST", "/issues/5/comments") == 3


def test_primary_limit_waits_for_the_reset(fake: FakeGitHub, keys: tuple[str, str]) -> None:
    sleeps = Sleeps()
    client = client_for(fake, keys, retrier(sleeps))
    reset = str(int(time.time()) + 5)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    fake.fail_next("PATCH", r"/check-runs/", 403, headers=headers)
    run_id = client.create_check_run(
        name="c", head_sha="a" * 40, status="queued", title="t", summary="s"
    )
    client.update_check_run(run_id, status="in_progress")
    assert len(sleeps.waits) == 1 and 3 <= sleeps.waits[0] <= 6


def test_rate_limit_past_the_bound_fails_at_once_with_when_to_come_back(
    fake: FakeGitHub, keys: tuple[str, str]
) -> None:
    sleeps = Sleeps()
    client = client_for(fake, keys, retrier(sleeps))
    fake.fail_next("GET", r"/pulls/5$", 429, headers={"retry-after": "900"})
    with pytest.raises(GitHubRateLimited) as limited:
        client.get_pull(5)
    assert 800 < limited.value.retry_after <= 900
    assert sleeps.waits == []


@pytest.fixture
def shared(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def test_a_rate_limit_pauses_every_process_of_the_installation(
    fake: FakeGitHub, keys: tuple[str, str], shared: redis.Redis
) -> None:
    installation = int(uuid.uuid4().int % 10**6) + 1000
    fake.add_installation(installation)
    first_sleeps, second_sleeps = Sleeps(), Sleeps()
    apps = [  # two processes, one Redis
        GitHubApp(
            APP_ID,
            keys[0],
            fake.base_url,
            retrier=Retrier(budget=RedisBudget(shared, clock=s.clock), sleep=s, clock=s.clock),
        )
        for s in (first_sleeps, second_sleeps)
    ]
    first = apps[0].repo_client(installation, REPO)
    second = apps[1].repo_client(installation, OTHER)
    fake.fail_next("GET", r"/pulls/5$", 403, headers={"retry-after": "4"})
    first.get_pull(5)
    assert first_sleeps.waits == [4.0]
    # The other process never met the limit, yet waits it out before sending.
    second.get_pull(5)
    assert len(second_sleeps.waits) == 1 and 2 < second_sleeps.waits[0] <= 4


def test_one_busy_repository_cannot_spend_the_others_retries(shared: redis.Redis) -> None:
    installation = int(uuid.uuid4().int % 10**6)
    budget = RedisBudget(shared, per_repo=3, per_installation=5)
    busy = [budget.take_retry(installation, "acme/busy") for _ in range(6)]
    assert busy == [True, True, True, False, False, False]
    quiet = [
        RedisBudget(shared, per_repo=3, per_installation=5).take_retry(installation, "acme/quiet")
        for _ in range(3)
    ]
    assert quiet == [True, True, False]  # the installation's 5: 3 busy + 2 quiet


def test_local_budget_has_the_same_rules() -> None:
    now = [1000.0]
    budget = LocalBudget(per_repo=2, per_installation=3, clock=lambda: now[0])
    assert [budget.take_retry(1, "a") for _ in range(3)] == [True, True, False]
    assert budget.take_retry(1, "b") and not budget.take_retry(1, "b")
    budget.pause(1, 10)
    assert budget.wait_before(1) == 10 and budget.wait_before(2) == 0
    now[0] += 60  # a new window
    assert budget.take_retry(1, "a")


def test_a_redis_outage_never_blocks_github_calls() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    budget = RedisBudget(dead)
    assert budget.wait_before(1) == 0
    assert budget.take_retry(1, "a")
    budget.pause(1, 5)  # logged, not raised
