"""A run's record completes once, with its check run's conclusion; the deployments waiting for
the run then get their answer (or, failing that, the reconcile pass on beat gives it)."""

from __future__ import annotations

import logging

from bot.core.report import facts
from bot.core.results import Conclusion, RunReport
from bot.core.run_model import RunRecord
from bot.core.scrub import Scrubber
from bot.handlers import deployments
from bot.handlers.context import Gates
from workers.job import summary
from workers.job.ports import Records, RunClient
from workers.job.redis_grace import RedisGrace

log = logging.getLogger(__name__)


def conclusion_of(final: RunReport) -> str:
    return final.conclusion.value if final.conclusion else Conclusion.FAILURE.value


def complete_record(
    records: Records, grace: RedisGrace, run_id: str, final: RunReport, scrubber: Scrubber
) -> RunRecord | None:
    """The record's conclusion, verdicts and the check run's title (None: it had completed)."""
    verdicts = [summary.verdict(p, scrubber.scrub) for p in final.phases]
    return grace.insist(
        lambda: records.finish(
            run_id,
            conclusion_of(final),
            scrubber.scrub(final.problem) if final.problem else final.problem,
            verdicts=verdicts,
            mrr_at_risk=final.mrr_at_risk,
            title=scrubber.scrub(facts.title(final)),
            recommendation=facts.recommendation(final),
        ),
        "the run's conclusion",
    )


def answer_deployments(client: RunClient, gates: Gates | None, finished: RunRecord) -> None:
    if gates is None:
        return
    try:
        deployments.answer_run_waiters(lambda _installation, _repo: client, gates, finished)
    except Exception:  # the reconcile pass on beat answers them later
        log.warning("run %s: answering deployments failed", finished.run_id, exc_info=True)
