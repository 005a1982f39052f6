"""Contract §5.3, as a property: a secret in anything a run reads (a JUnit message, a traceback,
a test's name, a setup step's output) never reaches anything the bot renders, nor does any piece
of 8 or more of its characters, wherever it sits around each length limit that cuts that text.

The text goes the way it goes in a worker: read and scrubbed (`junit.parse`, the executor's
outcome), judged, clustered, kept in the run's record as the run job keeps it, then rendered by
every renderer: check output and annotations, PR comment, five-whys issue and recurrence, linked
issue, `/golden-path status` reply, and the run page (HTML, JSON and live events) served by the
real web app from the record in a real Redis.
"""

from __future__ import annotations

import html
import re
from xml.sax.saxutils import escape, quoteattr

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.core.plan import parse_plan
from bot.core.report.check_output import annotations, render_check_output
from bot.core.report.facts import failure_patterns
from bot.core.report.five_whys import render_five_whys_issue, render_five_whys_recurrence
from bot.core.report.linked_issue import render_linked_issue
from bot.core.report.pr_comment import render_pr_comment
from bot.core.report.replies import render_reply
from bot.core.results import Conclusion, RunReport, StepResult
from bot.core.run_model import RunRecord
from bot.core.scrub import Scrubber
from bot.settings import Settings
from bot.state.run_records import RunRecords
from bot.web import links
from workers.engine import executor, junit, processes, verdict
from workers.job import summary

LINK_KEY = "link-key-of-the-property-test"

PLAN = parse_plan("phases:\n  - {id: auth, name: Auth, suites: [tests/test_auth.py]}\n")
FILLER = "~"  # not in any secret's alphabet, and left alone by every normalisation
# Every length that cuts untrusted text on its way to GitHub or a page.
LIMITS = (
    70,  # five-whys short title
    200,  # setup step's last line, pytest's error line
    255,  # check-run title
    300,  # JUnit message
    2_000,  # error excerpt, signature
    4_000,  # output tail, traceback in the five whys
    6_000,  # JUnit traceback
    8_000,  # setup output in the check text
)
SECRET_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/=.:@"


def visible(text: str) -> str:
    """What a reader sees: Markdown escapes and HTML entities undone, invisible joiners gone."""
    text = html.unescape(html.unescape(text)).replace("\u200d", "")
    return re.sub(r"\\(.)", r"\1", text)


def placed(secret: str, limit: int, delta: int, from_end: bool) -> str:
    """`secret` starting `limit + delta` characters from the start (or ending that many
    characters before the end) of a text long enough to be cut there."""
    at = max(0, limit + delta)
    pad = FILLER * 12
    return pad + secret + FILLER * at if from_end else FILLER * at + secret + pad


def junit_xml(text: str, secret: str) -> str:
    body = "\n".join(f"E   {line}" for line in text.splitlines()) + "\ntests/test_auth.py:3: Error"
    return (
        '<testsuite><testcase classname="tests.test_auth" '
        f'name={quoteattr(f"test_login[{secret}]")} file="tests/test_auth.py" line="1">'
        f"<failure message={quoteattr('RuntimeError: ' + text)}>{escape(body)}</failure>"
        "</testcase></testsuite>"
    )


def report_for(text: str, secret: str) -> RunReport:
    scrub = Scrubber([secret])
    summary = junit.parse(junit_xml(text, secret), scrub=scrub)
    phase = verdict.judge(PLAN.phases[0], summary.tests, duration_seconds=1.0)
    # The capture keeps the output's tail: the cut may fall inside the secret.
    raw = processes.ProcessOutcome(1, False, None, 1.0, ("deploying\n" + text)[-4000:])
    outcome = executor.scrub_outcome(raw, scrub)
    reason = f"exit code 1{executor.last_line(outcome.output_tail)}"
    step = StepResult("Deploy", False, 1.0, 1, outcome.output_tail, reason)
    return RunReport(
        check_name="Golden Path P0",
        phases=(phase,),
        conclusion=Conclusion.FAILURE,
        setup=(step,),
        problem=f"setup step 'Deploy' failed: {reason}",
        repo="octo/private",
        head_sha="9f3c2e1d" * 5,
        pr_number=7,
        run_id="r1",
        details_url="https://bot.example/runs/r1",
        requested_by="octocat",
    )


@pytest.fixture(scope="module")
def web(redis_url: str) -> tuple[TestClient, RunRecords]:
    settings = Settings(REDIS_URL=redis_url, GOLDEN_PATH_LINK_SECRET=LINK_KEY)
    return TestClient(create_app(settings)), RunRecords(redis.Redis.from_url(redis_url))


def served(report: RunReport, scrub: Scrubber, web: tuple[TestClient, RunRecords]) -> list[str]:
    """The record as the run job finishes it, and the run page's HTML, JSON and events."""
    client, records = web
    record = records.create(
        RunRecord(installation_id=1, repo=report.repo, pr_number=7, head_sha=report.head_sha)
    )
    records.finish(
        record.run_id,
        "failure",
        scrub(report.problem or ""),
        verdicts=[summary.verdict(p, scrub) for p in report.phases],
        mrr_at_risk=report.mrr_at_risk,
    )
    records.set_fields(record.run_id, patterns=summary.patterns(report, {}, scrub))
    link = links.run_url("", record.run_id, LINK_KEY)
    page = client.get(link)
    as_json = client.get(link, headers={"Accept": "application/json"})
    assert page.status_code == as_json.status_code == 200
    stored = records.get(record.run_id)
    status = render_reply("status", record=stored, link="https://bot.example/runs/r1")
    return [page.text, as_json.text, stored.model_dump_json(), status]


def rendered(report: RunReport) -> list[str]:
    output = render_check_output(report)
    texts = [output.title, output.summary, output.text or ""]
    texts += [str(a) for a in annotations(report)]
    texts.append(render_pr_comment(report, {}))
    for pattern in failure_patterns(report):
        texts.extend(render_five_whys_issue(pattern, report))
        texts.append(render_five_whys_recurrence(pattern, report))
    texts.append(render_linked_issue(report))
    return [visible(t) for t in texts]


def everything(report: RunReport, scrub: Scrubber, web: tuple[TestClient, RunRecords]) -> str:
    return "\n".join([*rendered(report), *(visible(t) for t in served(report, scrub, web))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(alphabet=SECRET_CHARS, min_size=8, max_size=48).filter(
        lambda s: len(set(s)) >= 5
    ),
    limit=st.sampled_from(LIMITS),
    delta=st.integers(min_value=-50, max_value=3),
    from_end=st.booleans(),
)
def test_no_piece_of_a_secret_reaches_any_renderer(
    web: tuple[TestClient, RunRecords], secret: str, limit: int, delta: int, from_end: bool
) -> None:
    text = placed(secret, limit, delta, from_end)
    blank = text.replace(secret, FILLER * len(secret))
    baseline = everything(report_for(blank, "xxxx"), Scrubber(["xxxx"]), web)
    shown = everything(report_for(text, secret), Scrubber([secret]), web)
    pieces = {secret[i : i + 8] for i in range(len(secret) - 7)}
    leaked = sorted(p for p in pieces if p in shown and p not in baseline)
    assert not leaked, f"{leaked} shown"


def test_the_issue_9_secret_at_each_reported_cut(web: tuple[TestClient, RunRecords]) -> None:
    """The reproductions of issue 9: the JUnit message cut at 300 (19 of 35 characters shown),
    the five-whys signature row (letters kept, digits turned to <N>), the setup output's last
    line (`sk\\_live\\_51Hq...`)."""
    secret = "sk_live_51HqLyjWDarjtT1zdp7dcXYZ0123"
    cases = (FILLER * 266 + secret, f"auth failed with key {secret}", secret, FILLER * 190 + secret)
    for text in cases:
        shown = everything(report_for(text, secret), Scrubber([secret]), web)
        normalised = re.sub(r"\d", "", secret)
        assert not any(secret[i : i + 8] in shown for i in range(len(secret) - 7))
        assert normalised[:8] not in shown and "sk_live_" not in shown
