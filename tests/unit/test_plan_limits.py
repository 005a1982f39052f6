"""Hostile plans cost nothing (contract §4, issue 9): aliases and anchors refused, size, depth,
node count, phases and suites capped, suites kept inside the checkout, error text bounded."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from bot.core import plan

PHASE = "{id: auth, suites: [tests/test_auth.py]}"

# Issue 9's reproduction: nine levels of nine aliases each, 535 bytes; `yaml.safe_load` built
# 9**9 strings from it (39 s, 801 MiB in an events worker).
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + f"phases: [{PHASE}]\n"
)


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(plan.PlanError) as caught:
        plan.parse_plan(text)
    return [(p.key, p.reason) for p in caught.value.problems]


def test_the_alias_bomb_is_refused_at_once_with_bounded_memory() -> None:
    assert len(ALIAS_BOMB.encode()) < 600
    tracemalloc.start()
    started = time.perf_counter()
    try:
        found = problems(ALIAS_BOMB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Generous bounds: what matters is that the cost does not grow with the expansion (9**9).
    assert time.perf_counter() - started < 2.0
    assert peak < 4 * 1024 * 1024
    assert found == [("line 1, column 4", "YAML anchors and aliases are not allowed")]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("an anchor alone", f"check_name: &n P0\nphases: [{PHASE}]\n", "anchors and aliases"),
        ("a merge key", f"x: &x {{a: 1}}\ny: {{<<: *x}}\nphases: [{PHASE}]\n", "aliases"),
        ("over 64 KiB", "# " + "x" * 65_536 + f"\nphases: [{PHASE}]\n", "at most 64 KiB"),
        ("too deep", "env: " + "[" * 30 + "]" * 30 + f"\nphases: [{PHASE}]\n", "nested more"),
        ("too many values", "env: [" + "1," * 25_000 + f"1]\nphases: [{PHASE}]\n", "YAML values"),
        ("a 5,000-digit number", f"timeout_minutes: {'9' * 5000}\nphases: [{PHASE}]\n", "long"),
    ],
)
def test_yaml_past_a_limit_is_a_plan_error(name: str, text: str, expected: str) -> None:
    [(_, reason)] = problems(text)
    assert expected in reason, name


def test_at_most_50_phases_and_100_suites_per_phase() -> None:
    phases = ", ".join(f"{{id: p{i}, suites: [t.py]}}" for i in range(51))
    assert problems(f"phases: [{phases}]\n") == [("phases", "at most 50 items")]
    suites = ", ".join(f"t{i}.py" for i in range(101))
    assert problems(f"phases: [{{id: a, suites: [{suites}]}}]\n") == [
        ("phases[0].suites", "at most 100 items")
    ]
    fifty = ", ".join(f"{{id: p{i}, suites: [t.py]}}" for i in range(50))
    assert len(plan.parse_plan(f"phases: [{fifty}]\n").phases) == 50


@pytest.mark.parametrize(
    ("suite", "refused"),
    [
        ("../other-repo/tests", "leaves the checkout"),
        ("tests/../../etc", "leaves the checkout"),
        ("tests/..::test_x", "leaves the checkout"),
        ("/etc/passwd", "absolute path"),
        ("~/.ssh", "absolute path"),
        ("-p", "starts with '-'"),
        ("--rootdir=/", "starts with '-'"),
        ("tests/test_x.py", None),
        ("tests/test_x.py::TestA::test_b[1..2]", None),
        ("tests/..hidden/test_x.py", None),
    ],
)
def test_suites_stay_inside_the_checkout(suite: str, refused: str | None) -> None:
    text = f'phases: [{{id: a, suites: ["{suite}"]}}]\n'
    if refused is None:
        assert plan.parse_plan(text).phases[0].suites == (suite,)
    else:
        [(key, reason)] = problems(text)
        assert key == "phases[0].suites[0]" and refused in reason


def test_problems_quote_a_short_cut_of_a_huge_input() -> None:
    huge = "X" * 3_900
    for text in (
        f"check_name: [{', '.join([huge] * 15)}]\nphases: [{PHASE}]\n",
        f"phases: [{{id: '{huge}', suites: [t.py]}}]\n",
        f"env: {{'{huge}': v}}\nphases: [{PHASE}]\n",
    ):
        [(_, reason)] = problems(text)
        assert len(reason) < 200, reason


def test_event_tasks_have_a_hard_time_limit() -> None:
    """Whatever the input, an events slot is held for seconds at most (issue 9: event tasks had
    no time limit)."""
    from workers.tasks import handle_event

    assert handle_event.soft_time_limit is not None and handle_event.soft_time_limit <= 20
    assert handle_event.time_limit is not None and handle_event.time_limit <= 30
