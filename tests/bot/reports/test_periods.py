from datetime import date

import pytest

from bot.errors import PeriodError
from bot.reports.periods import month_to_date, parse_period, same_days_last_month

TODAY = date(2026, 10, 15)  # a Thursday in Q4


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("", date(2026, 10, 1), date(2026, 10, 31)),
        ("this month", date(2026, 10, 1), date(2026, 10, 31)),
        ("Last Month", date(2026, 9, 1), date(2026, 9, 30)),
        ("mtd", date(2026, 10, 1), TODAY),
        ("today", TODAY, TODAY),
        ("yesterday", date(2026, 10, 14), date(2026, 10, 14)),
        ("this week", date(2026, 10, 12), date(2026, 10, 18)),
        ("last week", date(2026, 10, 5), date(2026, 10, 11)),
        ("this quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("last quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("qtd", date(2026, 10, 1), TODAY),
        ("ytd", date(2026, 1, 1), TODAY),
        ("last year", date(2025, 1, 1), date(2025, 12, 31)),
        ("last 30 days", date(2026, 9, 16), TODAY),
        ("past 2 weeks", date(2026, 9, 28), date(2026, 10, 11)),
        ("last 3 months", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("q1 2027", date(2027, 1, 1), date(2027, 3, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2/2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("oct 2025", date(2025, 10, 1), date(2025, 10, 31)),
        ("December", date(2025, 12, 1), date(2025, 12, 31)),  # its latest occurrence up to this month
        ("September", date(2026, 9, 1), date(2026, 9, 30)),
        ("2026-03-05", date(2026, 3, 5), date(2026, 3, 5)),
        ("2026-01..2026-03", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-01-10 to 2026-02-15", date(2026, 1, 10), date(2026, 2, 15)),
        ("2026-Q1 – 2026-Q2", date(2026, 1, 1), date(2026, 6, 30)),
    ],
)
def test_periods_people_type(text, start, end):
    period = parse_period(text, TODAY)
    assert (period.start, period.end) == (start, end)
    assert period.label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fortnight", "can't read “fortnight” as a period"),
        ("2026-13", "there is no month 13"),
        ("2026-02-30", "is not a date"),
        ("2026-05..2026-01", "ends before it starts"),
        ("last 0 days", "at least 1"),
        ("2000..2026", "the limit is 3660"),
    ],
)
def test_bad_periods_say_what_is_wrong(text, message):
    with pytest.raises(PeriodError, match=message):
        parse_period(text, TODAY)


def test_membership_days_and_months():
    period = parse_period("2026-09-20..2026-11-02", TODAY)
    assert date(2026, 9, 20) in period and date(2026, 11, 3) not in period and None not in period
    assert period.days == 44
    assert period.months() == ["2026-09", "2026-10", "2026-11"]


def test_month_to_date_against_the_same_days_of_last_month():
    assert (month_to_date(TODAY).start, month_to_date(TODAY).end) == (date(2026, 10, 1), TODAY)
    march_31 = same_days_last_month(date(2026, 3, 31))  # February is shorter
    assert (march_31.start, march_31.end) == (date(2026, 2, 1), date(2026, 2, 28))
    january = same_days_last_month(date(2026, 1, 10))
    assert (january.start, january.end) == (date(2025, 12, 1), date(2025, 12, 10))
