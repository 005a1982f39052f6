"""One bot run, start to finish: assert the world, check out, wait for the environment, run, report.

Shell layer: every adapter (GitHub client, run records, environment lock, checkout, clock) is handed
in through `RunServices`, so the same steps can be exercised against the sandbox. Whatever happens,
the check run ends `completed`: errors become a `failure` with the reason, never a stuck
`in_progress` (the reaper covers the case where this process itself dies).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.core import plan as plan_module
from bot.core import rerun
from bot.core.idempotency import Ledger
from bot.core.report import facts
from bot.core.report.check_output import (
    ended_early_report,
    render_check_output,
    render_queued_output,
)
from bot.core.results import Conclusion, PhaseStatus, PhaseVerdict, RunReport
from bot.core.scrub import Scrubber
from bot.core.secrets_policy import SecretsAllowList, pass_env_problems
from bot.github.client import PullInfo
from bot.handlers import deployments, pushes
from bot.handlers.context import GateAnswers, Gates
from bot.state.run_records import RecordNotFound, RunRecord, RunRecords
from bot.telemetry import trace
from workers import disk, publish, recall
from workers.engine import executor, plan_file
from workers.job import summary, tracking_issue
from workers.job.redis_grace import RedisGrace
from workers.job.tracking_issue import States as TrackingStore

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
LOCK_POLL_SECONDS = 1.0
PROGRESS_MIN_INTERVAL = 3.0
PUBLISH_ATTEMPTS = 4
PUBLISH_MAX_WAIT_SECONDS = 60.0


class Lock(Protocol):
    def join(self) -> None: ...
    def keep_alive(self) -> None: ...
    def try_acquire(self) -> Any: ...
    def release(self) -> None: ...
    def holder(self) -> str | None: ...


class RepoClient(publish.PublishClient, tracking_issue.IssueClient, GateAnswers, Protocol):
    """The slice of `bot.github.client.RepoClient` a run uses: publishing its report, the
    tracking issue, answering the deployments it held, and these."""

    @property
    def token(self) -> str: ...
    def fetch_token(self) -> str: ...
    def get_pull(self, number: int) -> PullInfo: ...
    def repo_clone_url(self) -> str: ...


@dataclass
class RunServices:
    records: RunRecords
    github_for: Callable[[int, str], RepoClient]  # (installation_id, repo) -> client
    lock_for: Callable[[str, str, str], Lock]  # (repo, environment, run_id) -> Lock
    checkout: Callable[..., Path]  # (clone_url, sha, dest, token=) -> Path
    workdir: Path
    worker_env: Mapping[str, str]
    bot_secrets: list[str] = field(default_factory=list)
    isolation: executor.Isolation = field(default=executor.unsandboxed)
    sandboxed: bool = False  # says whether `isolation` is the sandbox, for the check run
    secrets_allowed: SecretsAllowList = field(default_factory=SecretsAllowList)
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    history: recall.HistoryStore | None = None  # none: reports say nothing of the past
    ledger: Ledger | None = None  # idempotency keys of the report's writes (annotations...)
    on_lock_wait: Callable[[float], None] = lambda seconds: None  # seconds before it held it
    # Deployments waiting for runs (`bot.state.deployment_gates.GateRequests`): a finished run
    # answers them at once. None: the reconcile pass on beat answers them.
    gates: Gates | None = None
    tracking: TrackingStore | None = None  # tracking issues' state (`bot.state.tracking`)


class _Lost(Exception):
    """This attempt no longer owns its run (the reaper restarted it): end without a word."""


class _Stop(Exception):
    """End the run early with this conclusion and reason."""

    def __init__(self, conclusion: Conclusion, reason: str, plan_problems: tuple[str, ...] = ()):
        super().__init__(reason)
        self.conclusion = conclusion
        self.reason = reason
        self.plan_problems = plan_problems


def perform_run(run_id: str, services: RunServices, *, worker: str, task_id: str | None) -> None:
    """Execute the run `run_id` if it is still queued; a no-op for a cancelled or repeated task."""
    try:
        record = services.records.start(run_id, worker=worker, task_id=task_id)
    except RecordNotFound:
        log.warning("run %s has no record (expired?); nothing to do", run_id)
        return
    if record is None:
        log.info("run %s is no longer queued; skipping", run_id)
        return
    trace.bind(run_id=run_id, repo=record.repo, installation_id=record.installation_id)
    log.info("run %s started on %s", run_id, record.head_sha[:7])
    _Job(record, services).execute()


class _Job:
    def __init__(self, record: RunRecord, services: RunServices):
        self.record = record
        self.services = services
        self.client = services.github_for(record.installation_id, record.repo)
        self._secrets = [self.client.token, *services.bot_secrets]
        self.scrubber = Scrubber(self._secrets)
        self.lock: Lock | None = None
        self.checkout_dir = services.workdir / "checkouts" / record.run_id
        self.artifacts = services.workdir / "artifacts" / record.run_id
        self.pr_body = ""
        self._beat_stop = threading.Event()
        self._progress_out = _Throttled(self._publish_progress, PROGRESS_MIN_INTERVAL)
        self._last_queue_note = ""
        self._concluded = False
        self.grace = RedisGrace()  # Redis blips: a failed question is "unknown" for a while
        self._lost = False  # the reaper gave this run to another attempt (we looked dead)

    # the whole run
    def execute(self) -> None:
        beat = threading.Thread(target=self._heartbeat, name="gp-heartbeat", daemon=True)
        beat.start()
        try:
            final = self._run_and_publish()
        except _Lost:
            final = None  # the attempt that owns the run now reports it
        except _Stop as stop:
            final = None if self._lost else self._conclude_early(stop)
        except Exception as exc:
            log.exception("run %s failed inside the bot", self.record.run_id)
            if self._concluded:  # the check run already holds the real result: keep it
                final = None
            else:
                reason = self.scrubber.scrub(
                    f"the bot failed while running: {type(exc).__name__}: {exc}"
                )
                final = self._conclude_early(_Stop(Conclusion.FAILURE, reason))
        finally:
            self._clean_up()
        if final is not None and not self._concluded and not self._lost:
            self._finish(final)

    def _clean_up(self) -> None:
        """Every step on its own: one failing (Redis away, a busy file) never keeps the others."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("progress updates", self._progress_out.close),
            ("heartbeat", self._beat_stop.set),
            ("environment lock", lambda: self.lock.release() if self.lock else None),
            ("checkout", lambda: disk.remove(self.checkout_dir)),
            ("artifacts", self._keep_junit_and_remove_artifacts),
        ]
        for what, step in steps:
            try:
                step()
            except Exception:
                log.exception("run %s: cleaning up its %s failed", self.record.run_id, what)

    def _keep_junit_and_remove_artifacts(self) -> None:
        if not self._lost and self.artifacts.is_dir():
            junit = sorted(self.artifacts.rglob("junit-*.xml"))
            disk.keep_junit(self.services.workdir, self.record.repo, self.record.run_id, junit)
            output = self.artifacts / "output"
            disk.keep_output(self.services.workdir, self.record.repo, self.record.run_id, output)
        disk.remove(self.artifacts)

    def _done(self, result: RunReport) -> None:
        self._finish(result)
        self._concluded = True

    def _finish(self, final: RunReport) -> None:
        """The record completes (once) with the check run's conclusion; deployments waiting
        for the run get their answer."""
        conclusion = final.conclusion.value if final.conclusion else Conclusion.FAILURE.value
        log.info("run %s concluded %s", self.record.run_id, conclusion)
        verdicts = [summary.verdict(p, self.scrubber.scrub) for p in final.phases]
        finished = self.grace.insist(
            lambda: self.services.records.finish(
                self.record.run_id,
                final.conclusion.value if final.conclusion else Conclusion.FAILURE.value,
                self.scrubber.scrub(final.problem) if final.problem else final.problem,
                verdicts=verdicts,
                mrr_at_risk=final.mrr_at_risk,
                title=self.scrubber.scrub(facts.title(final)),
                recommendation=facts.recommendation(final),
            ),
            "the run's conclusion",
        )
        if finished is not None and self.services.gates is not None:
            try:
                deployments.answer_run_waiters(
                    lambda _installation, _repo: self.client, self.services.gates, finished
                )
            except Exception:  # the reconcile pass on beat answers them later
                log.warning("run %s: answering deployments failed", finished.run_id, exc_info=True)

    def _run_and_publish(self) -> RunReport:
        clone_url = self._assert_head()
        self.services.checkout(
            clone_url, self.record.head_sha, self.checkout_dir, token=self._fetch_token(clone_url)
        )
        plan = self._read_plan()
        self._adopt_check_name(plan.check_name)
        selected = self._select(plan)
        rerun_inputs = self._rerun_inputs(plan)
        self._secrets += executor.secret_values(plan, self.services.worker_env)
        self.scrubber = Scrubber(self._secrets)
        waited = self._wait_for_environment(plan)
        if waited and self.record.pr_number is not None:
            self._assert_head()  # the wait may have been long: the approval is for one commit
        if plan.setup:  # in_progress before a long deploy; otherwise the first phase says it
            self._progress(self._setting_up(plan, selected))
        deadline = time.monotonic() + plan.timeout_minutes * 60
        self.services.records.set_fields(
            self.record.run_id,
            environment=plan.environment,
            deadline_at=time.time() + plan.timeout_minutes * 60,
        )
        result = executor.execute(
            self.checkout_dir,
            plan,
            selected,
            env=executor.build_env(plan, self.services.worker_env),
            artifacts=self.artifacts,
            scrub=self.scrubber,
            on_progress=self._phase_progress,
            should_stop=self._should_stop,
            deadline=deadline,
            report_fields=self._report_fields(),
            isolation=self.services.isolation,
            **rerun_inputs,
        )
        result = self._with_history(result)
        # The record completes as soon as the check run is concluded, not after the PR comment
        # and issues: from then on a Re-run or `/golden-path run` starts a new run.
        self._progress_out.close()  # no late progress update may overwrite the conclusion
        self._still_mine(plan.environment)
        concluding = _OnConclusion(self.client, self._check_run_id(), lambda: self._done(result))
        published: list[publish.PublishResult] = []
        self._with_retries(
            lambda: published.append(
                publish.publish_report(
                    concluding,
                    result,
                    check_run_id=self._check_run_id(),
                    plan=plan,
                    pr_body=self.pr_body,
                    scrubber=self.scrubber,
                    ledger=self.services.ledger,
                )
            )
        )
        links = published[-1].five_whys if published else {}
        patterns = summary.patterns(result, links, self.scrubber.scrub)
        if patterns:  # for the dashboard: the patterns with their five-whys links
            self.grace.ask(
                lambda: self.services.records.set_fields(self.record.run_id, patterns=patterns),
                None,
                "patterns",
            )
        self._remember(result)
        self._update_tracking_issue(result, plan, links)
        return result

    def _still_mine(self, environment: str) -> None:
        """Before publishing: this attempt still owns the run and still holds its environment.
        A Redis outage longer than the lock's lease can hand the environment to another run;
        results taken while another run used staging say nothing about this code."""
        if self._lost:
            raise _Lost()
        if self.lock is None:
            return
        holder = self.grace.insist(self.lock.holder, "the lock's holder")
        if holder == self.record.lock_owner:
            return
        turn = self.grace.insist(self.lock.try_acquire, "the lock")
        if holder is not None or not turn.holding:
            raise _Stop(
                Conclusion.FAILURE,
                f"The run lost its hold on `{environment}` (Redis was unreachable for longer "
                "than the lock's lease) and another run used it meanwhile: nothing was "
                "concluded about the code. Run `/golden-path run` to try again.",
            )

    def _with_history(self, result: RunReport) -> RunReport:
        """The report with its past; history is an extra, never a reason to lose a result."""
        if self.services.history is None:
            return result
        try:
            return recall.gather(self.services.history, result)
        except Exception:
            log.warning("run %s: history unavailable", self.record.run_id, exc_info=True)
            return result

    def _remember(self, result: RunReport) -> None:
        if self.services.history is None:
            return
        try:
            on_default_branch = self.record.trigger == pushes.TRIGGER
            recall.remember(self.services.history, result, default_branch=on_default_branch)
        except Exception:
            log.warning("run %s: history not recorded", self.record.run_id, exc_info=True)

    def _fetch_token(self, clone_url: str) -> str | None:
        """Only an `https` URL gets credentials (a local path is used as it is): a token scoped
        to this repository with `contents: read`, masked like the installation token."""
        if not clone_url.startswith("https://"):
            return None
        token = self.client.fetch_token()
        self._secrets.append(token)
        self.scrubber = Scrubber(self._secrets)
        return token

    def _update_tracking_issue(
        self, result: RunReport, plan: plan_module.Plan, links: Mapping[str, str]
    ) -> None:
        """After the report: the environment's tracking issue (when the plan keeps one). Its
        failure never fails a run whose check run already holds the result."""
        if self.services.tracking is None or not plan.tracking_issue:
            return
        try:
            tracking_issue.update_tracking_issue(
                self.client,
                self.services.tracking,
                result,
                plan=plan,
                five_whys=links,
                scrubber=self.scrubber,
                trigger=self.record.trigger,
            )
        except Exception:
            log.warning("run %s: tracking issue update failed", self.record.run_id, exc_info=True)

    def _with_retries(self, send: Callable[[], Any]) -> None:
        """GitHub having a bad minute (5xx past PyGithub's own retries, a rate limit) must not
        lose a finished run's report: try again, waiting as long as GitHub asks (capped). The
        report's posts are idempotent (found by their markers), so a repeat edits, not adds."""
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                send()
                return
            except Exception as error:
                if attempt == PUBLISH_ATTEMPTS - 1:
                    raise
                wait = getattr(error, "retry_after", None) or 2.0 * 2**attempt
                log.warning(
                    "run %s: publishing failed (%s); retrying in %.0f s",
                    self.record.run_id,
                    type(error).__name__,
                    min(wait, PUBLISH_MAX_WAIT_SECONDS),
                )
                time.sleep(min(wait, PUBLISH_MAX_WAIT_SECONDS))

    def _setting_up(self, plan: plan_module.Plan, selected: tuple[str, ...]) -> RunReport:
        """The in-progress report before the first phase: setup runs, every phase pending."""
        phases = tuple(
            PhaseVerdict(
                phase_id=phase.id,
                name=phase.title,
                mrr_at_risk=phase.mrr_at_risk,
                status=PhaseStatus.PENDING if phase.id in selected else PhaseStatus.NOT_SELECTED,
            )
            for phase in plan.phases
        )
        return RunReport(
            check_name=plan.check_name,
            phases=phases,
            environment=plan.environment,
            **self._report_fields(),
        )

    # steps
    def _adopt_check_name(self, check_name: str) -> None:
        """The queued check got the default name when the plan could not be read through the
        API; the checkout is the authority, so the check takes the plan's name now."""
        if check_name == self.record.check_name:
            return
        self.client.update_check_run(self._check_run_id(), name=check_name)
        self.record.check_name = check_name
        self.services.records.set_fields(self.record.run_id, check_name=check_name)

    def _rerun_inputs(self, plan: plan_module.Plan) -> dict[str, Any]:
        """For `rerun-failed`: the earlier run's stored results of the phases that run only
        their failed tests, and the verdicts of the phases carried over (`bot.core.rerun`)."""
        if not self.record.rerun_of:
            return {}
        try:
            earlier = self.services.records.get(self.record.rerun_of)
        except LookupError:
            raise _Stop(
                Conclusion.FAILURE,
                f"The results of run {self.record.rerun_of} are no longer kept, so its failed "
                "tests are unknown. Run `/golden-path run` for a full run.",
            ) from None
        selection = rerun.select(earlier.verdicts)
        stored = {str(v.get("phase_id")): v for v in earlier.verdicts}
        phases = {phase.id: phase for phase in plan.phases}
        return {
            "rerun": {pid: stored[pid] for pid in selection.tests if pid in phases},
            "carried": {
                pid: rerun.carried_verdict(
                    stored[pid], name=phases[pid].title, mrr_at_risk=phases[pid].mrr_at_risk
                )
                for pid in selection.carried
                if pid in phases
            },
        }

    def _assert_head(self) -> str:
        """The run tests exactly the commit that was approved; a moved head supersedes it."""
        if self.record.pr_number is None:
            return self.client.repo_clone_url()
        pull = self.client.get_pull(self.record.pr_number)
        self.pr_body = pull.body or ""
        if pull.head_sha != self.record.head_sha:
            raise _Stop(
                Conclusion.CANCELLED,
                f"Superseded by {pull.head_sha[:7]}: the pull request's head moved from "
                f"{self.record.head_sha[:7]} before this run started, and the run only ever "
                "tests the commit that was approved. Run `/golden-path run` again for the new "
                "head.",
            )
        if pull.state != "open":
            raise _Stop(Conclusion.CANCELLED, f"Pull request #{pull.number} is {pull.state}.")
        return pull.head_clone_url

    def _read_plan(self) -> plan_module.Plan:
        """The checkout's plan, read as untrusted (no symlinks, 64 KiB: `plan_file`)."""
        try:
            plan = plan_file.read_plan(self.checkout_dir)
            refused = pass_env_problems(plan, self.services.secrets_allowed, self.record.repo)
            if refused:  # the operator's allow-list is the only source of pass_env values
                raise plan_module.PlanError(refused)
        except plan_module.PlanError as error:
            missing = [p for p in error.problems if p.reason == plan_file.NOT_FOUND]
            reason = (
                f"There is no `{plan_module.PLAN_PATH}` at {self.record.head_sha[:7]}."
                if missing
                else f"`{plan_module.PLAN_PATH}` is invalid."
            )
            problems = tuple(self.scrubber.scrub(str(p)) for p in error.problems)
            raise _Stop(Conclusion.FAILURE, reason, problems) from None
        return plan

    def _select(self, plan: plan_module.Plan) -> tuple[str, ...]:
        try:
            return plan.select(self.record.phases)
        except plan_module.UnknownPhases as error:
            raise _Stop(Conclusion.FAILURE, str(error)) from None

    def _wait_for_environment(self, plan: plan_module.Plan) -> bool:
        """Hold the environment's lock; True when the run had to wait its turn for it."""
        self.lock = self.services.lock_for(
            self.record.repo, plan.environment, self.record.lock_owner
        )
        self.grace.insist(self.lock.join, "joining the environment's line")
        joined = time.monotonic()
        waited = False
        limit = self.record.lock_wait_limit_seconds
        while True:
            turn = self.grace.ask(self.lock.try_acquire, None, "the environment lock")
            if turn is None:  # Redis did not answer: still waiting, as far as we know
                time.sleep(LOCK_POLL_SECONDS)
                continue
            if turn.holding:
                self.services.on_lock_wait(time.monotonic() - joined)
                return waited
            waited = True
            if (reason := self._should_stop()) is not None:
                raise _Stop(Conclusion.CANCELLED, reason)
            if limit is not None and time.monotonic() - joined > limit:
                # A deployment waits on this run: answer it rather than hold it for hours.
                raise _Stop(
                    Conclusion.FAILURE,
                    f"`{plan.environment}` stayed in use by other runs for more than "
                    f"{facts.seconds(limit)}, the longest a deployment's run waits for it; "
                    "nothing was concluded about this commit.",
                )
            self._note_waiting(plan.environment, turn)
            time.sleep(LOCK_POLL_SECONDS)

    def _note_waiting(self, environment: str, turn: Any) -> None:
        holder_run = turn.holder.split(".")[0] if turn.holder else None  # "<run id>.<attempt>"
        try:
            holding = self.services.records.get(holder_run) if holder_run else None
        except RecordNotFound:
            holding = None
        waiting_for = f"`{environment}`"
        if holding is not None:
            waiting_for += f" (in use by the run for {holding.target} at {holding.head_sha[:7]})"
        note = f"{waiting_for}:{turn.ahead}"
        if note == self._last_queue_note:
            return
        self._last_queue_note = note
        output = render_queued_output(waiting_for=waiting_for, position=turn.ahead)
        self._update_check(status="queued", output=output)

    # callbacks
    def _progress(self, progress: RunReport, *, to_github: bool = True) -> None:
        self.grace.ask(lambda: self._record_progress(progress), None, "progress")
        if to_github:
            self._progress_out.offer(progress)

    def _record_progress(self, progress: RunReport) -> None:
        current = progress.current_phase
        self.services.records.set_fields(
            self.record.run_id,
            current_phase=current.phase_id if current else None,
            verdicts=[
                summary.verdict(p, self.scrubber.scrub) for p in progress.phases
            ],  # for `/golden-path status`
        )

    def _phase_progress(self, progress: RunReport) -> None:
        """The executor's callback. When a phase has just ended and none runs, GitHub hears of
        it with the next phase's start or with the conclusion right after: an update now would
        be one more write for nothing."""
        self._progress(progress, to_github=progress.current_phase is not None)

    def _publish_progress(self, progress: RunReport) -> None:
        try:
            publish.publish_progress(
                self.client, progress, check_run_id=self._check_run_id(), scrubber=self.scrubber
            )
        except Exception:
            log.warning("run %s: progress update failed", self.record.run_id, exc_info=True)

    def _should_stop(self) -> str | None:
        if self._lost:
            return "the worker running this run was taken for lost; another attempt runs it"
        return self.grace.ask(
            lambda: self.services.records.cancel_reason(self.record.run_id), None, "stop check"
        )

    def _heartbeat(self) -> None:
        while not self._beat_stop.wait(self.services.heartbeat_seconds):
            try:
                mine = self.services.records.heartbeat(self.record.run_id, self.record.attempt)
                if mine is False:  # restarted elsewhere: stop at once, publish nothing
                    log.warning("run %s: another attempt owns this run now", self.record.run_id)
                    self._lost = True
                if self.lock is not None:
                    self.lock.keep_alive()
            except Exception:
                log.warning("run %s: heartbeat failed", self.record.run_id, exc_info=True)

    # endings
    def _conclude_early(self, stop: _Stop) -> RunReport | None:
        self._progress_out.close()  # a held progress update must not reopen the check run
        result = ended_early_report(
            self.record,
            stop.conclusion,
            self.scrubber.scrub(stop.reason),
            plan_problems=tuple(self.scrubber.scrub(p) for p in stop.plan_problems),
            requested_by=self.record.requested_by,
            sandboxed=self.services.sandboxed,
        )
        try:
            output = render_check_output(result)
            self._update_check(status="completed", conclusion=stop.conclusion.value, output=output)
        except Exception:
            log.exception("run %s: could not conclude its check run", self.record.run_id)
            return None
        return result

    def _update_check(self, *, status: str, output: Any, conclusion: str | None = None) -> None:
        fields: dict[str, Any] = {
            "status": status,
            "title": self.scrubber.scrub(output.title),
            "summary": self.scrubber.scrub(output.summary),
        }
        if getattr(output, "text", None):
            fields["text"] = self.scrubber.scrub(output.text)
        if conclusion is not None:
            fields["conclusion"] = conclusion
        self.client.update_check_run(self._check_run_id(), **fields)

    def _check_run_id(self) -> int:
        if self.record.check_run_id is None:
            raise RuntimeError("run has no check run")
        return self.record.check_run_id

    def _report_fields(self) -> dict[str, Any]:
        return {
            "repo": self.record.repo,
            "head_sha": self.record.head_sha,
            "pr_number": self.record.pr_number,
            "run_id": self.record.run_id,
            "details_url": self.record.details_url,
            "requested_by": self.record.requested_by,
            "rerun_of": self.record.rerun_of or "",
            "sandboxed": self.services.sandboxed,
        }


class _OnConclusion:
    """The run's GitHub client, calling `then` once the check run has got its conclusion."""

    def __init__(self, client: Any, check_run_id: int, then: Callable[[], None]):
        self._client = client
        self._check_run_id = check_run_id
        self._then: Callable[[], None] | None = then

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        self._client.update_check_run(check_run_id, **fields)
        concluded = fields.get("status") == "completed" and check_run_id == self._check_run_id
        if concluded and self._then is not None:
            then, self._then = self._then, None
            then()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Throttled:
    """At most one call every `interval` seconds, and the latest value always delivered: a value
    offered too soon is held and sent when the interval has passed (a trailing update), so a
    long phase that starts right after a short one still shows up within seconds."""

    def __init__(self, send: Callable[[Any], None], interval: float):
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._held: Any = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def offer(self, value: Any) -> None:
        with self._lock:
            if self._closed:
                return
            wait = self._last + self._interval - time.monotonic()
            if wait > 0:
                self._held = value
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._held = None
            self._last = time.monotonic()
            self._send(value)

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed or self._held is None:
                return
            value, self._held = self._held, None
            self._last = time.monotonic()
            self._send(value)

    def close(self) -> None:
        """Drop what is held and send nothing more (waits for a send under way)."""
        with self._lock:
            self._closed = True
            self._held = None
            if self._timer is not None:
                self._timer.cancel()
