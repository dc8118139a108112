"""Conversation memory per ``session_id``, in Redis: the last turns (bounded), a turn counter, a TTL.

Keys are scoped by the API key id, so one key never reads another's conversation. Redis trouble
never fails a turn: the turn is answered without history and says so (``memory: unavailable``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from target_service.cache import CacheUnavailable, ResponseCache


@dataclass
class History:
    turn: int  # the index of the turn being answered, from 1
    turns: list[tuple[str, str]] = field(default_factory=list)  # (question, answer), oldest first
    available: bool = True

    def as_prompt(self, max_chars: int) -> str:
        """The conversation so far as prompt text, the newest turns kept when it is too long."""
        text = " ".join(f"user: {q} assistant: {a}" for q, a in self.turns)
        return text[-max_chars:] + " " if text else ""


class SessionStore:
    def __init__(self, cache: ResponseCache, ttl_s: int, max_turns: int) -> None:
        self._cache, self._ttl, self._max_turns = cache, ttl_s, max_turns

    @property
    def _redis(self) -> aioredis.Redis:
        return self._cache.redis

    @staticmethod
    def _keys(key_id: str, session_id: str) -> tuple[str, str]:
        digest = hashlib.sha256(f"{key_id}\x00{session_id}".encode()).hexdigest()[:32]
        return f"agent:session:v1:{digest}:turns", f"agent:session:v1:{digest}:count"

    async def load(self, key_id: str, session_id: str) -> History:
        turns_key, count_key = self._keys(key_id, session_id)
        try:
            self._cache.check_up()
            raw, count = await self._redis.pipeline(transaction=False).lrange(turns_key, 0, -1).get(
                count_key).execute()
        except (RedisError, OSError, CacheUnavailable):
            return History(turn=1, available=False)
        turns = [tuple(orjson.loads(item)) for item in raw]
        return History(turn=int(count or 0) + 1, turns=turns)  # type: ignore[arg-type]

    async def append(self, key_id: str, session_id: str, question: str, answer: str) -> None:
        turns_key, count_key = self._keys(key_id, session_id)
        try:
            self._cache.check_up()
            pipe = self._redis.pipeline(transaction=True)
            pipe.rpush(turns_key, orjson.dumps([question, answer]))
            pipe.ltrim(turns_key, -self._max_turns, -1)
            pipe.incr(count_key)
            pipe.expire(turns_key, self._ttl)
            pipe.expire(count_key, self._ttl)
            await pipe.execute()
        except (RedisError, OSError, CacheUnavailable):
            return  # the next turn goes on without this one, as after a Redis outage
