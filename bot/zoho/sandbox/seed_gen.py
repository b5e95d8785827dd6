"""The seed generator's context: one random stream, and times as integer seconds from today's midnight.

Times stay plain ints (negative = past) until formatted, through cached day strings and a table of
times of day: building 10,000 accounts formats ~400,000 timestamps, and ``datetime`` arithmetic plus
``isoformat`` was most of the cost.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import TypeVar

from bot.zoho.sandbox import seed_data as D
from bot.zoho.sandbox.state import Record, SandboxState

T = TypeVar("T")
DAY = 86400
_TIMES_OF_DAY: list[str] = []


def _times_of_day() -> list[str]:
    if not _TIMES_OF_DAY:
        hms = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
        secs = [f"{s:02d}" for s in range(60)]
        _TIMES_OF_DAY.extend(hm + s for hm in hms for s in secs)
    return _TIMES_OF_DAY


class Gen:
    def __init__(self, state: SandboxState, seed: int, today: date, org_id: str) -> None:
        self.state = state
        self.r = random.Random(seed).random  # every draw goes through this one call
        self.today = today
        self.org_id = org_id
        self.stage_cycle = list(D.STAGES)
        self.invoice_cycle = list(D.INVOICE_STATUSES)
        self.estimate_cycle = list(D.ESTIMATE_STATUSES)
        self.slugs: set[str] = set()
        self._cum: dict[int, list[int]] = {}
        self.items: list[Record] = []  # Books items in catalogue order, filled on first use
        self._days: dict[int, str] = {}
        self._tod = _times_of_day()
        self.crm_id = _id_source(state, "crm")
        self.books_id = _id_source(state, "books")
        self.desk_id = _id_source(state, "desk")
        self.invoice_no = state.number_counter("invoice")
        self.payment_no = state.number_counter("payment")
        self.ticket_no = state.number_counter("ticket", 101)

    # ---- random draws ----------------------------------------------------------------------------------
    def ri(self, lo: int, hi: int) -> int:
        """A random integer in [lo, hi]."""
        return lo + int(self.r() * (hi - lo + 1))

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.r() * len(seq))]

    def wpick(self, seq: Sequence[T], weights: Sequence[int]) -> T:
        cum = self._cum.get(id(weights))
        if cum is None:
            cum = self._cum[id(weights)] = list(itertools.accumulate(weights))
        return seq[bisect.bisect(cum, self.r() * cum[-1])]

    # ---- times (int seconds from today's midnight UTC; negative is the past) ----------------------------
    def ago(self, lo_days: float, hi_days: float) -> int:
        """A moment between `hi_days` and `lo_days` days before today's midnight."""
        lo, hi = int(lo_days * DAY), int(hi_days * DAY)
        return -(lo + int(self.r() * (hi - lo + 1)))

    def date(self, day: int) -> str:
        """``YYYY-MM-DD`` for today + `day` days."""
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = (self.today + timedelta(days=day)).isoformat()
        return text

    def iso(self, t: int) -> str:
        day, sec = divmod(t, DAY)
        return (self._days.get(day) or self.date(day)) + "T" + self._tod[sec]

    def crm(self, t: int) -> str:
        day, sec = divmod(t, DAY)
        return (self._days.get(day) or self.date(day)) + "T" + self._tod[sec] + "+00:00"

    def books(self, t: int) -> str:
        day, sec = divmod(t, DAY)
        return (self._days.get(day) or self.date(day)) + "T" + self._tod[sec] + "+0000"

    def desk(self, t: int) -> str:
        day, sec = divmod(t, DAY)
        return (self._days.get(day) or self.date(day)) + "T" + self._tod[sec] + ".000Z"


def _id_source(state: SandboxState, app: str) -> Callable[[], str]:
    """A fast id maker drawing from the state's own sequence (so API-made ids never collide)."""
    counter = state.id_counter(app)
    return lambda: str(next(counter))
