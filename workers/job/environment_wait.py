"""A run's turn at its environment: wait in line, say where it stands, and check, before
publishing, that it still holds the environment.

One run at a time uses an environment (`bot.state.env_lock`); a run waiting for it shows its
place on its queued check run, stops waiting when cancelled, and gives up past its wait limit
(a deployment waits on it: it should be answered, not held for hours).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.report import facts
from bot.core.report.check_output import CheckOutput, render_queued_output
from bot.core.results import Conclusion
from workers.job.ports import Clock, Lock, Records, Turn
from workers.job.redis_grace import RedisGrace
from workers.job.stops import StopRun

POLL_SECONDS = 1.0


@dataclass
class EnvironmentWait:
    lock: Lock
    environment: str
    records: Records  # to name the run that holds the environment
    grace: RedisGrace
    clock: Clock
    should_stop: Callable[[], str | None]  # a cancel's reason, else None
    show_queued: Callable[[CheckOutput], None]  # the queued check run's new output
    limit_seconds: float | None = None  # None: as long as it takes
    on_lock_wait: Callable[[float], None] = lambda seconds: None
    _last_note: str = field(default="", init=False)

    def take_turn(self) -> bool:
        """Hold the environment's lock; True when the run had to wait its turn for it."""
        self.grace.insist(self.lock.join, "joining the environment's line")
        joined = self.clock.monotonic()
        waited = False
        while True:
            turn = self.grace.ask(self.lock.try_acquire, None, "the environment lock")
            if turn is None:  # Redis did not answer: still waiting, as far as we know
                self.clock.sleep(POLL_SECONDS)
                continue
            if turn.holding:
                self.on_lock_wait(self.clock.monotonic() - joined)
                return waited
            waited = True
            if (reason := self.should_stop()) is not None:
                raise StopRun(Conclusion.CANCELLED, reason)
            if self.limit_seconds is not None and self.clock.monotonic() - joined > (
                self.limit_seconds
            ):
                raise StopRun(Conclusion.FAILURE, self._gave_up(self.limit_seconds))
            self._note_waiting(turn)
            self.clock.sleep(POLL_SECONDS)

    def _gave_up(self, limit: float) -> str:
        return (
            f"`{self.environment}` stayed in use by other runs for more than "
            f"{facts.seconds(limit)}, the longest a deployment's run waits for it; "
            "nothing was concluded about this commit."
        )

    def _note_waiting(self, turn: Turn) -> None:
        holder_run = turn.holder.split(".")[0] if turn.holder else None  # "<run id>.<attempt>"
        try:
            holding = self.records.get(holder_run) if holder_run else None
        except LookupError:  # its record expired
            holding = None
        waiting_for = f"`{self.environment}`"
        if holding is not None:
            waiting_for += f" (in use by the run for {holding.target} at {holding.head_sha[:7]})"
        note = f"{waiting_for}:{turn.ahead}"
        if note == self._last_note:
            return
        self._last_note = note
        self.show_queued(render_queued_output(waiting_for=waiting_for, position=turn.ahead))


def confirm_hold(lock: Lock, grace: RedisGrace, owner: str, environment: str) -> None:
    """Before publishing: the run still holds its environment. A Redis outage longer than the
    lock's lease can hand the environment to another run; results taken while another run used
    it say nothing about this code."""
    holder = grace.insist(lock.holder, "the lock's holder")
    if holder == owner:
        return
    turn = grace.insist(lock.try_acquire, "the lock")
    if holder is not None or not turn.holding:
        raise StopRun(
            Conclusion.FAILURE,
            f"The run lost its hold on `{environment}` (Redis was unreachable for longer "
            "than the lock's lease) and another run used it meanwhile: nothing was "
            "concluded about the code. Run `/golden-path run` to try again.",
        )
