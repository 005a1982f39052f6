"""The tracking issue's edge: real Redis for the state and lock, the GitHub client (PyGithub,
unmodified) against the sandbox's fake GitHub. Found again by its marker; no lost update."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.core.plan import parse_plan
from bot.core.results import Conclusion, Outcome, PhaseStatus, PhaseVerdict, RunReport, TestResult
from bot.core.scrub import Scrubber
from bot.github.client import GitHubApp, RepoClient
from bot.state.tracking import TrackingStates
from sandbox.app_keys import app_keypair
from sandbox.github_server import FakeGitHub, FakeGitHubServer, create_fake_github
from workers.job.tracking_issue import update_tracking_issue

APP_ID, INSTALLATION = "4242", 77
PLAN = parse_plan("tracking_issue: true\nphases: [{id: auth, mrr_at_risk: 900, suites: [t.py]}]\n")
BOOM = TestResult("t.py::test_login", Outcome.FAILED, message="ValueError: token s3cr3t-value")


KEYS = app_keypair()


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    fake = create_fake_github(APP_ID, KEYS[1])
    fake.add_installation(INSTALLATION)
    with FakeGitHubServer(fake) as server:
        yield server.fake
    assert not [r for r in fake.requests if r["openapi_problems"]]


@pytest.fixture
def states(redis_url: str) -> Iterator[TrackingStates]:
    connection = redis.Redis.from_url(redis_url)
    yield TrackingStates(connection)
    connection.close()


def client_for(fake: FakeGitHub, repo: str) -> RepoClient:
    return GitHubApp(APP_ID, KEYS[0], fake.base_url).repo_client(INSTALLATION, repo)


def report(repo: str, run_id: str, status: PhaseStatus, pr: int | None) -> RunReport:
    failures = (BOOM,) if status is PhaseStatus.FAILED else ()
    phase = PhaseVerdict(
        "auth", "Auth", 900, status, passed=1, failed=len(failures), pass_rate=1.0, tests=failures
    )
    return RunReport(
        check_name="GP",
        phases=(phase,),
        conclusion=Conclusion.FAILURE if failures else Conclusion.SUCCESS,
        repo=repo,
        head_sha=run_id.ljust(40, "0"),
        pr_number=pr,
        run_id=run_id,
    )


def test_one_issue_found_again_and_rewritten(fake: FakeGitHub, states: TrackingStates) -> None:
    repo = f"acme/app-{uuid.uuid4().hex[:6]}"
    fake.add_repo(repo)
    client = client_for(fake, repo)
    scrubber = Scrubber(["s3cr3t-value"])
    for run_id, status, pr in (("a1", PhaseStatus.FAILED, 4), ("b2", PhaseStatus.PASSED, None)):
        update_tracking_issue(
            client,
            states,
            report(repo, run_id, status, pr),
            plan=PLAN,
            five_whys={},
            scrubber=scrubber,
            trigger="auto",
        )
    (issue,) = [i for i in fake.issues(repo) if "pull_request" not in i]
    assert issue["title"] == "Golden path: staging"
    assert [label["name"] for label in issue["labels"]] == ["golden-path"]
    assert "s3cr3t-value" not in issue["body"]
    assert "- [x] " in issue["body"] and "#4" in issue["body"]
    assert "default branch" in issue["body"]


def test_a_plan_without_tracking_issue_posts_nothing(
    fake: FakeGitHub, states: TrackingStates
) -> None:
    repo = f"acme/app-{uuid.uuid4().hex[:6]}"
    fake.add_repo(repo)
    plan = parse_plan("phases: [{id: auth, suites: [t.py]}]\n")
    result = update_tracking_issue(
        client_for(fake, repo),
        states,
        report(repo, "a1", PhaseStatus.FAILED, 1),
        plan=plan,
        five_whys={},
        scrubber=Scrubber([]),
    )
    assert result is None and fake.issues(repo) == []


def test_two_workers_finishing_at_once_lose_no_update(
    fake: FakeGitHub, states: TrackingStates
) -> None:
    repo = f"acme/app-{uuid.uuid4().hex[:6]}"
    fake.add_repo(repo)
    run_ids = [f"r{i}" for i in range(6)]

    def finish(run_id: str) -> None:
        update_tracking_issue(
            client_for(fake, repo),
            states,
            report(repo, run_id, PhaseStatus.PASSED, None),
            plan=PLAN,
            five_whys={},
            scrubber=Scrubber([]),
        )

    threads = [threading.Thread(target=finish, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    issues = fake.issues(repo)
    assert len(issues) == 1  # nobody created a second one
    body = issues[0]["body"]
    for run_id in run_ids:
        assert f"`{run_id.ljust(7, '0')}`" in body  # every run made it into the log
    assert set(states.load(repo, "staging").applied) == set(run_ids)
