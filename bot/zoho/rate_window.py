"""A sliding-window rate limit: never more than `max_rate` acquisitions in any `period` seconds.

Zoho Books allows 100 calls per minute per organization, counted over any minute. A token bucket (aiolimiter)
lets a full bucket go at once and then refills at the steady rate, so one minute can carry nearly twice the
limit. This keeps a log of the last `max_rate` start times instead: a call waits until the oldest of them is
`period` seconds old. Waiters are served in arrival order (one lock), so a busy sync cannot starve a lookup.

pyrate-limiter's blocking acquire sleeps on the real clock, so it cannot be driven by a test's fake clock; this
is small enough to own, with the clock and the sleep passed in.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType


class SlidingWindowLimiter:
    def __init__(
        self,
        max_rate: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if max_rate < 1 or period <= 0:
            raise ValueError("a sliding window needs max_rate ≥ 1 and period > 0")
        self.max_rate = int(max_rate)
        self.time_period = float(period)
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    def in_window(self) -> int:
        """Acquisitions in the window ending now."""
        self._expire(self._clock())
        return len(self._starts)

    def _expire(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - self.time_period:
            self._starts.popleft()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._expire(now)
                if len(self._starts) < self.max_rate:
                    self._starts.append(now)
                    return
                # at least a millisecond, so float rounding cannot spin on a zero wait
                await self._sleep(max(self._starts[0] + self.time_period - now, 0.001))

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
