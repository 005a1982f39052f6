"""Thin Celery tasks: primitives in, one shell function called, retries for GitHub's bad days.

Importing this module registers the tasks and loads nothing heavy: Celery imports it before the
worker says `ready`, and the bodies' modules (PyGithub, the handlers, the run job: about 0.4 s)
load afterwards, in `warm_up`, which the worker calls once it is ready (`celery_app`). A task that
arrives sooner imports what it needs itself.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import time
from typing import TYPE_CHECKING, Any

from celery import Task

from bot.core.queues import HANDLE_EVENT_TASK, REAP_TASK, RUN_TASK, RUNS_QUEUE, SHARD_TASK
from bot.telemetry import trace
from workers.celery_app import app

if TYPE_CHECKING:
    from bot.core.deployment_gate import GateRequest
    from bot.handlers.context import Context, GitHub
    from workers.reconcile import Reconciler
    from workers.services import Services

log = logging.getLogger(__name__)

# What the task bodies import, in the order `warm_up` loads it.
BODY_MODULES = (
    "bot.core.events",
    "bot.core.deployment_gate",
    "bot.github.client",
    "bot.handlers",
    "workers.job.ports",
    "workers.job.run_job",
    "workers.job.shards",
    "workers.reconcile",
    "workers.services",
)


def warm_up() -> float:
    """Load the task bodies' modules; the seconds it took."""
    started = time.perf_counter()
    for name in BODY_MODULES:
        importlib.import_module(name)
    return time.perf_counter() - started


EVENT_RETRY_MAX_SECONDS = 60  # well inside the events queue's visibility timeout (celery_app)


class CeleryLauncher:
    """Queues runs by task name on the `runs` queue; revokes queued ones."""

    def launch(self, run_id: str) -> str:
        trace.bind(run_id=run_id)  # this task's later lines, and the run task's headers
        result = app.send_task(RUN_TASK, kwargs={"run_id": run_id}, queue=RUNS_QUEUE)
        return str(result.id)

    def revoke(self, task_id: str) -> None:
        app.control.revoke(task_id)


class _BestEffortReactions:
    """The repository client as handlers get it: a reaction is a courtesy. A comment deleted
    meanwhile (404) or a GitHub hiccup must not make the task retry a command already acted on."""

    def __init__(self, client: GitHub):
        self._client = client

    def react(self, comment_id: int, content: str) -> None:
        from bot.github.client import GitHubError

        try:
            self._client.react(comment_id, content)
        except GitHubError as error:
            log.warning("could not react %s to comment %s: %s", content, comment_id, error)

    # The rest of `bot.handlers.context.GitHub`, as the client does it.

    def permission_of(self, login: str) -> str:
        return self._client.permission_of(login)

    def reply(self, number: int, body: str) -> str:
        return self._client.reply(number, body)

    def get_pull(self, number: int) -> Any:
        return self._client.get_pull(number)

    def read_file(self, path: str, ref: str) -> str | None:
        return self._client.read_file(path, ref)

    def create_check_run(self, **fields: Any) -> int:
        return self._client.create_check_run(**fields)

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        self._client.update_check_run(check_run_id, **fields)

    def list_check_runs(
        self, head_sha: str, check_name: str, *, app_id: str | int | None = None
    ) -> list[dict[str, Any]]:
        return self._client.list_check_runs(head_sha, check_name, app_id=app_id)

    def check_run_url(self, check_run_id: int) -> str | None:
        return self._client.check_run_url(check_run_id)

    def answer_deployment_gate(
        self, workflow_run_id: int, environment: str, state: str, comment: str
    ) -> None:
        self._client.answer_deployment_gate(workflow_run_id, environment, state, comment)

    def has_comment_with(self, number: int, marker: str) -> bool:
        return self._client.has_comment_with(number, marker)


# No input may hold an events slot for more than seconds (issue 9): the soft limit raises inside
# the task, the hard one kills the pool process that still runs past it.
EVENT_SOFT_TIME_LIMIT = 20
EVENT_TIME_LIMIT = 30


@app.task(
    name=HANDLE_EVENT_TASK,
    bind=True,
    acks_late=True,
    max_retries=5,
    soft_time_limit=EVENT_SOFT_TIME_LIMIT,
    time_limit=EVENT_TIME_LIMIT,
)
def handle_event(
    self: Task[Any, Any], event: dict[str, Any], memo: dict[str, Any] | None = None
) -> None:
    """Act on one webhook event (permission, reaction, check run, queue the run).

    `memo` is what an earlier attempt already decided (see `Context.memo`); retries carry it."""
    from bot.core.events import event_from_dict
    from bot.github.client import GitHubError, GitHubRateLimited
    from bot.handlers import router
    from workers.services import get_services

    typed = event_from_dict(event)
    trace.bind(
        delivery_id=typed.delivery_id, repo=typed.repo, installation_id=typed.installation_id
    )
    services = get_services()
    ctx = _context(services, typed.installation_id, typed.repo, memo)
    retry_with = {"event": event, "memo": ctx.memo}  # the same dict: what this attempt decided
    extra = {"delivery_id": typed.delivery_id, "repo": typed.repo}
    try:
        handled = router.dispatch(typed, ctx)
    except GitHubRateLimited as limited:
        log.warning("rate limited; retrying in %s s", limited.retry_after, extra=extra)
        # Capped: a retry held longer than the events queue's visibility timeout would be
        # delivered twice. A longer limit fails the event (the rate budget already waited).
        wait = min(EVENT_RETRY_MAX_SECONDS, max(1, int(limited.retry_after)))
        raise self.retry(countdown=wait, kwargs=retry_with) from None
    except GitHubError as error:
        log.warning("GitHub error %s; retrying", error, extra=extra)
        wait = min(EVENT_RETRY_MAX_SECONDS, 2 ** (self.request.retries + 1))
        raise self.retry(countdown=wait, kwargs=retry_with) from None
    log.info("event %s handled by %d handler(s)", typed.kind, handled, extra=extra)


def _context(
    services: Services, installation_id: int, repo: str, memo: dict[str, Any] | None = None
) -> Context:
    from bot.handlers.context import Context

    return Context(
        github=_BestEffortReactions(services.github_for(installation_id, repo)),
        runs=services.records,
        launcher=CeleryLauncher(),
        installation_id=installation_id,
        replies=services.comment_replies,
        details_url=services.details_url,
        app_id=services.settings.github_app_id,
        memo=dict(memo or {}),
        gates=services.gates,
        deploy_lock_wait_seconds=services.settings.deploy_lock_wait_seconds,
    )


@app.task(name=RUN_TASK, bind=True, acks_late=True)
def run_golden_path(self: Task[Any, Any], run_id: str) -> None:
    """Execute one golden-path run; its record in Redis holds everything else."""
    from workers.job import run_job
    from workers.job.ports import HEARTBEAT_SECONDS
    from workers.services import get_services

    services = get_services()
    stale_after = services.settings.stale_after_seconds
    run_job.perform_run(
        run_id,
        # Beat several times per staleness window, so one slow beat never looks like death.
        dataclasses.replace(
            services.run_services(),
            heartbeat_seconds=min(HEARTBEAT_SECONDS, stale_after / 4),
        ),
        worker=str(self.request.hostname),
        task_id=self.request.id,
    )


@app.task(name=SHARD_TASK, bind=True, acks_late=True)
def run_shard(self: Task[Any, Any], group: str, index: int) -> None:
    """One shard of a `shards: N` phase, if nobody has started it yet (`workers.job.shards`)."""
    from workers.job import shards
    from workers.services import get_services

    shards.perform_shard(
        group, index, services=get_services().run_services(), worker=str(self.request.hostname)
    )


@app.task(name=REAP_TASK)
def reap() -> None:
    """Restart or conclude runs whose worker died or that overran every limit (for `beat`;
    every `worker` process also does this in its own reconcile loop)."""
    from bot.handlers import deployments
    from workers.services import get_services

    services = get_services()
    reaped = services.reaper(CeleryLauncher()).reap()
    if reaped:
        log.warning("reaped %d run(s): %s", len(reaped), ", ".join(reaped))
    services.owed_publisher.finish()  # reports lost workers still owe after their check run

    # Deployments whose answer a lost worker, a restart or a reaped run left unsent.
    def ctx_for(request: GateRequest) -> Context:
        return _context(services, request.installation_id, request.repo)

    deployments.reconcile(ctx_for, services.gates)


def reconciler() -> Reconciler:
    """The `worker` process's own reconcile loop (started by the bootstep in `celery_app`)."""
    from workers.services import get_services

    return get_services().reconciler(CeleryLauncher())
