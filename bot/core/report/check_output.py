"""The check run's output: title, summary, failure details and annotations."""

from dataclasses import dataclass, field
from typing import Any, TypedDict

from bot.core.report.facts import (
    STATUS,
    attempts_text,
    failure_patterns,
    field_of,
    flaky_items,
    pattern_item,
    plural,
    run_facts,
    table,
    title,
)
from bot.core.report.markdown import (
    EXCERPT_CHARS,
    MAX_ANNOTATION_BYTES,
    MAX_ANNOTATIONS,
    MAX_LISTED,
    MAX_OUTPUT_CHARS,
    MAX_PATTERNS_LISTED,
    MAX_TITLE_CHARS,
    TRACEBACK_CHARS,
    clean,
    cut_bytes,
    cut_chars,
    oneline,
)
from bot.core.report.templating import fit, render_template
from bot.core.results import Conclusion, RunReport, TestResult


@dataclass(frozen=True)
class CheckOutput:
    title: str
    summary: str
    text: str = ""
    annotations: list[dict[str, Any]] = field(default_factory=list)


def render_check_output(report: RunReport) -> CheckOutput:
    """Title, summary (table, recommendation), text (failure details) and annotations."""
    return CheckOutput(
        title=title(report),
        summary=_summary(report),
        text=_text(report),
        annotations=annotations(report),
    )


def _summary(report: RunReport) -> str:
    patterns = [pattern_item(p, report) for p in failure_patterns(report)]
    flaky = flaky_items(report)
    problems = list(report.plan_problems)
    setup = [
        {"name": s.name, "exit_code": s.exit_code, "reason": s.reason}
        for s in report.setup
        if not s.ok
    ]

    def render(k: int) -> str:
        # Cut lists first (patterns, problems), then table rows: `k` counts every item.
        n_patterns = min(len(patterns), MAX_PATTERNS_LISTED, k)
        n_problems = min(len(problems), MAX_LISTED, max(0, k - n_patterns))
        n_rows = max(0, k - n_patterns - n_problems)
        return render_template(
            "check_summary.md.j2",
            facts=run_facts(report),
            problem=report.problem or "",
            problems=problems[:n_problems],
            problems_omitted=len(problems) - n_problems,
            setup=setup,
            table=table(report, n_rows) if report.phases else None,
            patterns=patterns[:n_patterns],
            patterns_omitted=len(patterns) - n_patterns,
            flaky=flaky[:MAX_LISTED],
            flaky_omitted=max(0, len(flaky) - MAX_LISTED),
        )

    return fit(render, len(patterns) + len(problems) + len(report.phases), MAX_OUTPUT_CHARS)


def _failure_item(test: TestResult) -> dict[str, Any]:
    message = test.message.strip() or "(no message)"
    return {
        "node_id": test.node_id,
        "headline": oneline(message.split("\n", 1)[0], 200),
        "message": cut_chars(message, EXCERPT_CHARS),
        "traceback": cut_chars(test.traceback.strip(), TRACEBACK_CHARS, keep="tail"),
        "where": f"{test.file}:{test.line}" if test.file and test.line else test.file or "",
        "flaky": attempts_text(test) if test.flaky else "",
    }


def _text(report: RunReport) -> str:
    phases = [p for p in report.phases if p.failures or p in report.failed_phases or p.flaky_tests]
    total = sum(len(p.failures) for p in phases)
    setup = [
        {"name": s.name, "reason": s.reason, "output": cut_chars(s.output_tail, 8_000, keep="tail")}
        for s in report.setup
        if not s.ok
    ]

    def render(k: int) -> str:
        sections, left = [], k
        for phase in phases:
            emoji, word = STATUS[phase.status]
            shown = phase.failures[: max(0, left)]
            left -= len(shown)
            sections.append(
                {
                    "id": phase.phase_id,
                    "name": phase.name or phase.phase_id,
                    "status": f"{emoji} {word}",
                    "reasons": list(phase.reasons),
                    "failures": [_failure_item(t) for t in shown],
                    "omitted": len(phase.failures) - len(shown),
                    "running": phase.running or "",
                    "output": cut_chars(phase.output_tail.strip(), 8_000, keep="tail"),
                }
            )
        return render_template(
            "check_text.md.j2", setup=setup, sections=sections, omitted=total - k
        )

    if not phases and not setup:
        return ""
    return fit(render, total, MAX_OUTPUT_CHARS)


def annotations(report: RunReport) -> list[dict[str, Any]]:
    """One `failure` annotation per failed test at its file and line, within GitHub's limits."""
    found = [
        _annotation(t)
        for p in report.phases
        for t in p.tests
        if t.is_failure or t.flaky  # a flaky test counted as passed is still marked
    ]
    found.sort(key=lambda a: (a["path"], a["start_line"], a["title"]))
    return found[:MAX_ANNOTATIONS]


def _annotation(test: TestResult) -> dict[str, Any]:
    path = (test.file or test.node_id.split("::", 1)[0] or "unknown").lstrip("./") or "unknown"
    line = max(1, test.line or 1)
    message = clean(test.message).strip() or "Test failed"
    title = test.node_id
    if test.flaky:
        title = f"Flaky: {test.node_id}"
        message = f"Flaky: failed, then passed on a retry ({attempts_text(test)}).\n{message}"
    item: dict[str, Any] = {
        "path": path,
        "start_line": line,
        "end_line": line,
        "annotation_level": "failure" if test.is_failure else "warning",
        "title": oneline(title, MAX_TITLE_CHARS),
        "message": cut_bytes(message, MAX_ANNOTATION_BYTES),
    }
    if test.traceback.strip():
        item["raw_details"] = cut_bytes(
            clean(test.traceback).strip(), MAX_ANNOTATION_BYTES, keep="tail"
        )
    return item


def ended_early_report(
    record: Any,
    conclusion: Conclusion,
    reason: str,
    *,
    plan_problems: tuple[str, ...] = (),
    requested_by: str = "",
    sandboxed: bool = True,
) -> RunReport:
    """The report of a run that ended before reporting results (cancelled, superseded, reaped,
    plan invalid), from its record (duck-typed: `bot.core.run_model.RunRecord`): no phases, the
    reason as its problem. The worker that ran it also names who asked and the isolation."""
    return RunReport(
        check_name=field_of(record, "check_name", "") or "",
        phases=(),
        conclusion=conclusion,
        problem=reason,
        plan_problems=plan_problems,
        repo=field_of(record, "repo", "") or "",
        head_sha=field_of(record, "head_sha", "") or "",
        pr_number=field_of(record, "pr_number"),
        run_id=field_of(record, "run_id", "") or "",
        details_url=field_of(record, "details_url"),
        requested_by=requested_by,
        sandboxed=sandboxed,
    )


def render_ended_early(record: Any, conclusion: Conclusion, reason: str) -> CheckOutput:
    """The output of a run that ended before reporting results (cancelled while queued, reaped)."""
    return render_check_output(ended_early_report(record, conclusion, reason))


class EndedEarlyUpdate(TypedDict):
    """The fields of the `update_check_run` call that concludes a check run early."""

    status: str
    conclusion: str
    title: str
    summary: str


def ended_early_update(record: Any, conclusion: Conclusion, reason: str) -> EndedEarlyUpdate:
    """The `update_check_run` fields that conclude the check run of a run that ended before
    reporting results, for those who conclude it without a worker (cancel while queued, reaper)."""
    output = render_ended_early(record, conclusion, reason)
    return EndedEarlyUpdate(
        status="completed", conclusion=conclusion.value, title=output.title, summary=output.summary
    )


def render_queued_output(waiting_for: str | None, position: int | None) -> CheckOutput:
    """The output of a check run that waits for its turn."""
    text = f"Queued: waiting for {waiting_for or 'a worker'}"
    if position:
        text += f" ({plural(position, 'run')} ahead)"
    summary = render_template(
        "check_queued.md.j2", waiting_for=waiting_for or "", position=position
    )
    return CheckOutput(title=oneline(text), summary=summary)
