"""How a run ends before its report: stopped with a conclusion, or lost to another attempt."""

from __future__ import annotations

from bot.core.results import Conclusion


class AttemptLost(Exception):
    """This attempt no longer owns its run (the reaper restarted it): end without a word."""


class StopRun(Exception):
    """End the run early with this conclusion and reason."""

    def __init__(
        self, conclusion: Conclusion, reason: str, plan_problems: tuple[str, ...] = ()
    ) -> None:
        super().__init__(reason)
        self.conclusion = conclusion
        self.reason = reason
        self.plan_problems = plan_problems
