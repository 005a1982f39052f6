"""The small Redis-backed stores handlers use, in memory: comment replies, deployment requests."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.deployment_gate import Answer, GateRequest


class MemoryReplies:
    """`bot.state.comment_replies.CommentReplies`: the first claim of a comment wins."""

    def __init__(self, *claimed: tuple[str, int]) -> None:
        self.claimed: set[tuple[str, int]] = set(claimed)

    def claim(self, repo: str, comment_id: int) -> bool:
        if (repo, comment_id) in self.claimed:
            return False
        self.claimed.add((repo, comment_id))
        return True


class MemoryGates:
    """`bot.state.deployment_gates.GateRequests` in memory. `held` lists the keys whose
    answer another sender is sending right now."""

    def __init__(self) -> None:
        self.requests: dict[str, GateRequest] = {}
        self.held: set[str] = set()
        self.answered_now = 1_000.0

    def get(self, key: str) -> GateRequest | None:
        found = self.requests.get(key)
        return found.model_copy(deep=True) if found is not None else None

    def pending(self) -> list[GateRequest]:
        return [r.model_copy() for _, r in sorted(self.requests.items()) if r.answered_at is None]

    def waiting_on(self, run_id: str) -> list[GateRequest]:
        return [r for r in self.pending() if r.run_id == run_id]

    def open(self, request: GateRequest) -> GateRequest:
        if request.key in self.requests:
            return self.requests[request.key].model_copy(deep=True)
        self.requests[request.key] = request.model_copy(deep=True)
        return request

    def update(self, key: str, change: Callable[[GateRequest], bool | None]) -> GateRequest | None:
        request = self.get(key)
        if request is None or change(request) is False:
            return None
        self.requests[key] = request.model_copy(deep=True)
        return request

    def decide(self, key: str, state: Answer, comment: str) -> GateRequest | None:
        def apply(request: GateRequest) -> bool:
            if request.state is not None:
                return False
            request.state, request.comment = state, comment
            return True

        return self.update(key, apply)

    def wait_for(self, key: str, run_id: str, *, started: bool) -> GateRequest | None:
        def apply(request: GateRequest) -> bool:
            if request.state is not None:
                return False
            request.run_id = run_id
            request.runs_started += 1 if started else 0
            return True

        return self.update(key, apply)

    def forget_run(self, key: str) -> GateRequest | None:
        def apply(request: GateRequest) -> bool:
            if request.state is not None:
                return False
            request.run_id = None
            return True

        return self.update(key, apply)

    def claim(self, key: str) -> bool:
        if key in self.held:
            return False
        self.held.add(key)
        return True

    def release(self, key: str) -> None:
        self.held.discard(key)

    def mark_answered(self, key: str) -> GateRequest | None:
        def apply(request: GateRequest) -> bool:
            if request.answered_at is not None:
                return False
            request.answered_at = self.answered_now
            return True

        return self.update(key, apply)
