"""routing.Router: (event, action) keys, composition, dispatch."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.events import Event, MergeGroupEvent, PullRequestEvent
from bot.core.routing import Router
from tests.factories import comment_event


def pull_request(action: str) -> PullRequestEvent:
    return PullRequestEvent(
        delivery_id="d",
        installation_id=1,
        repo="o/r",
        action=action,
        sender="octocat",
        number=7,
        head_sha="a" * 40,
        head_ref="feature",
        head_full_name="o/r",
        base_full_name="o/r",
        base_ref="main",
        is_fork=False,
        before=None,
        draft=False,
        body="",
    )


class Calls:
    """Records (handler name, event, args, kwargs)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Event, tuple[Any, ...], dict[str, Any]]] = []

    def handler(self, name: str) -> Any:
        def handle(event: Event, *args: Any, **kwargs: Any) -> None:
            self.seen.append((name, event, args, kwargs))

        handle.__name__ = name
        return handle


def test_dispatch_calls_the_matching_handler_with_extra_arguments() -> None:
    calls, router = Calls(), Router()
    router.register("issue_comment", action="created")(calls.handler("on_comment"))
    router.register("pull_request", action="opened")(calls.handler("on_opened"))
    event = comment_event()
    assert router.dispatch(event, "client", log="logger") == 1
    assert calls.seen == [("on_comment", event, ("client",), {"log": "logger"})]


def test_no_match_calls_nothing() -> None:
    calls, router = Calls(), Router()
    router.register("pull_request", action="opened")(calls.handler("on_opened"))
    assert router.dispatch(pull_request("synchronize")) == 0
    assert calls.seen == []


def test_action_none_matches_every_action_of_the_event() -> None:
    calls, router = Calls(), Router()
    router.register("pull_request")(calls.handler("any_pr"))
    for action in ("opened", "synchronize", "closed"):
        router.dispatch(pull_request(action))
    assert [event.action for _, event, _, _ in calls.seen] == ["opened", "synchronize", "closed"]


def test_stacked_decorators_answer_several_actions() -> None:
    calls, router = Calls(), Router()
    handler = calls.handler("placeholder")

    @router.register("pull_request", action="opened")
    @router.register("pull_request", action="synchronize")
    def placeholder(event: Event) -> None:
        handler(event)

    router.dispatch(pull_request("opened"))
    router.dispatch(pull_request("synchronize"))
    router.dispatch(pull_request("closed"))
    assert len(calls.seen) == 2


def test_composed_routers_dispatch_to_all_children_in_order() -> None:
    calls = Calls()
    comments, pulls, supersede = Router(), Router(), Router()
    comments.register("issue_comment", action="created")(calls.handler("comments"))
    pulls.register("pull_request", action="synchronize")(calls.handler("placeholder"))
    supersede.register("pull_request", action="synchronize")(calls.handler("supersede"))
    router = Router(comments, pulls, supersede)
    assert router.dispatch(pull_request("synchronize")) == 2
    assert [name for name, *_ in calls.seen] == ["placeholder", "supersede"]


def test_composition_is_live() -> None:
    calls, child = Calls(), Router()
    router = Router(child)
    child.register("merge_group", action="checks_requested")(calls.handler("late"))
    event = MergeGroupEvent(
        delivery_id="d",
        installation_id=1,
        repo="o/r",
        action="checks_requested",
        sender="octocat",
        head_sha="b" * 40,
        head_ref="refs/heads/gh-readonly-queue/main/pr-7-" + "a" * 40,
        base_ref="refs/heads/main",
        reason=None,
    )
    assert router.dispatch(event) == 1


def test_a_handler_reachable_twice_runs_once() -> None:
    calls, child = Calls(), Router()
    handler = calls.handler("once")
    child.register("pull_request")(handler)
    child.register("pull_request", action="opened")(handler)
    assert Router(child, child).dispatch(pull_request("opened")) == 1
    assert len(calls.seen) == 1


def test_handler_errors_propagate() -> None:
    router = Router()

    @router.register("issue_comment", action="created")
    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        router.dispatch(comment_event())


def test_routes_lists_every_registered_pair_across_children() -> None:
    a, b = Router(), Router()
    a.register("issue_comment", action="created")(lambda event: None)
    b.register("pull_request", action="opened")(lambda event: None)
    b.register("pull_request")(lambda event: None)
    b.register("check_run", action="rerequested")(lambda event: None)
    assert Router(a, b).routes() == [
        ("check_run", "rerequested"),
        ("issue_comment", "created"),
        ("pull_request", None),
        ("pull_request", "opened"),
    ]


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("issue_comments", "created"),  # typo in the event
        ("watch", None),  # an event bot.core.events never produces
        ("issue_comment", "edited"),  # an action bot.core.events never produces
        ("pull_request", "labeled"),
    ],
)
def test_registering_what_can_never_fire_is_an_error(event: str, action: str | None) -> None:
    with pytest.raises(ValueError):
        Router().register(event, action=action)
