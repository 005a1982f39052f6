"""Issue numbers a pull request body closes with a keyword (`Fixes #12`), as GitHub reads them."""

from __future__ import annotations

import re

_FENCE_RE = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=fence)[`~]*[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
_INDENTED_CODE_RE = re.compile(r"(?:(?<=\n\n)|\A)(?:(?: {4}|\t)[^\n]*(?:\n|\Z))+")
_INLINE_CODE_RE = re.compile(r"(?P<ticks>`+)(?!`).*?(?<!`)(?P=ticks)(?!`)", re.DOTALL)
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)

_KEYWORD = r"(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)"
_REF_RE = re.compile(
    rf"(?<![\w/-]){_KEYWORD}(?::[ \t]*|[ \t]+)"
    r"(?:"
    r"#(?P<local>\d+)"
    r"|(?P<owner>[A-Za-z0-9][\w.-]*)/(?P<name>[\w.-]+)#(?P<qualified>\d+)"
    r"|https?://[^/\s]+/(?P<url_owner>[\w.-]+)/(?P<url_name>[\w.-]+)/issues/(?P<url>\d+)"
    r")(?![\w/])",
    re.IGNORECASE,
)


def strip_code(body: str) -> str:
    """The body without fenced, indented and inline code, nor HTML comments."""
    body = body.replace("\r\n", "\n")
    body = _HTML_COMMENT_RE.sub(" ", body)
    body = _FENCE_RE.sub("\n", body)
    body = _INDENTED_CODE_RE.sub("\n", body)
    return _INLINE_CODE_RE.sub(" ", body)


def closing_refs(body: str | None, repo: str) -> list[int]:
    """Sorted unique issue numbers of `repo` ("owner/name") that `body` closes."""
    if not body:
        return []
    this_repo = repo.lower()
    found: set[int] = set()
    for match in _REF_RE.finditer(strip_code(body)):
        if match["local"]:
            found.add(int(match["local"]))
        elif match["qualified"] and f"{match['owner']}/{match['name']}".lower() == this_repo:
            found.add(int(match["qualified"]))
        elif match["url"] and f"{match['url_owner']}/{match['url_name']}".lower() == this_repo:
            found.add(int(match["url"]))
    found.discard(0)
    return sorted(found)
