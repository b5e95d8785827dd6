"""Formatting money, dates and ages for people (pure).

Money style: a symbol for the currencies people read at a glance (`$12,500.00`, `€1,200.00`, `£80.00`),
otherwise the amount followed by the ISO code (`1,200.00 INR`). Two decimals, except for currencies that
have none (`¥1,200`). No currency at all gives the bare amount.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


_WHOLE, _CENTS = Decimal("1"), Decimal("0.01")


def format_money(amount: Decimal | int | float | None, currency: str = "") -> str:
    """`$12,500.00`, `-€3.50`, `1,200.00 INR`; None renders as an em dash."""
    if amount is None:
        return "—"
    code = (currency or "").strip().upper()
    places = _WHOLE if code in ZERO_DECIMAL_CURRENCIES else _CENTS
    # A Decimal is taken as it is (reports format thousands); other numbers through their text, as written
    value = (amount if isinstance(amount, Decimal) else Decimal(str(amount))).quantize(places, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,}"
    if code in SYMBOLS:
        return f"{sign}{SYMBOLS[code]}{digits}"
    if code:
        return f"{sign}{digits} {code}"
    return f"{sign}{digits}"


def format_date(value: date | datetime | None, tz: tzinfo | None = None) -> str:
    """`12 Mar 2025`; datetimes are first converted to `tz` (naive ones are taken as UTC)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = to_tz(value, tz).date()
    return f"{value.day} {value.strftime('%b %Y')}"


def format_time(value: datetime, tz: tzinfo | None = None, *, now: datetime | None = None) -> str:
    """`14:05` when `value` falls on the same day as `now` in `tz`, else `12 Mar 14:05`."""
    local = to_tz(value, tz)
    if now is not None and to_tz(now, tz).date() == local.date():
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b %H:%M')}"


def to_tz(value: datetime, tz: tzinfo | None) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(tz) if tz else aware


def relative_age(then: datetime | None, now: datetime) -> str:
    """Compact age: `now`, `5m`, `3h`, `3d`, `4mo`, `2y`. Future times count as `now`."""
    if then is None:
        return "—"
    delta = to_tz(now, None) - to_tz(then, None)
    if delta < timedelta(minutes=1):
        return "now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}m"
    if delta < timedelta(days=1):
        return f"{int(delta.total_seconds() // 3600)}h"
    if delta < timedelta(days=60):
        return f"{delta.days}d"
    if delta < timedelta(days=365):
        return f"{delta.days // 30}mo"
    return f"{delta.days // 365}y"
