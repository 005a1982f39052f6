"""YAML text to plain Python values at a bounded cost, whoever wrote the text.

A plan comes from any pull request, forks included, and is read in the events worker. PyYAML's
`safe_load` expands aliases: a 535-byte "billion laughs" plan took 39 s and 801 MiB (issue 9).
This loader refuses anchors and aliases outright (contract §4) and caps the size, the nesting
depth and the number of nodes while the document is being composed, before any Python object of
it is built, so the cost of any input is bounded by the caps, not by the input.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_PLAN_BYTES = 64 * 1024
MAX_DEPTH = 20
MAX_NODES = 20_000
# Python refuses to turn longer digit strings into an int (a ValueError, not a YAMLError).
MAX_SCALAR_CHARS = 4_000


class YamlLimitError(ValueError):
    """The text is refused; `where` is a position ("line 3, column 5") or "(document)"."""

    def __init__(self, where: str, reason: str):
        super().__init__(reason)
        self.where = where
        self.reason = reason


class _BoundedLoader(yaml.SafeLoader):
    """`SafeLoader` that counts nodes and depth and refuses anchors and aliases as it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        # types-PyYAML leaves Parser.peek_event unannotated (it returns an Event)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlLimitError(_where(event), "YAML anchors and aliases are not allowed")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLimitError(_where(event), f"more than {MAX_NODES:,} YAML values")
        if self._depth >= MAX_DEPTH:
            raise YamlLimitError(_where(event), f"nested more than {MAX_DEPTH} levels deep")
        value = getattr(event, "value", None)
        if isinstance(value, str) and len(value) > MAX_SCALAR_CHARS:
            raise YamlLimitError(_where(event), f"a value longer than {MAX_SCALAR_CHARS:,} chars")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _where(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"


def load(text: str) -> Any:
    """One YAML document as plain values; `YamlLimitError` past a limit, `yaml.YAMLError` when
    it is not YAML."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_PLAN_BYTES:
        raise YamlLimitError("(document)", f"the file is {size:,} bytes; at most 64 KiB")
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
