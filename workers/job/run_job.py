"""One bot run, start to finish: assert the world, check out, wait for the environment, run, report.

Shell layer: every adapter (GitHub client, run records, environment lock, checkout, the phases'
runner, clock) is handed in through `RunServices` (`workers.job.ports`), so the same steps run
against the in-memory fakes of the tests. Whatever happens, the check run ends `completed`:
errors become a `failure` with the reason, never a stuck `in_progress` (the reaper covers the
case where this process itself dies). The steps live beside this module, one job each:
`steps` (before the phases), `environment_wait`, `heartbeat`, `throttle`, `publishing`, `history`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.core import owed_publish
from bot.core.plan import FiveWhys, Plan
from bot.core.report.check_output import CheckOutput, ended_early_report, render_check_output
from bot.core.results import Conclusion, RunReport
from bot.core.run_model import RunRecord
from bot.core.scrub import Scrubber
from bot.handlers import pushes
from bot.state.run_records import RecordNotFound
from bot.telemetry import trace
from workers import publish
from workers.engine import executor
from workers.job import completion, history, publishing, shards, steps, summary
from workers.job.environment_wait import EnvironmentWait, confirm_hold
from workers.job.heartbeat import Heartbeat
from workers.job.ports import Lock, RunServices
from workers.job.progress import ProgressReporter
from workers.job.redis_grace import RedisGrace
from workers.job.stops import AttemptLost, StopRun
from workers.job.workspace import Workspace

log = logging.getLogger(__name__)


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
    def __init__(self, record: RunRecord, services: RunServices) -> None:
        self.record = record
        self.services = services
        self.client = services.github_for(record.installation_id, record.repo)
        self._secrets = [self.client.token, *services.bot_secrets]
        self.scrubber = Scrubber(self._secrets)
        self.lock: Lock | None = None
        self.workspace = Workspace(services.workdir, record.repo, record.run_id)
        self.pr_body = ""
        self.clone_url = ""
        # `rerun-failed`: what the executor takes of the earlier run (`steps.rerun_inputs`)
        self._rerun: dict[str, Any] = {}
        self.grace = RedisGrace()  # Redis blips: a failed question is "unknown" for a while
        self.progress = ProgressReporter(
            self.client,
            services.records,
            self.grace,
            record.run_id,
            record.check_run_id,
            lambda: self.scrubber,
        )
        self._concluded = False
        # The reaper may give this run to another attempt (we looked dead): `lost` then.
        self.heartbeat = Heartbeat(
            services.records,
            record.run_id,
            record.attempt,
            services.heartbeat_seconds,
            lambda: self.lock,
            also=self._keep_alive,
        )
        self._owing = False  # the report's rest is owed in Redis, held by this attempt

    @property
    def _lost(self) -> bool:
        return self.heartbeat.lost

    # the whole run
    def execute(self) -> None:
        self._hold_folders()
        self.heartbeat.start()
        try:
            final = self._run_and_publish()
        except AttemptLost:
            final = None  # the attempt that owns the run now reports it
        except StopRun as stop:
            final = None if self._lost else self._conclude_early(stop)
        except Exception as exc:
            log.exception("run %s failed inside the bot", self.record.run_id)
            if self._concluded:  # the check run already holds the real result: keep it
                final = None
            else:
                reason = self.scrubber.scrub(
                    f"the bot failed while running: {type(exc).__name__}: {exc}"
                )
                final = self._conclude_early(StopRun(Conclusion.FAILURE, reason))
        finally:
            self._clean_up()
        if final is not None and not self._concluded and not self._lost:
            self._finish(final)

    def _clean_up(self) -> None:
        """Every step on its own: one failing (Redis away, a busy file) never keeps the others."""
        cleanups: list[tuple[str, Callable[[], object]]] = [
            ("progress updates", self.progress.close),
            ("heartbeat", self.heartbeat.stop),
            ("environment lock", lambda: self.lock.release() if self.lock else None),
            ("checkout", self.workspace.remove_checkout),
            ("artifacts", self._remove_artifacts),
            ("hold on its folders", self._release_folders),  # last: the sweep may take the rest
        ]
        for what, cleanup in cleanups:
            try:
                cleanup()
            except Exception:
                log.exception("run %s: cleaning up its %s failed", self.record.run_id, what)

    def _remove_artifacts(self) -> None:
        self.workspace.keep_results_and_remove_artifacts(keep=not self._lost)

    def _done(self, result: RunReport, plan: Plan) -> None:
        """The check run holds the conclusion: what follows is owed until posted, then the
        record completes."""
        self._owe(result, plan)
        self._finish(result)
        self._concluded = True

    def _owe(self, result: RunReport, plan: Plan) -> None:
        owed = self.services.owed
        if owed is None:
            return
        document = owed_publish.owed_document(
            result,
            attempt=self.record.attempt,
            installation_id=self.record.installation_id,
            five_whys=plan.five_whys.value,
            linked_issues=publish.linked_issues(result, self.pr_body),
            scrub=self.scrubber.scrub,
        )
        if document is None:
            log.warning("run %s: its report is too large to keep as owed", self.record.run_id)
            return
        try:
            owed.owe(self.record.run_id, document, hold_seconds=self._hold_seconds)
        except Exception:  # the worker still posts it; only its death would lose the rest now
            log.warning("run %s: could not keep its owed report", self.record.run_id, exc_info=True)
            return
        self._owing = True

    @property
    def _hold_seconds(self) -> float:
        """How long the owed report stays this attempt's without a heartbeat renewing it."""
        return max(3.0, 3 * self.services.heartbeat_seconds)

    def _keep_alive(self) -> None:
        """With each heartbeat: the hold on the owed report, and on the run's folders."""
        if self._owing and self.services.owed is not None:
            self.services.owed.renew(self.record.run_id, self._hold_seconds)
        self._hold_folders()

    def _hold_folders(self) -> None:
        if self.services.folder_leases is None:
            return
        try:
            self.services.folder_leases.hold(self.record.run_id, self._hold_seconds)
        except Exception:  # Redis away: the next heartbeat holds them again
            log.warning("run %s: could not hold its folders", self.record.run_id, exc_info=True)

    def _release_folders(self) -> None:
        if self.services.folder_leases is not None:
            self.services.folder_leases.release(self.record.run_id)

    def _settle_owed(self, published: publish.PublishResult) -> None:
        """All of it posted: nothing is owed. A step that failed stays owed, for the reconcile
        loop to try again once this attempt's hold lapses."""
        owed = self.services.owed
        if owed is None or not self._owing or published.errors:
            return
        self._owing = False
        try:
            owed.settle(self.record.run_id)
        except Exception:  # the reconcile loop finds it all posted (markers, keys) and settles
            log.warning(
                "run %s: could not settle its owed report", self.record.run_id, exc_info=True
            )

    def _finish(self, final: RunReport) -> None:
        """The record completes (once) with the check run's conclusion; deployments waiting
        for the run get their answer."""
        log.info("run %s concluded %s", self.record.run_id, completion.conclusion_of(final))
        finished = completion.complete_record(
            self.services.records, self.grace, self.record.run_id, final, self.scrubber
        )
        if finished is not None:
            completion.answer_deployments(self.client, self.services.gates, finished)

    def _run_and_publish(self) -> RunReport:
        plan, selected = self._prepare()
        result = history.with_history(
            self.services.history,
            self._run_phases(plan, selected),
            default_branch=self.record.trigger == pushes.TRIGGER,
        )
        if plan.five_whys is not FiveWhys.OFF:
            result = history.with_changes(self.client, result)
        # The record completes as soon as the check run is concluded, not after the PR comment
        # and issues: from then on a Re-run or `/golden-path run` starts a new run.
        self.progress.close()  # no late progress update may overwrite the conclusion
        self._still_mine(plan.environment)
        self._publish(plan, result)
        return result

    def _prepare(self) -> tuple[Plan, tuple[str, ...]]:
        """Everything before the phases: the head, the checkout, the plan, the environment."""
        clone_url, self.pr_body = steps.assert_head(self.client, self.record)
        self.clone_url = clone_url  # the shards of a `shards: N` phase fetch the same commit
        token = steps.checkout_token(self.client, clone_url)
        if token is not None:
            self._add_secrets([token])  # masked like the installation token
        self.services.checkout(
            clone_url, self.record.head_sha, self.workspace.checkout_dir, token=token
        )
        plan = steps.read_plan(
            self.workspace.checkout_dir,
            self.record,
            self.services.secrets_allowed,
            self.scrubber.scrub,
        )
        steps.adopt_check_name(self.client, self.services.records, self.record, plan.check_name)
        selected = steps.select_phases(plan, self.record)
        self._rerun = steps.rerun_inputs(plan, self.record, self.services.records)
        self._add_secrets(executor.secret_values(plan, self.services.worker_env))
        waited = self._wait_for_environment(plan)
        if waited and self.record.pr_number is not None:
            # The wait may have been long: the approval is for one commit.
            _, self.pr_body = steps.assert_head(self.client, self.record)
        return plan, selected

    def _run_phases(self, plan: Plan, selected: tuple[str, ...]) -> RunReport:
        if plan.setup:  # in_progress before a long deploy; otherwise the first phase says it
            self.progress.show(steps.setting_up(plan, selected, self._report_fields()))
        clock = self.services.clock
        deadline = clock.monotonic() + plan.timeout_minutes * 60
        self.services.records.set_fields(
            self.record.run_id,
            environment=plan.environment,
            deadline_at=clock.time() + plan.timeout_minutes * 60,
        )
        report: RunReport = self.services.execute(
            self.workspace.checkout_dir,
            plan,
            selected,
            env=executor.build_env(plan, self.services.worker_env),
            artifacts=self.workspace.artifacts,
            scrub=self.scrubber,
            on_progress=self.progress.on_phase,
            should_stop=self._should_stop,
            deadline=deadline,
            report_fields=self._report_fields(),
            isolation=self.services.isolation,
            **self._rerun,
            **self._sharding(plan),
        )
        return report

    def _sharding(self, plan: Plan) -> dict[str, Any]:
        """`sharding=` for the executor when a phase declares `shards: N` and this worker can
        hand shards out; nothing otherwise (the run is exactly as without the key)."""
        ports = self.services.shards
        if ports is None or all(p.shards <= 1 for p in plan.phases):
            return {}
        sharding = shards.CeleryShards(
            ports,
            repo=self.record.repo,
            run_id=self.record.run_id,
            attempt=self.record.attempt,
            clone_url=self.clone_url,
            head_sha=self.record.head_sha,
            owner=self.record.lock_owner,
            clock=self.services.clock,
        )
        return {"sharding": sharding}

    def _publish(self, plan: Plan, result: RunReport) -> None:
        """The report on GitHub (the record completes once the check run has its conclusion),
        then the failure patterns, the history and the tracking issue."""
        links = self._publish_report(plan, result).five_whys
        patterns = summary.patterns(result, links, self.scrubber.scrub)
        if patterns:  # for the dashboard: the patterns with their five-whys links
            self.grace.ask(
                lambda: self.services.records.set_fields(self.record.run_id, patterns=patterns),
                None,
                "patterns",
            )
        on_default_branch = self.record.trigger == pushes.TRIGGER
        history.remember(self.services.history, result, default_branch=on_default_branch)
        publishing.update_tracking_issue(
            self.client,
            self.services.tracking,
            result,
            plan,
            links,
            self.scrubber,
            self.record.trigger,
        )

    def _publish_report(self, plan: Plan, result: RunReport) -> publish.PublishResult:
        check_run_id = self._check_run_id()
        concluding = publishing.OnConclusion(
            self.client, check_run_id, lambda: self._done(result, plan)
        )
        published = publishing.with_retries(
            lambda: publish.publish_report(
                concluding,
                result,
                check_run_id=check_run_id,
                plan=plan,
                pr_body=self.pr_body,
                scrubber=self.scrubber,
                ledger=self.services.ledger,
            ),
            self.services.clock,
            self.record.run_id,
        )
        self._settle_owed(published)
        return published

    def _still_mine(self, environment: str) -> None:
        """Before publishing: this attempt still owns the run and still holds its environment."""
        if self._lost:
            raise AttemptLost()
        if self.lock is not None:
            confirm_hold(self.lock, self.grace, self.record.lock_owner, environment)

    def _add_secrets(self, values: list[str]) -> None:
        self._secrets += values
        self.scrubber = Scrubber(self._secrets)

    def _wait_for_environment(self, plan: Plan) -> bool:
        """Hold the environment's lock; True when the run had to wait its turn for it."""
        self.lock = self.services.lock_for(
            self.record.repo, plan.environment, self.record.lock_owner
        )
        return EnvironmentWait(
            self.lock,
            plan.environment,
            self.services.records,
            self.grace,
            self.services.clock,
            should_stop=self._should_stop,
            show_queued=lambda output: self._update_check(status="queued", output=output),
            limit_seconds=self.record.lock_wait_limit_seconds,
            on_lock_wait=self.services.on_lock_wait,
        ).take_turn()

    # callbacks
    def _should_stop(self) -> str | None:
        if self._lost:
            return "the worker running this run was taken for lost; another attempt runs it"
        reason: str | None = self.grace.ask(
            lambda: self.services.records.cancel_reason(self.record.run_id), None, "stop check"
        )
        return reason

    # endings
    def _conclude_early(self, stop: StopRun) -> RunReport | None:
        """The check run concluded with the stop's reason; None when GitHub would not take it."""
        self.progress.close()  # a held progress update must not reopen the check run
        report = ended_early_report(
            self.record,
            stop.conclusion,
            self.scrubber.scrub(stop.reason),
            plan_problems=tuple(self.scrubber.scrub(p) for p in stop.plan_problems),
            requested_by=self.record.requested_by,
            sandboxed=self.services.sandboxed,
        )
        try:
            output = render_check_output(report)
            self._update_check(status="completed", conclusion=stop.conclusion.value, output=output)
        except Exception:
            log.exception("run %s: could not conclude its check run", self.record.run_id)
            return None
        return report

    def _update_check(
        self, *, status: str, output: CheckOutput, conclusion: str | None = None
    ) -> None:
        check_run_id = self._check_run_id()
        fields = publishing.check_fields(self.scrubber, status, output, conclusion)
        self.client.update_check_run(check_run_id, **fields)

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
