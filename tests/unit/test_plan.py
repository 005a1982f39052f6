"""Plan parsing: defaults, every key, and problems named by file, key path and reason."""

from __future__ import annotations

import textwrap

import pytest

from bot.core import plan
from bot.core.plan import FiveWhys, MergeQueue, PlanError, UnknownPhases

MINIMAL = "phases: [{id: auth, suites: [tests/test_auth.py]}]\n"

FULL = textwrap.dedent(
    """
    check_name: Golden Path P1
    environment: prod-like
    fail_fast: false
    timeout_minutes: 30.5
    auto_run: true
    five_whys: comment
    merge_queue: run
    flaky: pass
    python: python3.12
    env: {STAGING_URL: "https://staging.example.com", PORT: 8080, DEBUG: true}
    pass_env: [E2E_OAUTH_SIMULATION_KEY]
    setup:
      - {name: Deploy to staging, run: ./deploy.sh, timeout_minutes: 5}
    phases:
      - id: auth
        name: Core authentication & session management
        mrr_at_risk: 120000
        timeout_minutes: 10
        retries: 3
        suites: [tests/e2e/test_auth.py, "tests/e2e/test_login.py::test_ok"]
        criteria: {min_pass_rate: 0.95, max_p95_seconds: 2}
      - id: agent_run-2
        suites: [tests/e2e/test_agent.py]
    """
)


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PlanError) as caught:
        plan.parse_plan(text, "plan.yml")
    assert all(p.file == "plan.yml" for p in caught.value.problems)
    return [(p.key, p.reason) for p in caught.value.problems]


def test_defaults_follow_the_contract() -> None:
    parsed = plan.parse_plan(MINIMAL)
    assert parsed.check_name == "Golden Path P0"
    assert parsed.environment == "staging"
    assert parsed.fail_fast is True
    assert parsed.timeout_minutes == 60
    assert parsed.auto_run is False
    assert parsed.five_whys is FiveWhys.ISSUE
    assert parsed.merge_queue is MergeQueue.REUSE
    assert parsed.python is None
    assert parsed.flaky is plan.FlakyPolicy.FAIL and parsed.phases[0].retries == 0
    assert parsed.env == {} and parsed.pass_env == () and parsed.setup == ()
    assert parsed.deployments == () and parsed.tracking_issue is False
    phase = parsed.phases[0]
    assert (phase.name, phase.mrr_at_risk, phase.timeout_minutes) == ("", 0, 15)
    assert phase.criteria.min_pass_rate == 1.0
    assert phase.criteria.max_p95_seconds is None
    assert phase.title == "auth"
    assert phase.shards == 1  # not a contract key: without it a phase runs as one pytest


def test_every_key_is_read() -> None:
    parsed = plan.parse_plan(FULL)
    assert parsed.check_name == "Golden Path P1"
    assert parsed.environment == "prod-like"
    assert parsed.fail_fast is False
    assert parsed.timeout_minutes == 30.5
    assert parsed.auto_run is True
    assert parsed.five_whys is FiveWhys.COMMENT
    assert parsed.merge_queue is MergeQueue.RUN
    assert parsed.python == "python3.12"
    assert parsed.env == {
        "STAGING_URL": "https://staging.example.com",
        "PORT": "8080",
        "DEBUG": "true",
    }
    assert parsed.pass_env == ("E2E_OAUTH_SIMULATION_KEY",)
    assert parsed.setup[0].name == "Deploy to staging"
    assert parsed.setup[0].timeout_minutes == 5
    auth = parsed.phases[0]
    assert auth.title == "Core authentication & session management"
    assert auth.mrr_at_risk == 120000
    assert auth.suites == ("tests/e2e/test_auth.py", "tests/e2e/test_login.py::test_ok")
    assert auth.criteria.min_pass_rate == 0.95
    assert auth.retries == 3 and parsed.flaky is plan.FlakyPolicy.PASS
    assert auth.criteria.max_p95_seconds == 2
    assert parsed.phase_ids == ("auth", "agent_run-2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bogus: 1\n" + MINIMAL, [("bogus", "unknown key")]),
        (
            "phases: [{id: a, suites: [x], criteria: {min_pass_rate: 1, typo: 2}}]",
            [("phases[0].criteria.typo", "unknown key")],
        ),
        ("check_name: x\n", [("phases", "required key is missing")]),
        ("phases: [{id: a}]", [("phases[0].suites", "required key is missing")]),
        ("phases: []", [("phases", "must not be empty")]),
        ("phases: [{id: a, suites: []}]", [("phases[0].suites", "must not be empty")]),
        ("phases: [{id: a, suites: ['  ']}]", [("phases[0].suites[0]", "must not be blank")]),
        (
            "phases: [{id: Auth!, suites: [x]}]",
            [("phases[0].id", "phase id 'Auth!' must match [a-z0-9_-]+")],
        ),
        (
            "phases: [{id: a, suites: [x]}, {id: b, suites: [y]}, {id: a, suites: [z]}]",
            [("phases[2].id", "duplicate phase id 'a' (first used by phases[0])")],
        ),
        (
            "phases: [{id: a, suites: [x], timeout_minutes: 0}]",
            [("phases[0].timeout_minutes", "Input should be greater than 0")],
        ),
        (
            "timeout_minutes: -5\n" + MINIMAL,
            [("timeout_minutes", "Input should be greater than 0")],
        ),
        (
            "setup: [{name: s, run: x, timeout_minutes: -1}]\n" + MINIMAL,
            [("setup[0].timeout_minutes", "Input should be greater than 0")],
        ),
        ("setup: [{name: s}]\n" + MINIMAL, [("setup[0].run", "required key is missing")]),
        (
            "phases: [{id: a, suites: [x], retries: 4}]",
            [("phases[0].retries", "Input should be less than or equal to 3")],
        ),
        (
            "phases: [{id: a, suites: [x], retries: -1}]",
            [("phases[0].retries", "Input should be greater than or equal to 0")],
        ),
        (
            "phases: [{id: a, suites: [x], retries: '2'}]",
            [("phases[0].retries", "Input should be a valid integer (got '2')")],
        ),
        (
            "phases: [{id: a, suites: [x], shards: 17}]",
            [("phases[0].shards", "Input should be less than or equal to 16")],
        ),
        (
            "phases: [{id: a, suites: [x], shards: 0}]",
            [("phases[0].shards", "Input should be greater than or equal to 1")],
        ),
        (
            "phases: [{id: a, suites: [x], shards: '4'}]",
            [("phases[0].shards", "Input should be a valid integer (got '4')")],
        ),
        (
            "flaky: maybe\n" + MINIMAL,
            [("flaky", "Input should be 'fail' or 'pass' (got 'maybe')")],
        ),
        (
            "phases: [{id: a, suites: [x], criteria: {min_pass_rate: 1.5}}]",
            [("phases[0].criteria.min_pass_rate", "Input should be less than or equal to 1")],
        ),
        (
            "phases: [{id: a, suites: [x], criteria: {max_p95_seconds: 0}}]",
            [("phases[0].criteria.max_p95_seconds", "Input should be greater than 0")],
        ),
        (
            "phases: [{id: a, suites: [x], mrr_at_risk: -1}]",
            [("phases[0].mrr_at_risk", "Input should be greater than or equal to 0")],
        ),
        (
            "fail_fast: maybe\n" + MINIMAL,
            [("fail_fast", "Input should be a valid boolean (got 'maybe')")],
        ),
        (
            "phases: [{id: a, suites: [x], mrr_at_risk: '12'}]",
            [("phases[0].mrr_at_risk", "Input should be a valid integer (got '12')")],
        ),
        ("phases: tests/x.py", [("phases", "Input should be a valid list (got 'tests/x.py')")]),
        (
            "five_whys: sometimes\n" + MINIMAL,
            [("five_whys", "Input should be 'issue', 'comment' or 'off' (got 'sometimes')")],
        ),
        (
            "pass_env: [GOOD, 'bad-name', 1X]\n" + MINIMAL,
            [
                ("pass_env[1]", "'bad-name' is not a valid environment variable name"),
                ("pass_env[2]", "'1X' is not a valid environment variable name"),
            ],
        ),
        (
            "env: {'A B': x}\n" + MINIMAL,
            [("env.A B", "'A B' is not a valid environment variable name")],
        ),
        (
            "env: {A: [1, 2]}\n" + MINIMAL,
            [("env.A", "Input should be a valid string (got [1, 2])")],
        ),
        (
            "deployments: [production, '  ']\n" + MINIMAL,
            [("deployments[1]", "must not be blank")],
        ),
        (
            "deployments: [production, Production]\n" + MINIMAL,
            [("deployments", "environment 'Production' is listed twice")],
        ),
        (
            "deployments: production\n" + MINIMAL,
            [("deployments", "Input should be a valid list (got 'production')")],
        ),
        (
            f"deployments: [{'x' * 256}]\n" + MINIMAL,
            [("deployments[0]", "an environment name has at most 255 characters")],
        ),
        (
            f"deployments: [{', '.join(f'e{i}' for i in range(51))}]\n" + MINIMAL,
            [("deployments", "at most 50 items")],
        ),
        (
            "tracking_issue: yes please\n" + MINIMAL,
            [("tracking_issue", "Input should be a valid boolean (got 'yes please')")],
        ),
        ("- a\n- b\n", [("(document)", "expected a mapping of keys")]),
        ("", [("(document)", "the file is empty")]),
    ],
)
def test_problems_name_key_and_reason(text: str, expected: list[tuple[str, str]]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_PRIVATE_KEY",
        "GITHUB_WEBHOOK_SECRET",
        "GITHUB_PRIVATE_KEY_PATH",
        "REDIS_URL",
        "github_private_key",  # names are compared without regard to case
        "Redis_Url",
        "GITHUB_APP_ID",
        "GOLDEN_PATH_SECRETS",
    ],
)
@pytest.mark.parametrize("where", ["env", "pass_env"])
def test_bot_secret_names_are_refused(name: str, where: str) -> None:
    text = f"{where}: {{{name}: x}}\n" if where == "env" else f"pass_env: [{name}]\n"
    key = f"env.{name}" if where == "env" else "pass_env[0]"
    assert problems(text + MINIMAL) == [
        (key, f"{name} is reserved for the bot and is never given to tests")
    ]


def test_one_bad_phase_does_not_also_report_an_empty_list() -> None:
    assert problems("phases: [{id: BAD, suites: [x]}]") == [
        ("phases[0].id", "phase id 'BAD' must match [a-z0-9_-]+")
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems("bogus: 1\nfail_fast: 3\nphases: [{id: a, suites: []}]")
    assert [k for k, _ in found] == ["fail_fast", "phases[0].suites", "bogus"]


def test_invalid_yaml_names_line_and_column() -> None:
    [(key, reason)] = problems("phases:\n  - id: a\n   bad: [\n")
    assert key.startswith("line ")
    assert reason.startswith("invalid YAML: ")


def test_problem_prints_as_file_key_reason() -> None:
    with pytest.raises(PlanError) as caught:
        plan.parse_plan("phases: []", "x.yml")
    assert str(caught.value) == "x.yml: phases: must not be empty"


def test_deployments_and_tracking_issue_are_read() -> None:
    parsed = plan.parse_plan("deployments: [production, eu-prod]\ntracking_issue: true\n" + MINIMAL)
    assert parsed.deployments == ("production", "eu-prod")
    assert parsed.tracking_issue is True
    assert parsed.gates("production") and parsed.gates("PRODUCTION") and parsed.gates("eu-prod")
    assert not parsed.gates("staging")


def test_select_keeps_plan_order_and_names_unknown_ids() -> None:
    parsed = plan.parse_plan(FULL)
    assert parsed.select(None) == ("auth", "agent_run-2")
    assert parsed.select(["agent_run-2", "auth"]) == ("auth", "agent_run-2")
    with pytest.raises(UnknownPhases) as caught:
        parsed.select(["auth", "nope", "nope"])
    assert caught.value.unknown == ("nope",)
    assert caught.value.known == ("auth", "agent_run-2")
