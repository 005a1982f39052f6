"""Run reports to the Markdown the bot posts: check-run output, comments, issues and replies.

Every decision (status words, emoji, recommendation, what to cut to fit GitHub's limits) is made
here; the templates in `templates/` only format. Every untrusted value (test names, messages,
output, plan text, problems) reaches a template through one of the filters below, which keep it
from mentioning anyone, injecting HTML or breaking tables, fences and `<details>`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from workers.results import Conclusion, PhaseStatus, PhaseVerdict, RunReport, TestResult
from workers.signatures import FailurePattern, cluster

# GitHub's limits (REST docs for check runs, issues and comments).
MAX_OUTPUT_CHARS = 65_535  # check-run output summary and text
MAX_BODY_CHARS = 65_536  # issue and comment bodies
MAX_TITLE_CHARS = 255  # check-run output title, annotation title
MAX_ISSUE_TITLE_CHARS = 256
MAX_ANNOTATIONS = 1_000  # per run we send at most this many
MAX_ANNOTATION_BYTES = 64 * 1024  # annotation message and raw_details
# Our own budgets, so that one huge failure cannot crowd out the others.
EXCERPT_CHARS = 2_000
TRACEBACK_CHARS = 4_000
MAX_LISTED = 50  # list items (tests, problems) before "… and N more"
MAX_PATTERNS_LISTED = 10

PR_COMMENT_MARKER = "<!-- golden-path:pr-comment -->"
ZWJ = "\u200d"  # after `@` it keeps GitHub from seeing a mention; invisible when rendered

STATUS: dict[PhaseStatus, tuple[str, str]] = {
    PhaseStatus.PASSED: ("✅", "Passed"),
    PhaseStatus.FAILED: ("❌", "Failed"),
    PhaseStatus.TIMED_OUT: ("⏱️", "Timed out"),
    PhaseStatus.NOT_RUN: ("⏭️", "Not run"),
    PhaseStatus.NOT_SELECTED: ("➖", "Not selected"),  # noqa: RUF001 - an emoji, on purpose
    PhaseStatus.PENDING: ("⏳", "Pending"),
    PhaseStatus.RUNNING: ("🔄", "Running"),
}
CONCLUSION_EMOJI = {
    None: "🔄",
    Conclusion.SUCCESS: "✅",
    Conclusion.FAILURE: "❌",
    Conclusion.CANCELLED: "🚫",
    Conclusion.TIMED_OUT: "⏱️",
    Conclusion.ACTION_REQUIRED: "⚠️",
}
_FINISHED = (PhaseStatus.PASSED, PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)


def five_whys_marker(key: str) -> str:
    return f"<!-- golden-path:five-whys sig={key} -->"


def linked_issue_marker(pr_number: int | None) -> str:
    return f"<!-- golden-path:linked-issue pr={pr_number} -->"


@dataclass(frozen=True)
class CheckOutput:
    title: str
    summary: str
    text: str = ""
    annotations: list[dict[str, Any]] = field(default_factory=list)


# --- filters for untrusted text ---------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MENTION_RE = re.compile(r"@(?=[A-Za-z0-9_])")
_ISSUE_REF_RE = re.compile(r"#(?=\d)")
_MD_PUNCT_RE = re.compile(r"([\\`*_\[\]|~#!])")
_LINE_START_RE = re.compile(r"^(\s*)([-+=]|\d+[.)])")
_BACKTICKS_RE = re.compile(r"`+")


def _clean(value: object) -> str:
    return _CONTROL_RE.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")


def _defuse(text: str) -> str:
    """No `@mention`, no `#123` cross-reference."""
    return _ISSUE_REF_RE.sub("#" + ZWJ, _MENTION_RE.sub("@" + ZWJ, text))


def md(value: object) -> str:
    """Inline Markdown text, safe in a paragraph, list item, heading or table cell."""
    text = " ".join(_clean(value).split("\n"))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT_RE.sub(r"\\\1", text)
    text = _LINE_START_RE.sub(r"\1\\\2", text)
    return _defuse(text)


def code(value: object, table: bool = False) -> str:
    """An inline code span that no backtick run inside can close (GitHub leaves code alone)."""
    text = " ".join(_clean(value).split("\n"))
    if not text.strip():
        return md(text or "(empty)")
    ticks = "`" * (max((len(run) for run in _BACKTICKS_RE.findall(text)), default=0) + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    if table:
        text = text.replace("|", "\\|")
    return f"{ticks}{text}{ticks}"


_CODE_SPAN_RE = re.compile(r"(`+)([^`\n]+?)\1(?!`)")


def rich(value: object) -> str:
    """Like `md`, but `inline code` in the text stays code (our own reasons use it)."""
    text = " ".join(_clean(value).split("\n"))
    out, start = [], 0
    for match in _CODE_SPAN_RE.finditer(text):
        out.append(md(text[start : match.start()]))
        out.append(code(match.group(2).strip() or match.group(2)))
        start = match.end()
    out.append(md(text[start:]))
    return "".join(out)


def fence(value: object, info: str = "text") -> str:
    """A fenced block longer than any backtick run inside it, so nothing can close it early."""
    text = _clean(value).rstrip()
    ticks = "`" * max(3, max((len(run) for run in _BACKTICKS_RE.findall(text)), default=0) + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def html_text(value: object) -> str:
    """Text inside an HTML element (`<summary>`): escaped, on one line."""
    return _defuse(html.escape(" ".join(_clean(value).split()), quote=True))


def url(value: object) -> str:
    """A link target we trust the origin of (GitHub, our settings); refuse anything else."""
    text = str(value or "")
    if not re.match(r"^https?://", text):
        return ""
    return re.sub(r"[\s()<>\"'`]", lambda m: f"%{ord(m.group()):02X}", text)


def oneline(value: object, limit: int = MAX_TITLE_CHARS) -> str:
    """Plain text on one line, cut at a word with `…` (titles)."""
    text = " ".join(_clean(value).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def cut_chars(text: str, limit: int, *, keep: str = "head") -> str:
    """At most `limit` characters, cut at a line boundary where one is near; `…` marks the cut."""
    if len(text) <= limit:
        return text
    note = "… (cut)"
    room = max(0, limit - len(note) - 1)
    if keep == "tail":
        part = text[len(text) - room :]
        newline = part.find("\n")
        part = part[newline + 1 :] if 0 <= newline < room // 2 else part
        return f"{note}\n{part}"
    part = text[:room]
    newline = part.rfind("\n")
    part = part[:newline] if newline > room // 2 else part
    return f"{part}\n{note}"


def cut_bytes(text: str, limit: int, *, keep: str = "head") -> str:
    """At most `limit` UTF-8 bytes, cut cleanly (never inside a character)."""
    if len(text.encode("utf-8")) <= limit:
        return text
    chars = limit
    while True:
        out = cut_chars(text, chars, keep=keep)
        if len(out.encode("utf-8")) <= limit:
            return out
        chars = max(1, chars * limit // len(out.encode("utf-8")) - 8)


# --- the Jinja environment --------------------------------------------------------------------

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("templates", ""),
    autoescape=False,  # Markdown, not HTML: each untrusted value gets the filter its place needs
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(
    md=md, rich=rich, code=code, fence=fence, html=html_text, url=url, oneline=oneline
)


def _render(name: str, **context: Any) -> str:
    text = _ENV.get_template(name).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _fit(render: Callable[[int], str], count: int, limit: int) -> str:
    """The longest rendering, showing the first k of `count` items, that fits in `limit`."""
    out = render(count)
    if len(out) <= limit:
        return out
    low, high = 0, count
    while low < high:
        mid = (low + high + 1) // 2
        if len(render(mid)) <= limit:
            low = mid
        else:
            high = mid - 1
    out = render(low)
    return out if len(out) <= limit else cut_chars(out, limit)


# --- numbers and words ------------------------------------------------------------------------


def money(dollars: int) -> str:
    return f"${dollars:,}"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _selected(report: RunReport) -> list[PhaseVerdict]:
    return [p for p in report.phases if p.status is not PhaseStatus.NOT_SELECTED]


def _at_risk(phase: PhaseVerdict) -> bool:
    return phase.status not in (PhaseStatus.PASSED, PhaseStatus.NOT_SELECTED)


def _row(phase: PhaseVerdict) -> dict[str, Any]:
    emoji, word = STATUS[phase.status]
    ran = phase.status in (*_FINISHED, PhaseStatus.RUNNING) or phase.total > 0
    return {
        "id": phase.phase_id,
        "name": phase.name or phase.phase_id,
        "tests": f"{phase.passed}/{phase.total}" if ran else "—",
        "pass_rate": "—" if phase.pass_rate is None else f"{phase.pass_rate * 100:.1f}%",
        "p95": seconds(phase.p95_seconds),
        "duration": seconds(phase.duration_seconds) if ran else "—",
        "status": f"{emoji} {word}",
        "mrr": money(phase.mrr_at_risk if _at_risk(phase) else 0)
        if phase.status is not PhaseStatus.NOT_SELECTED
        else "—",
    }


def recommendation(report: RunReport) -> str:
    if report.conclusion is None:
        return "⏳ **Recommendation pending**: the golden path is still running."
    if report.conclusion is Conclusion.SUCCESS and not report.failed_phases:
        return "✅ **Safe to deploy**: every selected phase met its criteria."
    failed = report.failed_phases
    if failed:
        return (
            f"🛑 **HOLD production deployment**: {_plural(len(failed), 'phase')} missed "
            f"{'its' if len(failed) == 1 else 'their'} criteria."
        )
    return (
        "🛑 **HOLD production deployment**: the golden path did not complete, so it proves "
        "nothing about this commit."
    )


def _table(report: RunReport, limit_rows: int | None = None) -> dict[str, Any]:
    rows = [_row(p) for p in report.phases]
    shown = rows if limit_rows is None else rows[:limit_rows]
    return {
        "rows": shown,
        "omitted": len(rows) - len(shown),
        "total_mrr": money(report.mrr_at_risk),
        "recommendation": recommendation(report),
    }


def title(report: RunReport) -> str:
    """The check run's one-line title."""
    selected = _selected(report)
    total = len(selected)
    failed = report.failed_phases
    if report.conclusion is None:
        current = report.current_phase
        if current is not None:
            position = selected.index(current) + 1 if current in selected else 1
            text = f"Running phase {position}/{total}: {current.name or current.phase_id}"
        else:
            done = sum(1 for p in selected if p.status in _FINISHED)
            text = f"Running: {done}/{total} phases done" if done else "Setting up the run"
        return oneline(text)
    if report.plan_problems:
        return oneline(f"Invalid golden-path plan: {_plural(len(report.plan_problems), 'problem')}")
    prefix = {
        Conclusion.CANCELLED: "Cancelled",
        Conclusion.TIMED_OUT: "Timed out",
        Conclusion.ACTION_REQUIRED: "Action required",
    }.get(report.conclusion)
    if failed:
        text = (
            f"{len(failed)} of {_plural(total, 'phase')} failed — "
            f"{money(report.mrr_at_risk)} MRR at risk"
        )
    elif report.conclusion is Conclusion.SUCCESS:
        text = f"All {total} phases passed" if total != 1 else "The selected phase passed"
    elif report.problem:
        text = report.problem.strip().split("\n", 1)[0]
    else:
        text = f"The golden path did not complete — {money(report.mrr_at_risk)} MRR at risk"
    if prefix or (not failed and report.conclusion is not Conclusion.SUCCESS):
        text = f"{prefix or 'Failed'}: {text}"
    return oneline(text)


def failure_patterns(report: RunReport) -> list[FailurePattern]:
    """The run's failed tests grouped by normalised error signature, biggest first."""
    return cluster((p.phase_id, t) for p in report.phases for t in p.failures)


def _pattern_item(pattern: FailurePattern, report: RunReport) -> dict[str, Any]:
    names = {p.phase_id: p.name or p.phase_id for p in report.phases}
    return {
        "short": pattern.short,
        "key": pattern.key,
        "tests": _plural(len(pattern.tests), "test"),
        "phases": [names.get(pid, pid) for pid in pattern.phase_ids],
    }


def _facts(report: RunReport) -> dict[str, Any]:
    return {
        "check_name": report.check_name,
        "repo": report.repo,
        "sha": report.head_sha[:7],
        "pr_number": report.pr_number,
        "environment": report.environment,
        "requested_by": report.requested_by,
        "duration": seconds(report.duration_seconds) if report.duration_seconds else "",
        "details_url": url(report.details_url),
        "run_id": report.run_id,
        "emoji": CONCLUSION_EMOJI.get(report.conclusion, "❔"),
        "title": title(report),
    }


# --- check run --------------------------------------------------------------------------------


def render_check_output(report: RunReport) -> CheckOutput:
    """Title, summary (table, recommendation), text (failure details) and annotations."""
    return CheckOutput(
        title=title(report),
        summary=_summary(report),
        text=_text(report),
        annotations=annotations(report),
    )


def _summary(report: RunReport) -> str:
    patterns = [_pattern_item(p, report) for p in failure_patterns(report)]
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
        return _render(
            "check_summary.md.j2",
            facts=_facts(report),
            problem=report.problem or "",
            problems=problems[:n_problems],
            problems_omitted=len(problems) - n_problems,
            setup=setup,
            table=_table(report, n_rows) if report.phases else None,
            patterns=patterns[:n_patterns],
            patterns_omitted=len(patterns) - n_patterns,
        )

    return _fit(render, len(patterns) + len(problems) + len(report.phases), MAX_OUTPUT_CHARS)


def _failure_item(test: TestResult) -> dict[str, Any]:
    message = test.message.strip() or "(no message)"
    return {
        "node_id": test.node_id,
        "headline": oneline(message.split("\n", 1)[0], 200),
        "message": cut_chars(message, EXCERPT_CHARS),
        "traceback": cut_chars(test.traceback.strip(), TRACEBACK_CHARS, keep="tail"),
        "where": f"{test.file}:{test.line}" if test.file and test.line else test.file or "",
    }


def _text(report: RunReport) -> str:
    phases = [p for p in report.phases if p.failures or p in report.failed_phases]
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
                }
            )
        return _render("check_text.md.j2", setup=setup, sections=sections, omitted=total - k)

    if not phases and not setup:
        return ""
    return _fit(render, total, MAX_OUTPUT_CHARS)


def annotations(report: RunReport) -> list[dict[str, Any]]:
    """One `failure` annotation per failed test at its file and line, within GitHub's limits."""
    found = [_annotation(t) for p in report.phases for t in p.failures]
    found.sort(key=lambda a: (a["path"], a["start_line"], a["title"]))
    return found[:MAX_ANNOTATIONS]


def _annotation(test: TestResult) -> dict[str, Any]:
    path = (test.file or test.node_id.split("::", 1)[0] or "unknown").lstrip("./") or "unknown"
    line = max(1, test.line or 1)
    item: dict[str, Any] = {
        "path": path,
        "start_line": line,
        "end_line": line,
        "annotation_level": "failure",
        "title": oneline(test.node_id, MAX_TITLE_CHARS),
        "message": cut_bytes(_clean(test.message).strip() or "Test failed", MAX_ANNOTATION_BYTES),
    }
    if test.traceback.strip():
        item["raw_details"] = cut_bytes(
            _clean(test.traceback).strip(), MAX_ANNOTATION_BYTES, keep="tail"
        )
    return item


def render_ended_early(record: Any, conclusion: Conclusion, reason: str) -> CheckOutput:
    """The output of a run that ended before reporting results (cancelled while queued, reaped),
    from its record (duck-typed: `bot.run_model.RunRecord`)."""
    return render_check_output(
        RunReport(
            check_name=_value(record, "check_name", "") or "",
            phases=(),
            conclusion=conclusion,
            problem=reason,
            repo=_value(record, "repo", "") or "",
            head_sha=_value(record, "head_sha", "") or "",
            pr_number=_value(record, "pr_number"),
            run_id=_value(record, "run_id", "") or "",
            details_url=_value(record, "details_url"),
        )
    )


def render_queued_output(waiting_for: str | None, position: int | None) -> CheckOutput:
    """The output of a check run that waits for its turn."""
    text = f"Queued: waiting for {waiting_for or 'a worker'}"
    if position:
        text += f" ({_plural(position, 'run')} ahead)"
    summary = _render("check_queued.md.j2", waiting_for=waiting_for or "", position=position)
    return CheckOutput(title=oneline(text), summary=summary)


# --- comments and issues ----------------------------------------------------------------------


def render_pr_comment(report: RunReport, five_whys_links: Mapping[str, str]) -> str:
    """The sticky PR comment: the table and links to the five-whys issues (keyed by pattern)."""
    items = []
    for pattern in failure_patterns(report):
        item = _pattern_item(pattern, report)
        item["url"] = url(five_whys_links.get(pattern.key, ""))
        items.append(item)

    def render(k: int) -> str:
        return _render(
            "pr_comment.md.j2",
            marker=PR_COMMENT_MARKER,
            facts=_facts(report),
            table=_table(report),
            patterns=items[:k],
            patterns_omitted=len(items) - k,
        )

    return _fit(render, min(len(items), MAX_PATTERNS_LISTED), MAX_BODY_CHARS)


def render_linked_issue(report: RunReport) -> str:
    """The sticky comment on an issue the pull request closes."""
    return cut_chars(
        _render(
            "linked_issue.md.j2",
            marker=linked_issue_marker(report.pr_number),
            facts=_facts(report),
            table=_table(report),
        ),
        MAX_BODY_CHARS,
    )


def _evidence(pattern: FailurePattern, report: RunReport, template: str) -> Callable[[int], str]:
    """Render `template` about `pattern`, listing the first k failing tests."""
    phases = [p for p in report.phases if p.phase_id in pattern.phase_ids]
    context = {
        "marker": five_whys_marker(pattern.key),
        "facts": _facts(report),
        "pattern": pattern,
        "phases": [
            {"id": p.phase_id, "name": p.name or p.phase_id, "mrr": money(p.mrr_at_risk)}
            for p in phases
        ],
        "mrr": money(sum(p.mrr_at_risk for p in phases)),
        "phase_ids": " ".join(pattern.phase_ids),
        "message": cut_chars(pattern.example_message.strip() or "(no message)", EXCERPT_CHARS),
        "traceback": cut_chars(pattern.example_traceback.strip(), TRACEBACK_CHARS, keep="tail"),
    }

    def render(k: int) -> str:
        return _render(
            template, tests=pattern.tests[:k], tests_omitted=len(pattern.tests) - k, **context
        )

    return render


def render_five_whys_issue(pattern: FailurePattern, report: RunReport) -> tuple[str, str]:
    """Title and body of the issue (or PR comment) that investigates one failure pattern."""
    issue_title = _defuse(oneline(f"Five whys: {pattern.short}", MAX_ISSUE_TITLE_CHARS))
    render = _evidence(pattern, report, "five_whys.md.j2")
    return issue_title, _fit(render, min(len(pattern.tests), MAX_LISTED), MAX_BODY_CHARS)


def render_five_whys_recurrence(pattern: FailurePattern, report: RunReport) -> str:
    """A comment on the open five-whys issue: the pattern failed again."""
    render = _evidence(pattern, report, "five_whys_recurrence.md.j2")
    return _fit(render, min(len(pattern.tests), MAX_LISTED), MAX_BODY_CHARS)


# --- replies to commands ----------------------------------------------------------------------


def _login(value: object) -> str:
    """A GitHub login, reduced to the characters logins may have (safe to @mention)."""
    return re.sub(r"[^A-Za-z0-9\-\[\]]", "", str(value or ""))


def _value(obj: Any, name: str, default: Any = None) -> Any:
    found = getattr(obj, name, default) if obj is not None else default
    return getattr(found, "value", found)


def _record(record: Any) -> dict[str, Any]:
    """The fields of a run record (duck-typed: `bot.run_records.RunRecord` is an edge type)."""
    state = _value(record, "state", "") or ""
    conclusion = _value(record, "conclusion") or ""
    return {
        "exists": record is not None,
        "state": state,
        "current_phase": _value(record, "current_phase") or "",
        "conclusion": conclusion,
        "emoji": CONCLUSION_EMOJI.get(_conclusion(conclusion), "🔄")
        if state == "completed"
        else ("⏳" if state == "queued" else "🔄"),
        "sha": str(_value(record, "head_sha", "") or "")[:7],
        "requested_by": _login(_value(record, "requested_by")),
        "reason": _value(record, "reason") or "",
        "run_id": _value(record, "run_id") or "",
        "phases": list(_value(record, "phases") or []),
        "mrr": money(int(_value(record, "mrr_at_risk", 0) or 0)),
    }


def _conclusion(value: str) -> Conclusion | None:
    try:
        return Conclusion(value)
    except ValueError:
        return None


REPLY_KINDS = (
    "help",
    "refused",
    "already_running",
    "status",
    "unknown_phases",
    "plan_error",
    "closed",
    "nothing_to_cancel",
    "cancelled",
    "placeholder",
    "merge_group",
)


def render_reply(kind: str, **context: Any) -> str:
    """A reply to a command (or a small fixed text); `kind` names `templates/reply_<kind>.md.j2`.

    Context by kind: help(reason), refused(user, permission, command), already_running(record,
    link), status(record, link), unknown_phases(unknown, known), plan_error(problems),
    closed(number), nothing_to_cancel(record), cancelled(record, user), placeholder(number,
    is_fork), merge_group(passed, missing, head_ref, unknown_ref).
    """
    if kind not in REPLY_KINDS:
        raise ValueError(f"unknown reply kind {kind!r}")
    values = dict(context)
    if "record" in values:
        values["run"] = _record(values["record"])
    for name in ("user",):
        if name in values:
            values[name] = _login(values[name])
    if "link" in values:
        values["link"] = url(values["link"])
    values.setdefault("reason", "")
    return cut_chars(_render(f"reply_{kind}.md.j2", **values), MAX_BODY_CHARS)
