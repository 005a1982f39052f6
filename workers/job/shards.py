"""A `shards: N` phase across machines: the coordinating run job posts the shards on a board in
Redis (`bot.state.shard_board`), queues one Celery task per shard but its own first, runs its own
shard, then any shard nobody has started yet (work stealing), and waits for the rest; a shard
task (`perform_shard`) on any runs worker checks out the same commit into its own folder and runs
its files with the same plan, environment and isolation.

Everything holds across shards: the coordinator keeps the environment's lock and its heartbeat
for the whole phase (its heartbeat is a thread of its own); a cancel stops every shard within
seconds (each polls the run's cancel reason and the board's stop switch); the phase's deadline is
one wall-clock time for all, and the coordinator stops waiting shortly after it (their shards
count as timed out); a shard whose worker died (its claim's lease lapsed without a result) is
queued once more, and a second loss fails the phase saying so. Nothing waits forever."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from bot.core.run_model import RunState
from bot.core.scrub import Scrubber
from bot.state.shard_board import MAX_TAKES, ShardSpec, ShardState, group_of
from workers.disk import SHARD_MARK
from workers.engine import executor
from workers.engine.shards import RunOwn, ShardResult, ShardsRan
from workers.job import steps
from workers.job.ports import Board, Clock, RunServices, ShardPorts
from workers.job.stops import StopRun
from workers.job.workspace import Workspace

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
# After the phase's deadline, how long the coordinator still waits for shards to write the
# result of their (timed-out) pytest before it counts them as timed out without one.
RESULT_GRACE_SECONDS = 15.0


@contextmanager
def _leased(board: Board, index: int, owner: str) -> Iterator[None]:
    """Renews the claim's lease while the shard runs here; a dead process stops renewing."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(max(1.0, board.lease_seconds / 4)):
            try:
                board.renew(index, owner)
            except Exception:  # Redis away a moment: the next renewal tries again
                log.warning("shard %s: renewing its lease failed", index, exc_info=True)

    thread = threading.Thread(target=renew, name="gp-shard-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


@dataclass
class CeleryShards:
    """The coordinator's side (`workers.engine.shards.Sharding`) for one run attempt."""

    ports: ShardPorts
    repo: str
    run_id: str
    attempt: int
    clone_url: str
    head_sha: str
    owner: str  # this attempt's name in claims
    clock: Clock
    poll_seconds: float = POLL_SECONDS
    grace_seconds: float = RESULT_GRACE_SECONDS
    requeued: set[int] = field(default_factory=set)

    def durations(self, phase_id: str) -> Mapping[str, float]:
        try:
            return self.ports.durations.get(self.repo, phase_id)
        except Exception:  # unknown durations only make the split balance by file count
            log.warning("run %s: durations unreadable", self.run_id, exc_info=True)
            return {}

    def remember(self, phase_id: str, durations: Mapping[str, float]) -> None:
        try:
            self.ports.durations.record(self.repo, phase_id, durations)
        except Exception:
            log.warning("run %s: durations not recorded", self.run_id, exc_info=True)

    def run(
        self,
        phase_id: str,
        groups: Sequence[Sequence[str]],
        own: RunOwn,
        *,
        seconds: float,
        should_stop: Callable[[], str | None],
    ) -> ShardsRan:
        group = group_of(self.run_id, self.attempt, phase_id)
        board = self.ports.board_for(group)
        deadline_at = self.clock.time() + seconds
        board.post(
            ShardSpec(
                group=group,
                run_id=self.run_id,
                attempt=self.attempt,
                phase_id=phase_id,
                clone_url=self.clone_url,
                head_sha=self.head_sha,
                groups=tuple(tuple(g) for g in groups),
                deadline_at=deadline_at,
            )
        )
        if board.claim(0, self.owner):  # its own first: the others are queued behind it
            for index in range(1, len(groups)):
                self.ports.send(group, index)
            self._run_here(board, 0, own, deadline_at)
        try:
            return self._collect(board, group, len(groups), own, deadline_at, should_stop)
        finally:
            try:  # late tasks find it and do nothing; stragglers stop
                board.stop("the phase is over")
            except Exception:
                log.warning("run %s: could not close the shard board", self.run_id, exc_info=True)

    def _run_here(self, board: Board, index: int, own: RunOwn, deadline_at: float) -> None:
        with _leased(board, index, self.owner):
            result = own(index, max(0.0, deadline_at - self.clock.time()))
        board.put_result(index, {**result.to_json(), "worker": self.owner})

    def _collect(
        self,
        board: Board,
        group: str,
        count: int,
        own: RunOwn,
        deadline_at: float,
        should_stop: Callable[[], str | None],
    ) -> ShardsRan:
        results: dict[int, ShardResult] = {}
        lost: dict[int, str] = {}
        while True:
            reason = should_stop()
            if reason:
                board.stop(reason)
                return ShardsRan(tuple(results.values()), lost, stopped=reason)
            try:
                states = board.states(count)
            except Exception:  # Redis away a moment: ask again (the deadline still bounds it)
                log.warning("run %s: shard board unreadable", self.run_id, exc_info=True)
                states = []
            for index, state in enumerate(states):
                if state.result is not None and index not in results:
                    results[index] = ShardResult.from_json(state.result)
            pending = [i for i in range(count) if i not in results and i not in lost]
            if not pending:
                return ShardsRan(tuple(results.values()), lost)
            left = deadline_at - self.clock.time()
            if left <= -self.grace_seconds:
                board.stop("the phase's timeout was reached")
                for index in pending:
                    results[index] = ShardResult(
                        index,
                        timed_out=True,
                        abnormal=True,
                        problem="stopped by the phase's timeout before it reported",
                    )
                return ShardsRan(tuple(results.values()), lost)
            if states and self._take_one(board, group, states, pending, own, deadline_at, lost):
                continue  # ran one here: look again at once
            self.clock.sleep(self.poll_seconds)

    def _take_one(
        self,
        board: Board,
        group: str,
        states: list[ShardState],
        pending: list[int],
        own: RunOwn,
        deadline_at: float,
        lost: dict[int, str],
    ) -> bool:
        """Runs here the first shard nobody holds (never started, or its worker was lost and
        it may start once more); True when it ran one."""
        for index in pending:
            state = states[index]
            if state.claimed_by is not None:
                continue
            if state.takes >= MAX_TAKES:
                lost[index] = (
                    f"the worker running it was lost {state.takes} times, so nothing is "
                    "concluded about its tests"
                )
                continue
            if state.takes >= 1 and index not in self.requeued:
                log.warning("run %s: shard %d's worker was lost; queued again", self.run_id, index)
                self.requeued.add(index)
                self.ports.send(group, index)
            if self.clock.time() >= deadline_at:
                continue  # the deadline bounds it; the grace collects what is still coming
            if board.claim(index, self.owner):
                self._run_here(board, index, own, deadline_at)
                return True
        return False


def perform_shard(group: str, index: int, *, services: RunServices, worker: str) -> None:
    """One shard task: a no-op unless the shard is still to run and this worker claims it."""
    if services.shards is None:
        raise RuntimeError("this worker has no shard board")
    board = services.shards.board_for(group)
    spec = board.spec()
    if spec is None or index >= len(spec.groups) or board.stopped():
        return
    owner = f"{worker}/{uuid.uuid4().hex[:8]}"
    if not board.claim(index, owner):
        return
    log.info("run %s: shard %d of phase %s on %s", spec.run_id, index + 1, spec.phase_id, worker)
    with _leased(board, index, owner):
        result = _run_shard(spec, index, board, services, worker)
    board.put_result(index, {**result.to_json(), "worker": worker})


def _run_shard(
    spec: ShardSpec, index: int, board: Board, work: RunServices, worker: str
) -> ShardResult:
    records = work.records
    record = records.get(spec.run_id)
    if record.attempt != spec.attempt or record.state is not RunState.RUNNING:
        return ShardResult(index, stopped="the run is no longer running")
    client = work.github_for(record.installation_id, record.repo)
    secrets = [client.token, *work.bot_secrets]
    # `<run id>~...`: the disk sweep keeps it while the run runs (`workers.disk.run_of`)
    shard_folder = f"{spec.run_id}{SHARD_MARK}{spec.phase_id}-{index + 1}-{uuid.uuid4().hex[:6]}"
    workspace = Workspace(work.workdir, record.repo, shard_folder)

    def should_stop() -> str | None:
        try:
            now = records.get(spec.run_id)  # its coordinator lost: a new attempt runs it all
            if now.attempt != spec.attempt or now.state is not RunState.RUNNING:
                return "the run is no longer running this attempt"
            return board.stopped() or records.cancel_reason(spec.run_id)
        except Exception:  # Redis away a moment: not a reason to stop
            log.warning("run %s: shard %d's stop check failed", spec.run_id, index, exc_info=True)
            return None

    try:
        token = steps.checkout_token(client, spec.clone_url)
        secrets += [token] if token else []
        work.checkout(spec.clone_url, spec.head_sha, workspace.checkout_dir, token=token)
        plan = steps.read_plan(
            workspace.checkout_dir, record, work.secrets_allowed, Scrubber(secrets).scrub
        )
        secrets += executor.secret_values(plan, work.worker_env)
        seconds = spec.deadline_at - work.clock.time()
        if seconds <= 0:
            return ShardResult(index, timed_out=True, abnormal=True, worker=worker)
        result: ShardResult = work.execute_shard(
            workspace.checkout_dir,
            plan,
            spec.phase_id,
            index,
            spec.groups[index],
            env=executor.build_env(plan, work.worker_env),
            artifacts=workspace.artifacts,
            scrub=Scrubber(secrets).scrub,
            should_stop=should_stop,
            seconds=seconds,
            isolation=work.isolation,
        )
        return result
    except StopRun as stop:  # the plan cannot be read here (it could on the coordinator)
        why = "; ".join((stop.reason, *stop.plan_problems))
        return ShardResult(index, problem=Scrubber(secrets).scrub(why), abnormal=True)
    except Exception as error:
        log.exception("run %s: shard %d failed on %s", spec.run_id, index + 1, worker)
        why = f"the shard could not run on {worker}: {type(error).__name__}: {error}"
        return ShardResult(index, problem=Scrubber(secrets).scrub(why), abnormal=True)
    finally:
        for remove in (workspace.remove_checkout, _artifacts_remover(workspace)):
            try:
                remove()
            except Exception:
                log.warning("run %s: shard %d left files", spec.run_id, index + 1, exc_info=True)


def _artifacts_remover(workspace: Workspace) -> Callable[[], None]:
    return lambda: workspace.keep_results_and_remove_artifacts(keep=False)
