"""Write pacing per installation (bot/github/budget.py): a burst goes at once, then one write
per interval; the schedule is shared through Redis by every process; only writes are paced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bot.github.budget import LocalWritePacer, RedisWritePacer
from bot.github.client import GitHubApp
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHub, FakeGitHubServer, create_fake_github


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("name", "per_minute", "burst", "writes", "expected_waits"),
    [
        ("a burst goes at once", 60, 3, 3, [0.0, 0.0, 0.0]),
        ("then one write a second", 60, 3, 5, [0.0, 0.0, 0.0, 1.0, 2.0]),
        ("a slower rate spaces more", 30, 1, 3, [0.0, 2.0, 4.0]),
    ],
)
def test_local_schedule(
    name: str, per_minute: int, burst: int, writes: int, expected_waits: list[float]
) -> None:
    pacer = LocalWritePacer(per_minute, burst, clock=Clock())
    assert [pacer.reserve_write(7) for _ in range(writes)] == pytest.approx(expected_waits)


def test_local_schedule_refills_while_quiet_and_is_per_installation() -> None:
    clock = Clock()
    pacer = LocalWritePacer(60, 2, clock=clock)
    assert [pacer.reserve_write(1) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert pacer.reserve_write(2) == 0.0  # another installation has its own schedule
    clock.now += 10  # quiet: the burst is back
    assert [pacer.reserve_write(1) for _ in range(2)] == [0.0, 0.0]


def test_redis_schedule_is_shared_and_never_lets_more_than_a_minute_allows(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete("gp:gh:writes:55")
    one, other = RedisWritePacer(client, 60, 15), RedisWritePacer(client, 60, 15)  # two workers
    waits = [pacer.reserve_write(55) for _ in range(50) for pacer in (one, other)]
    assert waits[:15] == [0.0] * 15
    assert all(w > 0 for w in waits[15:])
    sent_within_a_minute = sum(w < 60 for w in waits)
    assert sent_within_a_minute <= 15 + 60 < 80  # GitHub's secondary limit


def test_redis_errors_leave_writes_unpaced() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    assert RedisWritePacer(dead).reserve_write(1) == 0.0


class RecordingPacer:
    def __init__(self) -> None:
        self.installations: list[int | None] = []

    def reserve_write(self, installation_id: int | None) -> float:
        self.installations.append(installation_id)
        return 0.25


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    private, public = app_keypair()
    fake = create_fake_github("4242", public)
    fake.private_pem = private  # type: ignore[attr-defined]
    fake.add_installation(77)
    fake.add_repo("acme/shop", clone_url="https://github.example/acme/shop.git")
    fake.add_pull("acme/shop", 5, head_sha="a" * 40, head_ref="fix", body="")
    with FakeGitHubServer(fake) as server:
        yield server.fake


def test_the_client_paces_its_writes_and_not_its_reads(fake: FakeGitHub) -> None:
    pacer, slept = RecordingPacer(), []
    pem = fake.private_pem  # type: ignore[attr-defined]
    client = GitHubApp("4242", pem, fake.base_url, pacer=pacer, sleep=slept.append).repo_client(
        77, "acme/shop"
    )
    client.get_pull(5)
    assert pacer.installations == []  # a read
    client.comment(5, "hello")
    check = client.create_check_run(
        name="c", head_sha="a" * 40, status="queued", title="t", summary="s"
    )
    client.update_check_run(check, status="in_progress")
    assert pacer.installations == [77, 77, 77]
    assert slept == [0.25, 0.25, 0.25]


@pytest.mark.parametrize(
    ("name", "setting", "wait_after_the_burst"),
    [
        ("the default: 60 a minute", None, 1.0),
        ("GitHub Enterprise allowing more: 600 a minute", "600", 0.1),
    ],
)
def test_the_workers_pace_writes_at_the_configured_rate(
    redis_url: str, name: str, setting: str | None, wait_after_the_burst: float
) -> None:
    """`GOLDEN_PATH_GITHUB_WRITES_PER_MINUTE` reaches the pacer the workers share."""
    from bot.settings import Settings
    from workers.services import Services

    env = {"REDIS_URL": redis_url, "GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": app_keypair()[0]}
    if setting is not None:
        env["GOLDEN_PATH_GITHUB_WRITES_PER_MINUTE"] = setting
    redis.Redis.from_url(redis_url).delete("gp:gh:writes:56")
    pacer = Services(Settings(**env)).github_app._pacer  # what every RepoClient waits on
    waits = [pacer.reserve_write(56) for _ in range(16)]
    assert waits[:15] == [0.0] * 15
    assert waits[15] == pytest.approx(wait_after_the_burst, abs=0.05)
