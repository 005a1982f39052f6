"""Comments on issues and pull requests, and reactions to them."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.fake_github.rules import MAX_COMMENT_CHARS, REACTIONS, invalid, not_found, now_iso
from sandbox.fake_github.state.core import StateCore


class CommentState(StateCore):
    """Issue comments (pull request conversation comments included) and their reactions."""

    def add_comment(
        self,
        full_name: str,
        number: int,
        body: object,  # as the request gave it: checked here, like GitHub does
        *,
        user: str = "octocat",
        user_type: str = "User",
        via_app: bool = False,
    ) -> dict[str, Any]:
        if not isinstance(body, str) or not body:
            raise invalid("Validation Failed", "body", "missing_field")
        if len(body) > MAX_COMMENT_CHARS:
            raise invalid("Body is too long (maximum is 65536 characters)", "body", "custom")
        with self.lock:
            issue = self._issue(full_name, number)
            stamp = now_iso()
            comment: dict[str, Any] = {
                "id": self.new_id(),
                "repo": full_name,
                "number": int(number),
                "is_pull": issue["pull"] is not None,
                "body": body,
                "user": user,
                "user_type": user_type,
                "via_app": via_app,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.comments[comment["id"]] = comment
            return copy.deepcopy(comment)

    def _comment(self, full_name: str, comment_id: int) -> dict[str, Any]:
        comment = self.comments.get(int(comment_id))
        if comment is None or comment["repo"] != full_name:
            raise not_found()
        return comment

    def comment(self, full_name: str, comment_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._comment(full_name, comment_id))

    def edit_comment(self, full_name: str, comment_id: int, body: object) -> dict[str, Any]:
        if not isinstance(body, str) or len(body) > MAX_COMMENT_CHARS:
            raise invalid("Body is too long (maximum is 65536 characters)", "body", "custom")
        with self.lock:
            comment = self._comment(full_name, comment_id)
            comment.update(body=body, updated_at=now_iso())
            return copy.deepcopy(comment)

    def comments_on(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            self._issue(full_name, number)
            found = [
                c
                for c in self.comments.values()
                if c["repo"] == full_name and c["number"] == number
            ]
            return copy.deepcopy(sorted(found, key=lambda c: c["id"]))

    def react(
        self, full_name: str, comment_id: int, content: Any, user: str, user_type: str
    ) -> tuple[dict[str, Any], bool]:
        """Add a reaction; `(reaction, created)`: GitHub answers 200 for a repeat, 201 if new."""
        if content not in REACTIONS:
            raise invalid("Validation Failed", "content", "invalid")
        with self.lock:
            self._comment(full_name, comment_id)
            existing = self.reactions.setdefault(int(comment_id), [])
            for reaction in existing:
                if reaction["content"] == content and reaction["user"] == user:
                    return copy.deepcopy(reaction), False
            reaction = {
                "id": self.new_id(),
                "content": content,
                "user": user,
                "user_type": user_type,
                "created_at": now_iso(),
            }
            existing.append(reaction)
            return copy.deepcopy(reaction), True

    def reactions_on(self, comment_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.reactions.get(int(comment_id), []))
