"""Real webhook payloads (from @octokit/webhooks-examples, kept in `sandbox/payloads/`), and how
they are pointed at the sandbox: repository names, URLs, installation, users."""

from __future__ import annotations

import functools
import json
import zlib
from pathlib import Path
from typing import Any, cast

PAYLOADS = Path(__file__).parent / "payloads"

_GITHUB_PREFIXES = ("https://github.com/", "http://github.com/", "git://github.com/")


@functools.cache
def _payload_text(name: str) -> str:
    return (PAYLOADS / f"{name}.json").read_text(encoding="utf-8")


def load_payload(name: str) -> dict[str, Any]:
    """A fresh copy of a stored example, e.g. `load_payload("pull_request.opened")`."""
    return cast(dict[str, Any], json.loads(_payload_text(name)))


def user_id(login: str) -> int:
    """A stable fake id for a login (the fake GitHub server uses the same rule)."""
    return zlib.crc32(login.encode()) % 10_000_000 + 1_000


def user(login: str, user_type: str = "User", *, base_url: str = "") -> dict[str, Any]:
    return {
        "login": login,
        "id": user_id(login),
        "node_id": f"U_{user_id(login)}",
        "type": user_type,
        "site_admin": False,
        "url": f"{base_url}/users/{login}",
        "html_url": f"{base_url}/{login}",
    }


# --- retargeting -------------------------------------------------------------------------------


def _rewrite_strings(value: Any, replacements: list[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite_strings(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite_strings(v, replacements) for v in value]
    if isinstance(value, str):
        for old, new in replacements:
            if value.startswith(old):
                return new + value[len(old) :]
    return value


def _url_replacements(old: str, new: str, base_url: str) -> list[tuple[str, str]]:
    pairs = [(f"https://api.github.com/repos/{old}", f"{base_url}/repos/{new}")]
    pairs += [(f"{prefix}{old}", f"{base_url}/{new}") for prefix in _GITHUB_PREFIXES]
    pairs.append((f"git@github.com:{old}", f"{base_url}/{new}"))
    return pairs


def retarget_repo(repo: dict[str, Any], full_name: str, base_url: str) -> None:
    owner, name = full_name.split("/", 1)
    repo.update(full_name=full_name, name=name)
    if isinstance(repo.get("owner"), dict):
        repo["owner"].update(user(owner, repo["owner"].get("type", "User"), base_url=base_url))


def for_repo(
    payload: dict[str, Any], full_name: str, *, installation_id: int, base_url: str
) -> dict[str, Any]:
    """Point a payload at `full_name` on the sandbox: names, URLs, installation."""
    base_url = base_url.rstrip("/")
    old = payload["repository"]["full_name"]
    # a dict in, a dict out: only strings inside it are rewritten
    out: dict[str, Any] = _rewrite_strings(payload, _url_replacements(old, full_name, base_url))
    retarget_repo(out["repository"], full_name, base_url)
    if isinstance(out.get("organization"), dict):
        out["organization"]["login"] = full_name.split("/", 1)[0]
    out["installation"] = {"id": installation_id}
    return out
