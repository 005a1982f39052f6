"""Which comments the bot has answered: one reply per comment, whatever retries or redeliveries
happen (contract §3). Recorded in Redis before the reply is posted; see `bot.handlers.comments`."""

from __future__ import annotations

import redis

# A retried task or a redelivery comes within days (GitHub keeps deliveries for 3 days).
REPLY_TTL_SECONDS = 7 * 24 * 3600


class CommentReplies:
    def __init__(self, client: redis.Redis, ttl_seconds: int = REPLY_TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def claim(self, repo: str, comment_id: int) -> bool:
        """True the first time the bot is about to answer this comment (atomic `SET NX EX`);
        False when an earlier attempt already claimed it (it may or may not have posted)."""
        key = f"gp:reply:{repo}:{comment_id}"
        return bool(self._redis.set(key, "1", nx=True, ex=self._ttl))
