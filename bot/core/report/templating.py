"""The one Jinja2 environment (templates/ only format; every untrusted value goes through a
`markdown` filter), and `fit`: the longest rendering that fits a limit."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jinja2

from bot.core.report.markdown import code, cut_chars, fence, html_text, md, oneline, rich, url

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("templates", ""),
    autoescape=False,  # Markdown, not HTML: each untrusted value gets the filter its place needs
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


ENV.filters.update(
    md=md, rich=rich, code=code, fence=fence, html=html_text, url=url, oneline=oneline
)


def render_template(name: str, **context: Any) -> str:
    text = ENV.get_template(name).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def fit(render: Callable[[int], str], count: int, limit: int) -> str:
    """The longest rendering, showing the first k of `count` items, that fits in `limit`."""
    out = render(count)
    if len(out) <= limit:
        return out
    low, high = 0, count
    while low < high:
        mid = (low + high + 1) // 2
        if len(render(mid)) <= limit:
            low = mid
        else:
            high = mid - 1
    out = render(low)
    return out if len(out) <= limit else cut_chars(out, limit)
