"""Reporting periods from what people type (pure).

    parse_period("last month", today)      → the previous calendar month
    parse_period("2026-Q3", today)         → 1 Jul 2026 – 30 Sep 2026

Accepted (case-insensitive): "" (the default, this month) · today · yesterday · this/last week (Monday to
Sunday) · this/last month · this/last quarter · this/last year · mtd, qtd, ytd (up to today) · last N days
(today and the N-1 days before) · last N weeks / last N months (the N whole weeks or calendar months before the
current one) · 2026 · 2026-Q3, Q3 2026, Q3-2026 · 2026-10, 10/2026, oct 2026, October 2026, oct (its latest
occurrence up to this month) · 2026-10-05 · a range of any two of these: "2026-01..2026-03", "2026-01-01 to
2026-02-15" (from the start of the first to the end of the second). Ends are inclusive.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.errors import PeriodError

MAX_DAYS = 3660
EXAMPLES = "this month, last month, 2026-Q3, 2026-10, ytd, last 30 days, 2026-01-01..2026-03-31"
_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[str]:
        """`YYYY-MM` of every calendar month the period touches, in order."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _span(text: str) -> str:
    return f"{text[:60]}…" if len(text) > 60 else text


def day_label(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def range_label(start: date, end: date) -> str:
    if start == end:
        return day_label(start)
    if start.year == end.year and start.month == end.month:
        return f"{start.day}–{end.day} {end.strftime('%b %Y')}"
    if start.year == end.year:
        return f"{start.day} {start.strftime('%b')} – {end.day} {end.strftime('%b %Y')}"
    return f"{day_label(start)} – {day_label(end)}"


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), _month_end(year, month), date(year, month, 1).strftime("%B %Y"))


def quarter_period(year: int, quarter: int) -> Period:
    first = 3 * (quarter - 1) + 1
    return Period(date(year, first, 1), _month_end(year, first + 2), f"Q{quarter} {year}")


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


def month_to_date(today: date) -> Period:
    return Period(today.replace(day=1), today, f"{today.strftime('%B %Y')} to date")


def same_days_last_month(today: date) -> Period:
    """1st of last month up to the same day of the month (or the month's last day, if shorter)."""
    y, m = _add_months(today.year, today.month, -1)
    end = min(today.day, calendar.monthrange(y, m)[1])
    return Period(date(y, m, 1), date(y, m, end), range_label(date(y, m, 1), date(y, m, end)))


def _relative(text: str, today: date) -> Period | None:
    week_start = today - timedelta(days=today.weekday())
    quarter = (today.month - 1) // 3 + 1
    fixed = {
        "today": lambda: Period(today, today, f"today ({day_label(today)})"),
        "yesterday": lambda: Period(
            today - timedelta(1), today - timedelta(1), f"yesterday ({day_label(today - timedelta(1))})"
        ),  # noqa: E501
        "this week": lambda: Period(week_start, week_start + timedelta(6), f"week of {day_label(week_start)}"),
        "last week": lambda: Period(
            week_start - timedelta(7), week_start - timedelta(1), f"week of {day_label(week_start - timedelta(7))}"
        ),
        "this month": lambda: month_period(today.year, today.month),
        "last month": lambda: month_period(*_add_months(today.year, today.month, -1)),
        "previous month": lambda: month_period(*_add_months(today.year, today.month, -1)),
        "mtd": lambda: month_to_date(today),
        "month to date": lambda: month_to_date(today),
        "this quarter": lambda: quarter_period(today.year, quarter),
        "last quarter": lambda: quarter_period(today.year - (quarter == 1), 4 if quarter == 1 else quarter - 1),
        "qtd": lambda: Period(quarter_period(today.year, quarter).start, today, f"Q{quarter} {today.year} to date"),
        "this year": lambda: year_period(today.year),
        "last year": lambda: year_period(today.year - 1),
        "ytd": lambda: Period(date(today.year, 1, 1), today, f"{today.year} to date"),
        "year to date": lambda: Period(date(today.year, 1, 1), today, f"{today.year} to date"),
    }
    if text in fixed:
        return fixed[text]()
    match = re.fullmatch(r"(?:last|past) (\d{1,4}) (day|week|month)s?", text)
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2)
    if n < 1:
        raise PeriodError(f"“{_span(text)}”: the number must be at least 1")
    if unit == "day":
        start = today - timedelta(days=n - 1)
        return Period(start, today, f"last {n} days ({range_label(start, today)})")
    if unit == "week":
        start = week_start - timedelta(weeks=n)
        return Period(
            start, week_start - timedelta(1), f"last {n} weeks ({range_label(start, week_start - timedelta(1))})"
        )  # noqa: E501
    y, m = _add_months(today.year, today.month, -n)
    ey, em = _add_months(today.year, today.month, -1)
    start, end = date(y, m, 1), _month_end(ey, em)
    return Period(start, end, f"last {n} months ({range_label(start, end)})")


def _absolute(text: str, today: date) -> Period | None:
    if m := re.fullmatch(r"(\d{4})", text):
        return year_period(int(m.group(1)))
    if m := re.fullmatch(r"(\d{4})[- ]?q([1-4])|q([1-4])[- ]?(\d{4})", text):
        year, q = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return quarter_period(int(year), int(q))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})|(\d{1,2})/(\d{4})", text):
        year, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if not 1 <= int(month) <= 12:
            raise PeriodError(f"“{_span(text)}”: there is no month {int(month)}")
        return month_period(int(year), int(month))
    if m := re.fullmatch(r"([a-z]+)\.?(?: (\d{4}))?", text):
        month = _MONTHS.get(m.group(1))
        if month is None:
            return None
        if m.group(2):
            return month_period(int(m.group(2)), month)
        return month_period(today.year if month <= today.month else today.year - 1, month)
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError as exc:
            raise PeriodError(f"“{_span(text)}” is not a date ({exc})") from exc
        return Period(day, day, day_label(day))
    return None


def _single(text: str, today: date) -> Period:
    found = _relative(text, today) or _absolute(text, today)
    if found is None:
        raise PeriodError(f"I can't read “{_span(text)}” as a period. Try: {EXAMPLES}.")
    return found


def parse_period(text: str, today: date, *, default: str = "this month") -> Period:
    """The period `text` names, relative to `today`; a PeriodError says what was not understood."""
    cleaned = " ".join((text or "").strip().lower().replace("–", "-").split()) or default
    parts = re.split(r"\s*\.\.\s*|\s+to\s+|\s+-\s+", cleaned, maxsplit=1)
    if len(parts) == 2 and parts[0] and parts[1]:
        first, last = _single(parts[0], today), _single(parts[1], today)
        if first.start > last.end:
            raise PeriodError(f"“{_span(text)}” ends before it starts")
        period = Period(first.start, last.end, range_label(first.start, last.end))
    else:
        period = _single(cleaned, today)
    if period.days > MAX_DAYS:
        raise PeriodError(f"“{_span(text)}” spans {period.days} days; the limit is {MAX_DAYS} (about ten years)")
    return period
