"""The dashboard's decisions as tables: filters, pages, visibility, links, trends, plots."""

from __future__ import annotations

import pytest

from bot.core.run_model import RunRecord, RunState
from bot.web import links, plots, trends, views


def record(**fields: object) -> RunRecord:
    base: dict[str, object] = {"installation_id": 1, "repo": "acme/app", "head_sha": "a" * 40}
    return RunRecord(**{**base, **fields})


@pytest.mark.parametrize(
    ("name", "query", "expected"),
    [
        ("nothing", {}, views.Filters()),
        (
            "all four",
            {
                "repo": "acme/app",
                "pr": "12",
                "environment": "staging",
                "conclusion": "failure",
                "page": "3",
            },
            views.Filters("acme/app", 12, "staging", "failure", 3),
        ),
        ("repo must be owner/name", {"repo": "../etc"}, views.Filters()),
        ("pr must be a number", {"pr": "12; drop"}, views.Filters()),
        ("unknown conclusion dropped", {"conclusion": "neutral"}, views.Filters()),
        ("page zero is the first", {"page": "0"}, views.Filters()),
        ("page capped", {"page": "9999"}, views.Filters(page=views.MAX_PAGE)),
        ("environment with a space dropped", {"environment": "a b"}, views.Filters()),
    ],
)
def test_parse_filters(name, query, expected):
    assert views.parse_filters(query) == expected, name


@pytest.mark.parametrize(
    ("name", "filters", "shown"),
    [
        ("no filter", views.Filters(), True),
        ("same repo", views.Filters(repo="acme/app"), True),
        ("other repo", views.Filters(repo="acme/other"), False),
        ("same pr", views.Filters(pr=7), True),
        ("other pr", views.Filters(pr=8), False),
        ("environment", views.Filters(environment="staging"), True),
        ("other environment", views.Filters(environment="prod"), False),
        ("conclusion", views.Filters(conclusion="failure"), True),
        ("other conclusion", views.Filters(conclusion="success"), False),
    ],
)
def test_matches(name, filters, shown):
    run = record(pr_number=7, environment="staging", conclusion="failure", state=RunState.COMPLETED)
    assert views.matches(run, filters) is shown, name


def test_running_runs_filter_as_running():
    assert views.matches(record(state=RunState.RUNNING), views.Filters(conclusion="running"))


def test_only_readable_repositories_are_visible():
    runs = [record(repo="acme/app"), record(repo="acme/secret")]
    assert [r.repo for r in views.visible(runs, frozenset({"acme/app"}))] == ["acme/app"]
    assert views.visible(runs, frozenset()) == []


@pytest.mark.parametrize(
    ("name", "count", "page", "size", "has_next"),
    [
        ("first of many", 60, 1, 25, True),
        ("last full", 50, 2, 25, False),
        ("past the end", 10, 3, 0, False),
        ("exactly one page", 25, 1, 25, False),
    ],
)
def test_page_of(name, count, page, size, has_next):
    items, more = views.page_of(list(range(count)), page)
    assert (len(items), more) == (size, has_next), name


def test_filter_query_keeps_filters_across_pages():
    assert views.Filters(repo="acme/app", pr=3).query(2) == "repo=acme%2Fapp&pr=3&page=2"


@pytest.mark.parametrize(
    ("name", "token", "secret", "ok"),
    [
        ("its own token", links.sign("abc123abc123", "k" * 32), "k" * 32, True),
        ("another run's token", links.sign("ffffffffffff", "k" * 32), "k" * 32, False),
        ("signed with another secret", links.sign("abc123abc123", "x" * 32), "k" * 32, False),
        ("no token", None, "k" * 32, False),
        ("no secret configured", links.sign("abc123abc123", "k" * 32), None, False),
        ("absurdly long", "a" * 5000, "k" * 32, False),
    ],
)
def test_signed_links(name, token, secret, ok):
    assert links.verify("abc123abc123", token, secret) is ok, name


def test_run_url_carries_the_token_only_with_a_secret():
    assert links.run_url("https://bot.example/", "abc", None) == "https://bot.example/runs/abc"
    signed = links.run_url("https://bot.example", "abc", "k" * 32)
    assert signed == f"https://bot.example/runs/abc?token={links.sign('abc', 'k' * 32)}"


def test_phase_trends_oldest_first_only_phases_that_ran():
    newest = record(
        run_id="000000000002",
        head_sha="b" * 40,
        conclusion="failure",
        verdicts=[
            {
                "phase_id": "auth",
                "status": "failed",
                "pass_rate": 0.5,
                "p95_seconds": 2.0,
                "duration_seconds": 9.0,
            },
            {"phase_id": "agent", "status": "not_run"},
        ],
    )
    older = record(
        run_id="000000000001",
        conclusion="success",
        verdicts=[
            {
                "phase_id": "auth",
                "status": "passed",
                "pass_rate": 1.0,
                "p95_seconds": 1.0,
                "duration_seconds": 5.0,
            },
        ],
    )
    running = record(run_id="000000000003", verdicts=[{"phase_id": "auth", "status": "running"}])
    got = trends.phase_trends([running, newest, older])
    assert [t.phase_id for t in got] == ["auth"]
    assert got[0].series("pass_rate") == [("aaaaaaa", 1.0), ("bbbbbbb", 0.5)]
    assert got[0].series("duration_seconds") == [("aaaaaaa", 5.0), ("bbbbbbb", 9.0)]


def test_frequent_patterns_count_runs():
    pattern = {"key": "k1", "short": "TimeoutError: x", "five_whys_url": "u"}
    runs = [record(patterns=[pattern]), record(patterns=[pattern]), record(patterns=[])]
    assert trends.frequent_patterns(runs) == [{**pattern, "runs": 2}]


def test_plot_is_an_accessible_svg_with_escaped_labels():
    svg = plots.line_chart(
        "auth <pass rate>", [("<b>", 0.5), ("c2", 1.0)], fmt=views.percent, ceiling=1.0
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and "<title>auth &lt;pass rate&gt;</title>" in svg
    assert "<b>" not in svg and "&lt;b&gt;: 50%" in svg
    assert svg.count("<circle") == 2 and "<polyline" in svg
    assert "style=" not in svg  # a strict CSP would block it


def test_plot_without_data_says_so():
    assert "no runs yet" in plots.line_chart("p95", [])
