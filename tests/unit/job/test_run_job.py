"""The run job's steps as a table of named cases: each arranges a world in memory (the pull
request, the checkout, the plan, the environment's line, GitHub's answers), performs one run
with the real job, and reads how its check run and its record ended. No git, pytest, Redis or
sleeps: `RunServices` carries fakes (`tests/fakes/`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.core.plan import PLAN_PATH
from bot.core.run_model import RunRecord, RunState
from bot.core.secrets_policy import SecretsAllowList
from bot.github.client import GitHubError
from tests.fakes.clock import FakeClock
from tests.fakes.executor import ScriptedExecutor
from tests.fakes.github import REPO, FakeGitHub, pull
from tests.fakes.lock import FakeLock
from tests.fakes.runs import MemoryRunRecords
from tests.fakes.world import INSTALLATION
from workers.job.checkout import CheckoutError
from workers.job.environment_wait import POLL_SECONDS
from workers.job.ports import RunServices
from workers.job.run_job import perform_run

HEAD = "a" * 40
NEWER = "c" * 40
RUN = "1" * 12
OTHER = "2" * 12
NUMBER = 7
CHECK_RUN = 900
PLAN = (
    "check_name: Golden Path\n"
    "phases:\n"
    "  - {id: auth, mrr_at_risk: 100, suites: [tests/test_auth.py]}\n"
    "  - {id: pay, suites: [tests/test_pay.py]}\n"
)


class World:
    """One run's world; `services()` hands it to the job."""

    def __init__(self, workdir: Path, plan: str | None, record: RunRecord) -> None:
        self.github = FakeGitHub(pulls={NUMBER: pull(NUMBER, HEAD)})
        self.records = MemoryRunRecords(record)
        self.lock = FakeLock(record.lock_owner)
        self.clock = FakeClock()
        self.executor = ScriptedExecutor()
        self.plan = plan
        self.workdir = workdir
        self.checkout_error: Exception | None = None
        self.checkouts: list[tuple[str, str, str | None]] = []
        self.allowed = SecretsAllowList()

    def checkout(self, clone_url: str, sha: str, dest: Path, *, token: str | None = None) -> Path:
        self.checkouts.append((clone_url, sha, token))
        if self.checkout_error is not None:
            raise self.checkout_error
        dest.mkdir(parents=True)
        if self.plan is not None:
            (dest / PLAN_PATH).parent.mkdir(parents=True, exist_ok=True)
            (dest / PLAN_PATH).write_text(self.plan)
        return dest

    def services(self) -> RunServices:
        return RunServices(
            records=self.records,
            github_for=lambda installation_id, repo: self.github,
            lock_for=lambda repo, environment, owner: self.lock,
            checkout=self.checkout,
            workdir=self.workdir,
            worker_env={},
            secrets_allowed=self.allowed,
            heartbeat_seconds=3600.0,  # no beat during a test: `test_heartbeat.py` beats by hand
            execute=self.executor,
            clock=self.clock,
        )

    def record(self) -> RunRecord:
        return self.records.get(RUN)

    def conclusion(self) -> dict[str, Any]:
        """The check run's last update that completed it."""
        (completed,) = [u for u in self.github.named("update_check_run") if _completes(u)]
        return completed


def _completes(update: dict[str, Any]) -> bool:
    return update.get("status") == "completed"


def queued(**fields: Any) -> RunRecord:
    values: dict[str, Any] = {
        "run_id": RUN,
        "installation_id": INSTALLATION,
        "repo": REPO,
        "pr_number": NUMBER,
        "head_sha": HEAD,
        "check_name": "Golden Path",
        "check_run_id": CHECK_RUN,
        "requested_by": "dev",
    }
    return RunRecord(**{**values, **fields})


# What happens to the world, and when (each gets the world; names say what they stand for).
def push_a_new_head(world: World) -> None:
    world.github.pulls[NUMBER] = pull(NUMBER, NEWER)


def close_the_pull_request(world: World) -> None:
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD, state="closed")


def cancel(world: World) -> None:
    world.records.request_cancel(RUN, "Cancelled by @dev.")


def lapse_the_lock(world: World) -> None:
    world.lock.other = f"{OTHER}.1"  # another run took the environment


def free_after_a_push(world: World) -> None:
    world.lock.other = None
    push_a_new_head(world)


def another_run_holds_the_environment(world: World) -> None:
    world.records.create(queued(run_id=OTHER, pr_number=8, head_sha="d" * 40))
    world.lock.other = f"{OTHER}.1"


def fail_the_checkout(world: World) -> None:
    token = "ghs_repository_token_0123456789"
    world.checkout_error = CheckoutError(f"git fetch failed (token {token}): not found")


def refuse_the_conclusion(times: int) -> Callable[[World], None]:
    def arrange(world: World) -> None:
        world.github = RefusesConclusions(times, pulls=world.github.pulls)

    return arrange


class RefusesConclusions(FakeGitHub):
    """GitHub answering 502 to the first `times` updates that would complete the check run."""

    def __init__(self, times: int, **fields: Any) -> None:
        super().__init__(**fields)
        self.times = times

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        if _completes(fields) and self.times > 0:
            self.times -= 1
            self.calls.append(("update_check_run (refused)", {"check_run_id": check_run_id}))
            raise GitHubError("502 Bad Gateway", 502)
        super().update_check_run(check_run_id, **fields)


@dataclass(frozen=True)
class Case:
    name: str
    plan: str | None = PLAN
    record: dict[str, Any] = field(default_factory=dict)  # the queued record's own fields
    before: tuple[Callable[[World], None], ...] = ()  # the world when the run starts
    while_waiting: Callable[[World], None] | None = None  # on each sleep in the line
    during_phase: Callable[[World], None] | None = None  # once the first phase runs
    fails_a_test: bool = False
    # expected
    conclusion: str | None = "success"  # the check run's; None: never completed here
    says: tuple[str, ...] = ()  # texts of the completed check run's title or summary
    record_after: RunState = RunState.COMPLETED
    executed: bool = True
    sleeps: tuple[float, ...] = ()


CASES = [
    Case("every phase passes: success, record completed", says=("Golden Path",)),
    Case("a test fails: failure", fails_a_test=True, conclusion="failure", says=("failed",)),
    Case(
        "the head moved before the run started: cancelled, superseded",
        before=(push_a_new_head,),
        conclusion="cancelled",
        says=("Superseded by ccccccc", "moved from aaaaaaa"),
        executed=False,
    ),
    Case(
        "the pull request was closed: cancelled",
        before=(close_the_pull_request,),
        conclusion="cancelled",
        says=("Pull request #7 is closed.",),
        executed=False,
    ),
    Case(
        "the checkout fails: failure with git's reason, the token masked",
        before=(fail_the_checkout,),
        conclusion="failure",
        says=("the bot failed while running: CheckoutError: git fetch failed (token ***",),
        executed=False,
    ),
    Case(
        "no plan in the checkout: failure",
        plan=None,
        conclusion="failure",
        says=(f"There is no `{PLAN_PATH}` at aaaaaaa.",),
        executed=False,
    ),
    Case(
        "an invalid plan: failure with its problems",
        plan="phases: []\n",
        conclusion="failure",
        says=(f"`{PLAN_PATH}` is invalid.", "phases"),
        executed=False,
    ),
    Case(
        "a plan passing an environment variable the operator did not allow: invalid",
        plan="pass_env: [STRIPE_KEY]\n" + PLAN,
        conclusion="failure",
        says=(f"`{PLAN_PATH}` is invalid.", "STRIPE_KEY"),
        executed=False,
    ),
    Case(
        "a phase the plan lacks: failure",
        record={"phases": ["nope"]},
        conclusion="failure",
        says=("nope",),
        executed=False,
    ),
    Case(
        "rerun-failed after the earlier run's record expired: failure",
        record={"rerun_of": "f" * 12},
        conclusion="failure",
        says=("are no longer kept",),
        executed=False,
    ),
    Case(
        "waits for the environment, then runs",
        before=(another_run_holds_the_environment,),
        while_waiting=lambda world: setattr(world.lock, "other", None),
        sleeps=(POLL_SECONDS,),
    ),
    Case(
        "the head moved while it waited: cancelled, nothing run",
        before=(another_run_holds_the_environment,),
        while_waiting=free_after_a_push,
        conclusion="cancelled",
        says=("Superseded by ccccccc",),
        executed=False,
        sleeps=(POLL_SECONDS,),
    ),
    Case(
        "cancelled while it waited: cancelled with the reason",
        before=(another_run_holds_the_environment,),
        while_waiting=cancel,
        conclusion="cancelled",
        says=("Cancelled by @dev.",),
        executed=False,
        sleeps=(POLL_SECONDS,),
    ),
    Case(
        "a deployment's run waits past its limit: failure, nothing concluded",
        record={"pr_number": None, "commit_ref": HEAD, "lock_wait_limit_seconds": 2.5},
        before=(another_run_holds_the_environment,),
        conclusion="failure",
        says=("`staging` stayed in use by other runs for more than",),
        executed=False,
        sleeps=(POLL_SECONDS,) * 3,
    ),
    Case(
        "cancelled mid-phase: the executor stops, cancelled",
        during_phase=cancel,
        conclusion="cancelled",
        says=("Cancelled by @dev.",),
    ),
    Case(
        "the environment's lock lapsed and another run took it: failure, nothing concluded",
        during_phase=lapse_the_lock,
        conclusion="failure",
        says=("lost its hold on `staging`",),
    ),
    Case(
        "GitHub refuses the conclusion twice: published on the third try",
        before=(refuse_the_conclusion(2),),
        sleeps=(2.0, 4.0),
    ),
    Case(
        "GitHub refuses the conclusion for good: the record is left to the reaper",
        before=(refuse_the_conclusion(99),),
        conclusion=None,
        record_after=RunState.RUNNING,
        sleeps=(2.0, 4.0, 8.0),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_run(case: Case, tmp_path: Path) -> None:
    world = World(tmp_path, case.plan, queued(**case.record))
    for arrange in case.before:
        arrange(world)
    if case.while_waiting is not None:
        wait = case.while_waiting
        world.clock.on_sleep = lambda: wait(world)
    if case.during_phase is not None:
        during = case.during_phase
        world.executor.during = lambda: during(world)
    world.executor.fail = case.fails_a_test

    perform_run(RUN, world.services(), worker="w1", task_id="t1")

    if case.conclusion is None:
        assert [u for u in world.github.named("update_check_run") if _completes(u)] == []
    else:
        completed = world.conclusion()
        assert completed["check_run_id"] == CHECK_RUN
        assert completed["conclusion"] == case.conclusion
        shown = completed["title"] + completed["summary"] + completed.get("text", "")
        for text in case.says:
            assert text in shown
    record = world.record()
    assert record.state is case.record_after
    if case.record_after is RunState.COMPLETED:
        assert record.conclusion == case.conclusion
    assert bool(world.executor.calls) == case.executed
    assert tuple(world.clock.sleeps) == case.sleeps
    assert not (tmp_path / "checkouts" / RUN).exists()  # the checkout never outlives the run
    if "join" in world.lock.calls:
        assert world.lock.calls[-1] == "release"


def test_a_passing_run_publishes_its_report_and_completes_its_record(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued(phases=["auth"]))
    perform_run(RUN, world.services(), worker="w1", task_id="t1")
    (call,) = world.executor.calls
    assert call["selected"] == ("auth",)
    record = world.record()
    assert (record.conclusion, record.environment, record.worker) == ("success", "staging", "w1")
    assert [v["phase_id"] for v in record.verdicts] == ["auth"]
    assert record.deadline_at == world.clock.now + 60 * 60
    (comment,) = world.github.named("upsert_comment")
    assert comment["number"] == NUMBER
    # https clone: a repository token, used for the checkout and masked like the installation's
    ((url, sha, token),) = world.checkouts
    assert (url, sha, token) == (
        pull(NUMBER, HEAD).head_clone_url,
        HEAD,
        "ghs_repository_token_0123456789",
    )


def test_while_waiting_the_queued_check_names_the_run_in_the_way(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    another_run_holds_the_environment(world)
    world.clock.on_sleep = lambda: setattr(world.lock, "other", None)
    perform_run(RUN, world.services(), worker="w1", task_id="t1")
    waiting = [u for u in world.github.named("update_check_run") if u.get("status") == "queued"]
    (note,) = waiting
    assert "in use by the run for acme/shop#8 at ddddddd" in note["summary"] + note["title"]


def test_the_plans_check_name_replaces_the_default_one(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued(check_name="Golden Path P0"))
    perform_run(RUN, world.services(), worker="w1", task_id="t1")
    renamed = [u for u in world.github.named("update_check_run") if "name" in u]
    assert renamed == [{"check_run_id": CHECK_RUN, "name": "Golden Path"}]
    assert world.record().check_name == "Golden Path"


def test_a_commit_run_clones_the_repository_without_a_token_for_a_local_path(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, PLAN, queued(pr_number=None, commit_ref=HEAD))
    perform_run(RUN, world.services(), worker="w1", task_id="t1")
    assert world.checkouts == [(world.github.clone_url, HEAD, None)]
    assert world.github.named("get_pull") == []
    assert world.record().conclusion == "success"


@pytest.mark.parametrize(
    ("name", "state"),
    [("already running elsewhere", RunState.RUNNING), ("cancelled", RunState.COMPLETED)],
)
def test_a_run_no_longer_queued_is_left_alone(name: str, state: RunState, tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued(state=state))
    perform_run(RUN, world.services(), worker="w2", task_id="t2")
    assert world.github.calls == [] and world.checkouts == []


def test_a_run_whose_record_expired_is_left_alone(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    perform_run("0" * 12, world.services(), worker="w1", task_id="t1")
    assert world.github.calls == [] and world.checkouts == []
