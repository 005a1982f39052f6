"""The deployment gate's decision and its answer's comment, as tables of named cases."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.deployment_gate import Answer, Gate, answer_for, decide
from bot.core.plan import PlanError, PlanProblem, parse_plan
from bot.core.report.deployment_answer import (
    MAX_COMMENT_CHARS,
    fallback_recommendation,
    render_answer_comment,
    render_reason_comment,
)

SHA = "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"
PLAN = parse_plan("deployments: [production]\nphases: [{id: auth, suites: [t.py]}]\n")


def run(run_id: int, status: str, conclusion: str | None = None, ext: str = "") -> dict[str, Any]:
    return {"id": run_id, "status": status, "conclusion": conclusion, "external_id": ext}


PLACEHOLDER = run(1, "completed", "action_required")

# (name, check runs of ours on the commit, expected gate, expected run id to wait for)
CASES = [
    ("no run yet", [], Gate.RUN, None),
    ("only the placeholder", [PLACEHOLDER], Gate.RUN, None),
    ("passed", [PLACEHOLDER, run(2, "completed", "success", "r2")], Gate.APPROVE, None),
    ("failed", [run(2, "completed", "failure", "r2")], Gate.REJECT, None),
    ("timed out", [run(2, "completed", "timed_out", "r2")], Gate.REJECT, None),
    ("cancelled", [run(2, "completed", "cancelled", "r2")], Gate.RUN, None),
    ("queued", [PLACEHOLDER, run(2, "queued", None, "r2")], Gate.WAIT, "r2"),
    ("in progress", [run(2, "in_progress", None, "r2")], Gate.WAIT, "r2"),
    ("in progress without our run id", [run(2, "in_progress")], Gate.RUN, None),
    (
        "newest wins over an older success",
        [run(2, "completed", "success", "r2"), run(3, "completed", "failure", "r3")],
        Gate.REJECT,
        None,
    ),
    (
        "newest wins over an older failure",
        [run(3, "completed", "success", "r3"), run(2, "completed", "failure", "r2")],
        Gate.APPROVE,
        None,
    ),
    (
        "a new run under way after a failure",
        [run(2, "completed", "failure", "r2"), run(3, "queued", None, "r3")],
        Gate.WAIT,
        "r3",
    ),
    ("neutral proves nothing", [run(2, "completed", "neutral")], Gate.RUN, None),
]


@pytest.mark.parametrize(("name", "runs", "gate", "run_id"), CASES, ids=[c[0] for c in CASES])
def test_check_run_state_decides(
    name: str, runs: list[dict[str, Any]], gate: Gate, run_id: str | None
) -> None:
    decision = decide(PLAN, "production", SHA, runs)
    assert decision.gate is gate
    assert decision.run_id == run_id
    assert decision.gated


def test_the_environment_is_matched_as_github_does_without_case() -> None:
    assert decide(PLAN, "Production", SHA, []).gate is Gate.RUN


@pytest.mark.parametrize(
    ("name", "plan", "environment", "gate", "gated", "says"),
    [
        ("environment not listed", PLAN, "staging", Gate.APPROVE, False, "does not gate `staging`"),
        (
            "plan lists none",
            parse_plan("phases: [{id: a, suites: [t.py]}]\n"),
            "production",
            Gate.APPROVE,
            False,
            "it gates no environment",
        ),
        ("no plan at the commit", None, "production", Gate.APPROVE, False, "there is no"),
        (
            "invalid plan",
            PlanError([PlanProblem("p.yml", "phases", "must not be empty")]),
            "production",
            Gate.REJECT,
            True,
            "p.yml: phases: must not be empty",
        ),
    ],
)
def test_answers_without_a_run(
    name: str, plan: Any, environment: str, gate: Gate, gated: bool, says: str
) -> None:
    # A passing check run changes nothing for an environment the plan does not gate.
    decision = decide(plan, environment, SHA, [run(2, "completed", "failure", "r2")])
    assert (decision.gate, decision.gated) == (gate, gated)
    assert says in decision.reason
    assert SHA[:7] in decision.reason


@pytest.mark.parametrize(
    ("conclusion", "answer"),
    [
        ("success", Answer.APPROVED),
        ("failure", Answer.REJECTED),
        ("timed_out", Answer.REJECTED),
        ("cancelled", Answer.REJECTED),
        (None, Answer.REJECTED),
    ],
)
def test_only_a_success_approves(conclusion: str | None, answer: Answer) -> None:
    assert answer_for(conclusion) is answer


def test_the_comment_holds_title_money_recommendation_and_link() -> None:
    text = render_answer_comment(
        check_name="Golden Path P0",
        title="1 of 2 phases failed — $120,000 MRR at risk",
        mrr_at_risk=120_000,
        recommendation="🛑 **HOLD production deployment**: 1 phase missed its criteria.",
        link="https://bot.example.com/runs/abc",
    )
    assert text.splitlines() == [
        "Golden Path P0: 1 of 2 phases failed — $120,000 MRR at risk",
        "Total MRR at risk: $120,000",
        "🛑 HOLD production deployment: 1 phase missed its criteria.",
        "Run: https://bot.example.com/runs/abc",
    ]


def test_the_comment_is_bounded_and_mentions_nobody() -> None:
    text = render_answer_comment(
        check_name="GP",
        title="@admin " + "x" * 5000,
        mrr_at_risk=None,
        recommendation=fallback_recommendation("failure"),
        link="javascript:alert(1)",
    )
    assert len(text) <= MAX_COMMENT_CHARS
    assert "@admin" not in text  # a zero-width joiner follows the @
    assert "javascript" not in text and "MRR" not in text.splitlines()[0][:20]
    assert "HOLD production deployment" in text


def test_a_reason_comment_keeps_the_link() -> None:
    text = render_reason_comment("The golden path could not start.", "https://x.example/runs/1")
    assert text == "The golden path could not start.\nRun: https://x.example/runs/1"
