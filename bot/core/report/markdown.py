"""GitHub's length limits and the filters that make untrusted text safe Markdown: no
@mention, no HTML, nothing that breaks a table, a fence or `<details>`; cuts that fit a limit."""

from __future__ import annotations

import html
import re

MAX_OUTPUT_CHARS = 65_535  # check-run output summary and text


MAX_BODY_CHARS = 65_536  # issue and comment bodies


MAX_TITLE_CHARS = 255  # check-run output title, annotation title


MAX_ISSUE_TITLE_CHARS = 256


MAX_ANNOTATIONS = 1_000  # per run we send at most this many


MAX_ANNOTATION_BYTES = 64 * 1024  # annotation message and raw_details


EXCERPT_CHARS = 2_000


TRACEBACK_CHARS = 4_000


MAX_LISTED = 50  # list items (tests, problems) before "… and N more"


MAX_PATTERNS_LISTED = 10


ZWJ = "\u200d"  # after `@` it keeps GitHub from seeing a mention; invisible when rendered


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_MENTION_RE = re.compile(r"@(?=[A-Za-z0-9_])")


_ISSUE_REF_RE = re.compile(r"#(?=\d)")


_MD_PUNCT_RE = re.compile(r"([\\`*_\[\]|~#!])")


_LINE_START_RE = re.compile(r"^(\s*)([-+=]|\d+[.)])")


_BACKTICKS_RE = re.compile(r"`+")


def clean(value: object) -> str:
    return _CONTROL_RE.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")


def defuse(text: str) -> str:
    """No `@mention`, no `#123` cross-reference."""
    return _ISSUE_REF_RE.sub("#" + ZWJ, _MENTION_RE.sub("@" + ZWJ, text))


def md(value: object) -> str:
    """Inline Markdown text, safe in a paragraph, list item, heading or table cell."""
    text = " ".join(clean(value).split("\n"))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT_RE.sub(r"\\\1", text)
    text = _LINE_START_RE.sub(r"\1\\\2", text)
    return defuse(text)


def code(value: object, table: bool = False) -> str:
    """An inline code span that no backtick run inside can close (GitHub leaves code alone)."""
    text = " ".join(clean(value).split("\n"))
    if not text.strip():
        return md(text or "(empty)")
    ticks = "`" * (max((len(run) for run in _BACKTICKS_RE.findall(text)), default=0) + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    if table:
        text = text.replace("|", "\\|")
    return f"{ticks}{text}{ticks}"


_CODE_SPAN_RE = re.compile(r"(`+)([^`\n]+?)\1(?!`)")


def rich(value: object) -> str:
    """Like `md`, but `inline code` in the text stays code (our own reasons use it)."""
    text = " ".join(clean(value).split("\n"))
    out, start = [], 0
    for match in _CODE_SPAN_RE.finditer(text):
        out.append(md(text[start : match.start()]))
        out.append(code(match.group(2).strip() or match.group(2)))
        start = match.end()
    out.append(md(text[start:]))
    return "".join(out)


def fence(value: object, info: str = "text") -> str:
    """A fenced block longer than any backtick run inside it, so nothing can close it early."""
    text = clean(value).rstrip()
    ticks = "`" * max(3, max((len(run) for run in _BACKTICKS_RE.findall(text)), default=0) + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def html_text(value: object) -> str:
    """Text inside an HTML element (`<summary>`): escaped, on one line."""
    return defuse(html.escape(" ".join(clean(value).split()), quote=True))


def url(value: object) -> str:
    """A link target we trust the origin of (GitHub, our settings); refuse anything else."""
    text = str(value or "")
    if not re.match(r"^https?://", text):
        return ""
    return re.sub(r"[\s()<>\"'`]", lambda m: f"%{ord(m.group()):02X}", text)


def oneline(value: object, limit: int = MAX_TITLE_CHARS) -> str:
    """Plain text on one line, cut at a word with `…` (titles)."""
    text = " ".join(clean(value).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def cut_chars(text: str, limit: int, *, keep: str = "head") -> str:
    """At most `limit` characters, cut at a line boundary where one is near; `…` marks the cut."""
    if len(text) <= limit:
        return text
    note = "… (cut)"
    room = max(0, limit - len(note) - 1)
    if keep == "tail":
        part = text[len(text) - room :]
        newline = part.find("\n")
        part = part[newline + 1 :] if 0 <= newline < room // 2 else part
        return f"{note}\n{part}"
    part = text[:room]
    newline = part.rfind("\n")
    part = part[:newline] if newline > room // 2 else part
    return f"{part}\n{note}"


def cut_bytes(text: str, limit: int, *, keep: str = "head") -> str:
    """At most `limit` UTF-8 bytes, cut cleanly (never inside a character)."""
    if len(text.encode("utf-8")) <= limit:
        return text
    chars = limit
    while True:
        out = cut_chars(text, chars, keep=keep)
        if len(out.encode("utf-8")) <= limit:
            return out
        chars = max(1, chars * limit // len(out.encode("utf-8")) - 8)
