"""Which GitHub answers are retried, and after how long: `bot.github.faults`, pure tables."""

from __future__ import annotations

import random

import pytest

from bot.github.faults import Answer, Bound, Fault, classify, decide

NOW = 1_700_000_000.0
BOUND = Bound(attempts=5, total_seconds=60.0, longest_wait=30.0)


def answer(status: int | None, message: str = "", **headers: str) -> Answer:
    return Answer(status, {k.replace("_", "-"): v for k, v in headers.items()}, message)


# (name, answer, fault)
KINDS = [
    ("502 bad gateway", answer(502), Fault.TRANSIENT),
    ("503 unavailable", answer(503), Fault.TRANSIENT),
    ("no answer: timeout or reset", answer(None, "Read timed out"), Fault.TRANSIENT),
    (
        "primary limit",
        answer(403, "API rate limit exceeded", x_ratelimit_remaining="0"),
        Fault.PRIMARY,
    ),
    ("primary limit, 429", answer(429, "", x_ratelimit_remaining="0"), Fault.PRIMARY),
    ("secondary, retry-after", answer(403, "whatever", retry_after="7"), Fault.SECONDARY),
    (
        "secondary, by message",
        answer(403, "You have exceeded a secondary rate limit"),
        Fault.SECONDARY,
    ),
    ("429 without headers", answer(429), Fault.SECONDARY),
    ("403 forbidden: a real refusal", answer(403, "Resource not accessible"), Fault.NONE),
    ("404", answer(404), Fault.NONE),
    ("422 validation", answer(422, "Validation Failed"), Fault.NONE),
    ("401 bad credentials", answer(401), Fault.NONE),
]


@pytest.mark.parametrize(("given", "fault"), [pytest.param(a, f, id=n) for n, a, f in KINDS])
def test_classify(given: Answer, fault: Fault) -> None:
    assert classify(given) is fault


# (name, answer, attempt, waited, idempotent, retry?, wait range)
DECISIONS = [
    ("5xx, first try: short jittered wait", answer(502), 0, 0.0, True, True, (0.125, 0.5)),
    ("5xx, third try: longer", answer(502), 2, 1.0, True, True, (0.375, 2.0)),
    ("5xx, out of attempts", answer(502), 4, 3.0, True, False, None),
    ("5xx on a create: never repeated here", answer(502), 0, 0.0, False, False, None),
    ("timeout on a create: never repeated here", answer(None), 0, 0.0, False, False, None),
    (
        "rate limit on a create: GitHub did nothing",
        answer(429, retry_after="2"),
        0,
        0,
        False,
        True,
        (2, 2),
    ),
    ("secondary: waits what GitHub says", answer(403, retry_after="3"), 0, 0.0, True, True, (3, 3)),
    ("secondary past the longest wait", answer(403, retry_after="120"), 0, 0.0, True, False, None),
    (
        "primary: waits until the reset",
        answer(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) + 10)),
        0,
        0.0,
        True,
        True,
        (10, 10),
    ),
    (
        "primary, reset an hour away: a clear failure now",
        answer(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) + 3600)),
        0,
        0.0,
        True,
        False,
        None,
    ),
    ("total bound reached", answer(403, retry_after="20"), 1, 50.0, True, False, None),
    ("not a fault", answer(404), 0, 0.0, True, False, None),
]


@pytest.mark.parametrize(
    ("given", "attempt", "waited", "idempotent", "retry", "wait"),
    [pytest.param(*case[1:], id=case[0]) for case in DECISIONS],
)
def test_decide(
    given: Answer,
    attempt: int,
    waited: float,
    idempotent: bool,
    retry: bool,
    wait: tuple[float, float] | None,
) -> None:
    for seed in range(20):  # jitter: the bounds hold for every draw
        decision = decide(
            given,
            attempt=attempt,
            waited=waited,
            bound=BOUND,
            now=NOW,
            idempotent=idempotent,
            rng=random.Random(seed),
        )
        assert decision.retry is retry, decision.why
        if wait is not None:
            assert wait[0] <= decision.wait <= wait[1]


def test_jitter_spreads_workers_that_failed_together() -> None:
    waits = {
        round(
            decide(
                answer(502), attempt=3, waited=0, bound=BOUND, now=NOW, rng=random.Random(s)
            ).wait,
            3,
        )
        for s in range(20)
    }
    assert len(waits) > 10
