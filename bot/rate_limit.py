"""Token buckets keyed by a name (a chat, an address), with a bounded memory.

Each key may send ``per_minute`` messages a minute, in bursts of up to a quarter of that. The
table of buckets keeps at most ``max_keys`` entries: the least recently seen are dropped first,
so a flood of new senders cannot grow memory without end (a dropped key starts full again,
which is the safe side for a person who has been quiet).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """How many messages a key may send now, refilled steadily over time."""

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, per_minute // 4))
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Take one token for ``key``; False when it has none left."""
        return self.wait_for(key) == 0.0

    def wait_for(self, key: str) -> float:
        """Take one token and return 0, or return the seconds until one is free."""
        now = self.clock()
        tokens, seen = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)
