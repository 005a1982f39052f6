"""commands.parse: named cases (prow) and should / should-not bodies (conda-forge)."""

from __future__ import annotations

import pytest

from bot.core.commands import Cancel, Command, Help, RerunFailed, Run, Status, parse

CASES: list[tuple[str, str, list[Command]]] = [
    # name, comment body, commands
    ("bare prefix asks for help", "/golden-path", [Help()]),
    ("help", "/golden-path help", [Help()]),
    ("run everything", "/golden-path run", [Run()]),
    ("run one phase", "/golden-path run auth", [Run(("auth",))]),
    ("run phases by spaces", "/golden-path run auth billing", [Run(("auth", "billing"))]),
    ("run phases by commas", "/golden-path run auth,billing", [Run(("auth", "billing"))]),
    ("run phases by comma and space", "/golden-path run auth, billing", [Run(("auth", "billing"))]),
    ("duplicate phases once, in order", "/golden-path run b a b", [Run(("b", "a"))]),
    ("phase ids with digits dash underscore", "/golden-path run p0_auth-2", [Run(("p0_auth-2",))]),
    ("cancel", "/golden-path cancel", [Cancel()]),
    ("rerun-failed", "/golden-path rerun-failed", [RerunFailed()]),
    ("rerun-failed case-insensitive", "/golden-path Rerun-Failed", [RerunFailed()]),
    (
        "rerun-failed takes no phases",
        "/golden-path rerun-failed auth",
        [Help(reason="`rerun-failed` takes no arguments")],
    ),
    (
        "rerun alone is not a command",
        "/golden-path rerun",
        [Help(reason="unknown command `rerun`")],
    ),
    ("status", "/golden-path status", [Status()]),
    ("subcommand case-insensitive", "/golden-path RUN auth", [Run(("auth",))]),
    ("prefix case-insensitive", "/Golden-Path Status", [Status()]),
    ("leading spaces allowed", "   /golden-path status", [Status()]),
    ("trailing spaces allowed", "/golden-path status   ", [Status()]),
    ("tab between words", "/golden-path\trun\tauth", [Run(("auth",))]),
    ("windows line endings", "hi\r\n/golden-path cancel\r\n", [Cancel()]),
    ("command after prose", "Looks good!\n\n/golden-path run", [Run()]),
    (
        "several commands in order",
        "/golden-path status\n/golden-path run ui\n/golden-path cancel",
        [Status(), Run(("ui",)), Cancel()],
    ),
    # Not understood: usage + confused reaction.
    ("unknown subcommand", "/golden-path deploy", [Help("unknown command `deploy`")]),
    (
        "uppercase phase id",
        "/golden-path run Auth",
        [Help("invalid phase id `Auth`: ids match [a-z0-9_-]+")],
    ),
    (
        "phase id with a dot",
        "/golden-path run auth.v2",
        [Help("invalid phase id `auth.v2`: ids match [a-z0-9_-]+")],
    ),
    (
        "mention instead of a phase",
        "/golden-path run @octocat",
        [Help("invalid phase id `@octocat`: ids match [a-z0-9_-]+")],
    ),
    ("cancel with arguments", "/golden-path cancel now", [Help("`cancel` takes no arguments")]),
    ("status with arguments", "/golden-path status auth", [Help("`status` takes no arguments")]),
    (
        "backticks in the echo are neutralised",
        "/golden-path `x`",
        [Help("unknown command `'x'`")],
    ),
    (
        "long unknown word is shortened",
        "/golden-path " + "x" * 100,
        [Help("unknown command `" + "x" * 40 + "…`")],
    ),
    (
        "fence closed by a longer fence",
        "````\n/golden-path run\n``````\n/golden-path status",
        [Status()],
    ),
    (
        "fence info string",
        "```python\n/golden-path run\n```\n/golden-path cancel",
        [Cancel()],
    ),
    (
        "inline triple backticks are not a fence",
        "``` /golden-path run ```\n/golden-path status",
        [Status()],
    ),
    ("html comment on one line, then a command", "<!-- note -->\n/golden-path run", [Run()]),
]

NOT_COMMANDS: list[tuple[str, str]] = [
    ("empty comment", ""),
    ("prose mention", "please /golden-path run this"),
    ("prefix of a longer word", "/golden-pathology"),
    ("prefix glued to a subcommand", "/golden-path-run"),
    ("glued with a colon", "/golden-path:run"),
    ("other bot", "/test all"),
    ("quoted", "> /golden-path run"),
    ("quoted with indent", "  > /golden-path run"),
    ("nested quote", ">> /golden-path run"),
    ("inside a backtick fence", "```\n/golden-path run\n```"),
    ("inside a tilde fence", "~~~\n/golden-path run\n~~~"),
    ("inside an indented fence", "  ```\n  /golden-path run\n  ```"),
    ("unclosed fence runs to the end", "```\n/golden-path run"),
    ("tilde fence not closed by backticks", "~~~\n```\n/golden-path run\n```"),
    ("fence not closed by a shorter one", "````\n```\n/golden-path run\n```"),
    ("closing fence cannot carry text", "```\n``` not closed\n/golden-path run"),
    ("indented code by four spaces", "    /golden-path run"),
    ("indented code by a tab", "\t/golden-path run"),
    ("inline code", "`/golden-path run`"),
    ("list item", "- /golden-path run"),
    ("html comment", "<!--\n/golden-path run\n-->"),
    ("html comment on one line", "<!-- /golden-path run -->"),
]


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[name for name, _, _ in CASES])
def test_should(name: str, body: str, expected: list[Command]) -> None:
    assert parse(body) == expected


@pytest.mark.parametrize(("name", "body"), NOT_COMMANDS, ids=[name for name, _ in NOT_COMMANDS])
def test_should_not(name: str, body: str) -> None:
    assert parse(body) == []


def test_a_real_review_comment() -> None:
    body = """Thanks! Before merging:

> /golden-path run
> was what you asked for last time, but the plan changed:

```yaml
phases:
  - id: auth
/golden-path cancel
```

/golden-path run auth, checkout
/golden-path status
"""
    assert parse(body) == [Run(("auth", "checkout")), Status()]


def test_help_with_a_reason_differs_from_plain_help() -> None:
    assert Help() != Help("unknown command `x`")
    assert Help().reason is None
