"""Comment body to the `/golden-path` commands it holds, in order (pure).

A command is a line starting with `/golden-path` (up to three spaces of indentation, as markdown
allows). Lines inside fenced code blocks, indented code (four spaces or a tab), quotes (`>`) and
HTML comments are text someone is showing, replying to or hiding, never commands (prow's
`DropCodeBlock`, MeeseeksDev's `>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

PREFIX = "/golden-path"
PHASE_ID = re.compile(r"[a-z0-9_-]+")

# "/golden-path" then whitespace or the end of the line: "/golden-pathology" is not a command.
_COMMAND_LINE = re.compile(r"/golden-path(?:\s+(?P<rest>.*))?", re.IGNORECASE)
_FENCE = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>.*)")


@dataclass(frozen=True)
class Run:
    phases: tuple[str, ...] = ()  # empty: every phase of the plan


@dataclass(frozen=True)
class RerunFailed:
    """Run again only the failed and errored tests of the latest completed run."""


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Help:
    reason: str | None = None  # None: asked for help; a reason: not understood (confused + usage)


Command = Run | RerunFailed | Cancel | Status | Help


def parse(body: str) -> list[Command]:
    """Every command line of `body`, in order."""
    return [_parse_line(rest) for rest in _command_lines(body)]


def _command_lines(body: str) -> Iterator[str]:
    """What follows `/golden-path` on each line that is a command (quotes and code skipped)."""
    fence: str | None = None  # the opening fence while inside a fenced block
    in_comment = False  # inside an HTML comment block (`<!--` ... `-->`)
    for line in body.splitlines():
        indent = _indent_width(line)
        text = line.lstrip(" \t")
        if fence is not None:
            if indent < 4 and _closes(text, fence):
                fence = None
            continue
        if in_comment or (indent < 4 and text.startswith("<!--")):
            in_comment = "-->" not in (text[4:] if not in_comment else text)
            continue
        if indent >= 4 or text.startswith(">"):
            continue  # indented code, or a quote
        opening = _FENCE.fullmatch(text.rstrip())
        if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            fence = opening["fence"]
            continue
        match = _COMMAND_LINE.fullmatch(text.rstrip())
        if match:
            yield match["rest"] or ""


def _closes(text: str, fence: str) -> bool:
    """A closing fence: the same character, at least as long, nothing after it but spaces."""
    stripped = text.rstrip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def _indent_width(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _parse_line(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Help()
    subcommand, args = words[0].lower(), words[1:]
    if subcommand == "help":
        return Help()
    if subcommand == "run":
        return _parse_run(rest.split(None, 1)[1] if args else "")
    if subcommand in _NO_ARGUMENTS:
        if args:
            return Help(reason=f"`{subcommand}` takes no arguments")
        return _NO_ARGUMENTS[subcommand]
    return Help(reason=f"unknown command `{_shorten(words[0])}`")


_NO_ARGUMENTS: dict[str, Command] = {
    "rerun-failed": RerunFailed(),
    "cancel": Cancel(),
    "status": Status(),
}


def _parse_run(arguments: str) -> Command:
    """Phase ids separated by spaces and/or commas; duplicates dropped, order kept."""
    phases = [word for word in re.split(r"[\s,]+", arguments) if word]
    bad = [phase for phase in phases if not PHASE_ID.fullmatch(phase)]
    if bad:
        return Help(reason=f"invalid phase id `{_shorten(bad[0])}`: ids match [a-z0-9_-]+")
    return Run(phases=tuple(dict.fromkeys(phases)))


def _shorten(word: str, limit: int = 40) -> str:
    """Echo at most `limit` characters of user text back, without backticks."""
    word = word.replace("`", "'")
    return word if len(word) <= limit else word[:limit] + "…"
