"""Rendering: golden files for a fixture run, GitHub's limits, and untrusted text kept harmless."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bot.core.report.check_output import render_check_output, render_queued_output
from bot.core.report.facts import failure_patterns
from bot.core.report.five_whys import render_five_whys_issue, render_five_whys_recurrence
from bot.core.report.linked_issue import render_linked_issue
from bot.core.report.markdown import (
    MAX_ANNOTATION_BYTES,
    MAX_ANNOTATIONS,
    MAX_BODY_CHARS,
    MAX_ISSUE_TITLE_CHARS,
    MAX_OUTPUT_CHARS,
    MAX_TITLE_CHARS,
    code,
    fence,
    md,
    url,
)
from bot.core.report.pr_comment import render_pr_comment
from bot.core.report.replies import REPLY_KINDS, render_reply
from bot.core.results import (
    Conclusion,
    Outcome,
    PhaseStatus,
    PhaseVerdict,
    RunReport,
    StepResult,
    TestResult,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
EVIL = "test_x[@admin <script>alert(1)</script> | ``` </details> #12]"


def _connection_failure(i: int) -> TestResult:
    return TestResult(
        f"tests/e2e/test_agent.py::test_run_agent[case-{i}]",
        Outcome.FAILED,
        2.0 + i,
        "tests/e2e/test_agent.py",
        40 + i,
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='staging.example.com', "
        f"port=443): Read timed out. (read timeout={i + 1}.5)",
        f"def test_run_agent(client):\n>       r = client.post('/agents/{i}/run')\n"
        "E       requests.exceptions.ConnectionError: Read timed out\n\n"
        f"tests/e2e/test_agent.py:{40 + i}: ConnectionError",
    )


def fixture_report(conclusion: Conclusion | None = Conclusion.FAILURE) -> RunReport:
    auth = PhaseVerdict(
        "auth", "Core authentication & session management", 120_000, PhaseStatus.PASSED,
        passed=12, pass_rate=1.0, p95_seconds=0.84, duration_seconds=14.2,
    )  # fmt: skip
    evil = TestResult(
        f"tests/e2e/test_agent.py::{EVIL}",
        Outcome.FAILED,
        0.3,
        "tests/e2e/test_agent.py",
        77,
        "AssertionError: assert 500 == 200\n +  where 500 = <Response [500]>.status_code\n"
        "cc @security-team ``` </details> <img src=x onerror=alert(1)>",
        "E   AssertionError: assert 500 == 200\n\ntests/e2e/test_agent.py:77: AssertionError",
    )
    agent = PhaseVerdict(
        "agent", "Agent execution pipeline", 120_000, PhaseStatus.FAILED,
        passed=7, failed=3, pass_rate=0.7, p95_seconds=2.5, duration_seconds=95.0,
        reasons=("pass rate 70.0% is below the minimum 100.0%",),
        tests=(_connection_failure(0), _connection_failure(1), evil,
               TestResult("tests/e2e/test_agent.py::test_ok", Outcome.PASSED, 0.1)),
    )  # fmt: skip
    billing = PhaseVerdict("billing", "Billing & invoices", 60_000, PhaseStatus.NOT_RUN)
    exports = PhaseVerdict("exports", "Data exports", 10_000, PhaseStatus.NOT_SELECTED)
    return RunReport(
        "Golden Path P0",
        (auth, agent, billing, exports),
        conclusion,
        repo="acme/shop",
        head_sha="0123456789abcdef0123456789abcdef01234567",
        pr_number=42,
        run_id="r1a2b3",
        details_url="https://bot.example.com/runs/r1a2b3",
        requested_by="octocat",
        duration_seconds=130.0,
    )


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {name}: run with UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs (UPDATE_GOLDEN=1)"


# --- golden files ---------------------------------------------------------------------------------


def test_golden_check_output() -> None:
    out = render_check_output(fixture_report())
    check_golden("check_title.txt", out.title + "\n")
    check_golden("check_summary.md", out.summary)
    check_golden("check_text.md", out.text)
    check_golden("annotations.json", json.dumps(out.annotations, indent=2) + "\n")


def test_golden_comments_and_issues() -> None:
    report = fixture_report()
    patterns = failure_patterns(report)
    assert len(patterns) == 2
    links = {patterns[0].key: "https://github.com/acme/shop/issues/7"}
    check_golden("pr_comment.md", render_pr_comment(report, links))
    check_golden("linked_issue.md", render_linked_issue(report))
    for i, pattern in enumerate(patterns):
        title, body = render_five_whys_issue(pattern, report, seen_at=1_780_000_000.0)
        check_golden(f"five_whys_{i}.md", f"{title}\n\n{body}")
    check_golden("five_whys_recurrence.md", render_five_whys_recurrence(patterns[0], report))


def test_golden_progress_queued_and_plan_error() -> None:
    report = fixture_report(None)
    running = dataclasses.replace(report.phases[1], status=PhaseStatus.RUNNING, tests=())
    pending = dataclasses.replace(report.phases[2], status=PhaseStatus.PENDING)
    progress = dataclasses.replace(report, phases=(report.phases[0], running, pending))
    out = render_check_output(progress)
    check_golden("progress.md", f"{out.title}\n\n{out.summary}")
    queued = render_queued_output("`staging` (in use by the run for acme/shop#3 at abc1234)", 2)
    check_golden("queued.md", f"{queued.title}\n\n{queued.summary}")
    plan_error = RunReport(
        "Golden Path P0",
        (),
        Conclusion.FAILURE,
        problem="`.github/golden-path.yml` is invalid.",
        plan_problems=(
            ".github/golden-path.yml: phases[0].suites: required key is missing",
            ".github/golden-path.yml: fail_fst: unknown key",
        ),
        head_sha="0123456789abcdef",
    )
    out = render_check_output(plan_error)
    check_golden("plan_error.md", f"{out.title}\n\n{out.summary}")


class _Record:
    state = "running"
    current_phase = "agent"
    conclusion = None
    head_sha = "0123456789abcdef"
    requested_by = "octocat"
    reason = None
    run_id = "r1"
    phases: list[str] = []
    mrr_at_risk = 0


REPLIES = {
    "help": {"reason": "Unknown command `/golden-path frobnicate`."},
    "refused": {"user": "mallory", "permission": "read", "command": "run"},
    "already_running": {"record": _Record(), "link": "https://bot.example.com/runs/r1"},
    "status": {"record": _Record(), "link": "https://bot.example.com/runs/r1"},
    "unknown_phases": {"unknown": ["nope"], "known": ["auth", "agent"]},
    "plan_error": {"problems": [".github/golden-path.yml: phases: required key is missing"]},
    "closed": {"number": 42},
    "nothing_to_cancel": {"record": None},
    "cancelled": {"record": _Record(), "user": "octocat"},
    "placeholder": {"number": 42, "is_fork": True},
    "merge_group": {"passed": [41], "missing": [42], "head_ref": "x", "unknown_ref": False},
    "not_the_head": {"sha": "b" * 40, "head": "a" * 40, "number": 42},
    "ignored": {"count": 4290, "limit": 10},
    "nothing_to_rerun": {"record": _Record()},
    "rerun_head_moved": {"record": _Record(), "head": "c" * 7},
}


def test_golden_replies() -> None:
    assert set(REPLIES) == set(REPLY_KINDS)
    rendered = [f"## {kind}\n\n{render_reply(kind, **ctx)}" for kind, ctx in REPLIES.items()]
    check_golden("replies.md", "\n".join(rendered))


def test_unknown_reply_kind_is_an_error() -> None:
    with pytest.raises(ValueError):
        render_reply("nonsense")


# --- decisions ------------------------------------------------------------------------------------


def _finished(status: PhaseStatus, mrr: int = 1000, pid: str = "p") -> PhaseVerdict:
    return PhaseVerdict(pid, pid.upper(), mrr, status, passed=1, pass_rate=1.0)


@pytest.mark.parametrize(
    ("conclusion", "statuses", "problem", "title"),
    [
        (Conclusion.SUCCESS, ["passed", "passed"], None, "All 2 phases passed"),
        (Conclusion.SUCCESS, ["passed", "not_selected"], None, "The selected phase passed"),
        (Conclusion.FAILURE, ["failed", "passed"], None,
         "1 of 2 phases failed — $1,000 MRR at risk"),
        (Conclusion.FAILURE, ["failed", "timed_out", "not_run"], None,
         "2 of 3 phases failed — $3,000 MRR at risk"),
        (Conclusion.TIMED_OUT, ["passed", "timed_out"], None,
         "Timed out: 1 of 2 phases failed — $1,000 MRR at risk"),
        (Conclusion.CANCELLED, [], "Superseded by abc1234.", "Cancelled: Superseded by abc1234."),
        (Conclusion.FAILURE, ["not_run"], "Setup failed: deploy exited 1",
         "Failed: Setup failed: deploy exited 1"),
        (None, ["passed", "running", "pending"], None, "Running phase 2/3: P1"),
        (None, ["pending", "pending"], None, "Setting up the run"),
    ],
)  # fmt: skip
def test_titles(
    conclusion: Conclusion | None, statuses: list[str], problem: str | None, title: str
) -> None:
    phases = tuple(_finished(PhaseStatus(s), pid=f"p{i}") for i, s in enumerate(statuses))
    report = RunReport("Golden Path P0", phases, conclusion, problem=problem)
    assert render_check_output(report).title == title


def test_recommendation_words() -> None:
    ok = RunReport("c", (_finished(PhaseStatus.PASSED),), Conclusion.SUCCESS)
    bad = RunReport("c", (_finished(PhaseStatus.FAILED),), Conclusion.FAILURE)
    cancelled = RunReport("c", (_finished(PhaseStatus.NOT_RUN),), Conclusion.CANCELLED)
    assert "Safe to deploy" in render_check_output(ok).summary
    assert "HOLD production deployment" not in render_check_output(ok).summary
    assert "HOLD production deployment" in render_check_output(bad).summary
    assert "HOLD production deployment" in render_check_output(cancelled).summary
    assert "Safe to deploy" not in render_check_output(cancelled).summary


def test_setup_failure_is_shown() -> None:
    step = StepResult("Deploy to staging", False, 3.0, 2, "deploy: cannot reach host\n", "exit 2")
    report = RunReport("c", (), Conclusion.FAILURE, setup=(step,), problem="Setup failed.")
    out = render_check_output(report)
    assert "Deploy to staging" in out.summary and "exit code 2" in out.summary
    assert "deploy: cannot reach host" in out.text


# --- limits ---------------------------------------------------------------------------------------


def _many_failures(n: int, message_size: int = 300) -> RunReport:
    tests = tuple(
        TestResult(
            f"tests/e2e/test_bulk_{i % 40}.py::test_case_{i}",
            Outcome.FAILED,
            1.0,
            f"tests/e2e/test_bulk_{i % 40}.py",
            i % 500 + 1,
            f"ValueError{i % 7}: " + "x" * message_size + f" #{i}",
            "E   boom\n" * 200,
        )
        for i in range(n)
    )
    phase = PhaseVerdict(
        "bulk", "Bulk", 5, PhaseStatus.FAILED, failed=n, pass_rate=0.0, tests=tests
    )
    return RunReport("Golden Path P0", (phase,), Conclusion.FAILURE, pr_number=1, head_sha="a" * 40)


def test_five_thousand_failures_fit_githubs_limits() -> None:
    report = _many_failures(5000)
    out = render_check_output(report)
    assert len(out.summary) <= MAX_OUTPUT_CHARS
    assert len(out.text) <= MAX_OUTPUT_CHARS
    assert len(out.title) <= MAX_TITLE_CHARS
    assert re.search(r"… and \d+ more failed tests", out.text)
    assert out.text.count("<details>") == out.text.count("</details>")
    assert len(out.annotations) == MAX_ANNOTATIONS
    keys = [(a["path"], a["start_line"], a["title"]) for a in out.annotations]
    assert keys == sorted(keys)
    assert len(render_pr_comment(report, {})) <= MAX_BODY_CHARS


def test_annotation_fields_are_cut_cleanly() -> None:
    huge = "é" * 70_000  # two bytes each: well over 64 KiB
    test = TestResult("t.py::" + "n" * 400, Outcome.FAILED, 0, "t.py", 3, huge, "line\n" * 30_000)
    phase = PhaseVerdict("p", "P", 1, PhaseStatus.FAILED, failed=1, tests=(test,))
    (note,) = render_check_output(RunReport("c", (phase,), Conclusion.FAILURE)).annotations
    assert len(note["message"].encode()) <= MAX_ANNOTATION_BYTES
    assert len(note["raw_details"].encode()) <= MAX_ANNOTATION_BYTES
    assert len(note["title"]) <= MAX_TITLE_CHARS
    assert note["message"].startswith("éé") and "cut" in note["message"]
    assert note["raw_details"].endswith("line")
    assert (note["path"], note["start_line"], note["annotation_level"]) == ("t.py", 3, "failure")


def test_huge_single_failure_and_many_patterns_fit() -> None:
    report = _many_failures(300, message_size=60_000)
    out = render_check_output(report)
    assert len(out.summary) <= MAX_OUTPUT_CHARS and len(out.text) <= MAX_OUTPUT_CHARS
    for pattern in failure_patterns(report)[:2]:
        title, body = render_five_whys_issue(pattern, report)
        assert len(body) <= MAX_BODY_CHARS and len(title) <= MAX_ISSUE_TITLE_CHARS


# --- untrusted text -------------------------------------------------------------------------------

_MD = MarkdownIt("commonmark").enable("table")


def _outside_code_text(markdown: str) -> list[str]:
    """Text GitHub would linkify: inline text tokens, not code spans or fences."""
    texts = []
    for token in _MD.parse(markdown):
        for child in token.children or []:
            if child.type == "text":
                texts.append(child.content)
    return texts


def _all_rendered() -> list[str]:
    report = fixture_report()
    out = render_check_output(report)
    pattern = failure_patterns(report)[1]
    return [
        out.summary,
        out.text,
        render_pr_comment(report, {}),
        render_linked_issue(report),
        render_five_whys_issue(pattern, report)[1],
        render_five_whys_recurrence(pattern, report),
    ]


@pytest.mark.parametrize("index", range(6))
def test_untrusted_text_mentions_no_one_and_injects_no_html(index: int) -> None:
    markdown = _all_rendered()[index]
    for text in _outside_code_text(markdown):
        assert not re.search(r"@[A-Za-z0-9]", text), text
        assert not re.search(r"#\d", text) or "#42" in text, text
    html = [t.content for t in _MD.parse(markdown) if t.type in ("html_block", "html_inline")]
    for block in html:
        tags = re.findall(r"</?([a-zA-Z]+)", block)
        assert set(tags) <= {"details", "summary"}, block
    inline_html = [
        c.content
        for t in _MD.parse(markdown)
        for c in t.children or []
        if c.type == "html_inline" and not c.content.startswith("<!--")
    ]
    assert inline_html == []


def test_details_and_fences_stay_balanced() -> None:
    text = render_check_output(fixture_report()).text
    tokens = _MD.parse(text)
    opened = sum(t.content.count("<details>") for t in tokens if t.type == "html_block")
    closed = sum(t.content.count("</details>") for t in tokens if t.type == "html_block")
    assert opened == closed == 3
    fences = [t for t in tokens if t.type == "fence"]
    assert any("</details>" in t.content for t in fences)  # the message stayed inside its fence


def test_tables_keep_their_columns() -> None:
    report = fixture_report()
    evil_phase = dataclasses.replace(report.phases[0], name="a | b\nc <b>")
    report = dataclasses.replace(report, phases=(evil_phase, *report.phases[1:]))
    summary = render_check_output(report).summary
    tokens = _MD.parse(summary)
    rows, cells = 0, 0
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            rows += 1
            j = i + 1
            while tokens[j].type != "tr_close":
                cells += tokens[j].type in ("td_open", "th_open")
                j += 1
    assert rows == 5 and cells == 5 * 8


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("`x`", "`` `x` ``"),
        ("a\nb", "`a b`"),
    ],
)
def test_code_spans(value: str, expected: str) -> None:
    assert code(value) == expected


def test_code_span_in_a_table_escapes_pipes() -> None:
    assert code("a|b", table=True) == "`a\\|b`"


def test_fence_is_longer_than_any_backtick_run() -> None:
    block = fence("x\n`````\ny")
    assert block.startswith("``````text\n") and block.endswith("\n``````")


def test_md_neutralises() -> None:
    out = md("@octocat <b>hi</b> *x* [l](javascript:x) #1 a|b")
    assert "@octocat" not in out and "<b>" not in out and "#1" not in out
    assert "\\*x\\*" in out and "\\[l\\]" in out and "a\\|b" in out


def test_links_only_http() -> None:
    assert url("javascript:alert(1)") == ""
    assert url("https://x.example/a b(c)") == "https://x.example/a%20b%28c%29"


def _flaky_report(counted: Outcome) -> RunReport:
    from bot.core.results import Attempt

    flaky = TestResult(
        "tests/e2e/test_ws.py::test_events",
        counted,
        1.2,
        "tests/e2e/test_ws.py",
        14,
        "TimeoutError: websocket closed before agent_completed",
        attempts=(Attempt(Outcome.FAILED, 1.2, "TimeoutError"), Attempt(Outcome.PASSED, 0.9)),
    )
    ok = TestResult("tests/e2e/test_ws.py::test_ok", Outcome.PASSED, 0.1)
    phase = PhaseVerdict(
        "ws", "Websocket events", 50_000,
        PhaseStatus.PASSED if counted is Outcome.PASSED else PhaseStatus.FAILED,
        passed=2 if counted is Outcome.PASSED else 1,
        failed=0 if counted is Outcome.PASSED else 1,
        flaky_count=1, pass_rate=1.0, tests=(ok, flaky),
    )  # fmt: skip
    conclusion = Conclusion.SUCCESS if counted is Outcome.PASSED else Conclusion.FAILURE
    return RunReport("Golden Path P0", (phase,), conclusion, head_sha="abc1234", pr_number=5)


@pytest.mark.parametrize(
    ("counted", "level", "word"),
    [(Outcome.PASSED, "warning", "passed"), (Outcome.FAILED, "failure", "failed")],
)
def test_flaky_tests_are_listed_apart_and_annotated(
    counted: Outcome, level: str, word: str
) -> None:
    report = _flaky_report(counted)
    out = render_check_output(report)
    comment = render_pr_comment(report, {})
    row = (
        "| `tests/e2e/test_ws.py::test_events` | Websocket events "
        f"| ❌ failed 1.20 s → ✅ passed 0.90 s | {word} |"
    )
    assert "**Flaky tests**" in out.summary and row in out.summary
    assert "**Flaky tests**" in comment and row in comment
    assert "1 flaky" in comment  # in the phase's results cell
    [note] = out.annotations
    assert note["annotation_level"] == level
    assert note["title"] == "Flaky: tests/e2e/test_ws.py::test_events"
    assert note["message"].startswith("Flaky: failed, then passed on a retry")
    assert (note["path"], note["start_line"]) == ("tests/e2e/test_ws.py", 14)
