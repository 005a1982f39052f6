"""The real GitHub client satisfies every narrow protocol a handler or job declares (issue 8).

Statically: mypy (`[tool.mypy]` in pyproject.toml lists this file) checks the assignments in
`_satisfies`, which is never called. At run time: every method a protocol names exists on the
client and takes the parameters the protocol gives it, by name and kind.
"""

from __future__ import annotations

import inspect

import pytest

from bot.github.client import RepoClient
from bot.handlers.context import CheckRunUpdates, GateAnswers, GitHub
from workers.job.ports import RunClient
from workers.job.tracking_issue import IssueClient
from workers.publish import PublishClient

PROTOCOLS: list[type] = [
    GitHub,
    GateAnswers,
    CheckRunUpdates,
    PublishClient,
    IssueClient,
    RunClient,
]


def _satisfies(client: RepoClient) -> None:
    """Never called: mypy reports any protocol the client no longer satisfies."""
    handlers: GitHub = client
    gates: GateAnswers = client
    check_runs: CheckRunUpdates = client
    publishing: PublishClient = client
    tracking: IssueClient = client
    run: RunClient = client
    del handlers, gates, check_runs, publishing, tracking, run


def _members(protocol: type) -> list[str]:
    return sorted(
        name
        for cls in protocol.__mro__
        if cls is not object and getattr(cls, "_is_protocol", False)
        for name in vars(cls)
        if not name.startswith("_")
    )


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"{p.__module__}.{p.__name__}")
def test_the_client_has_what_the_protocol_names(protocol: type) -> None:
    for name in _members(protocol):
        declared, real = getattr(protocol, name), getattr(RepoClient, name, None)
        assert real is not None, f"RepoClient has no {name}"
        if isinstance(declared, property):
            assert isinstance(real, property), name
            continue
        wanted = inspect.signature(declared).parameters
        given = inspect.signature(real).parameters
        for param in wanted.values():
            assert param.name in given, f"{name}: RepoClient takes no {param.name}"
            assert given[param.name].kind == param.kind, f"{name}({param.name})"
