"""Timestamp formats of the three Zoho apps, and a lenient parser for comparisons.

CRM: ``2026-03-04T10:15:00+00:00``; Books: ``2026-03-04T10:15:00+0000`` (dates ``YYYY-MM-DD``);
Desk: ``2024-07-01T11:00:33.000Z``. Everything the sandbox stores is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _naive(dt: datetime) -> datetime:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _seconds(dt: datetime) -> str:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.isoformat() if dt.microsecond == 0 else dt.isoformat(timespec="seconds")  # fast path first


def crm_ts(dt: datetime) -> str:
    return _seconds(dt) + "+00:00"


def books_ts(dt: datetime) -> str:
    return _seconds(dt) + "+0000"


def desk_ts(dt: datetime) -> str:
    if dt.tzinfo is None and dt.microsecond == 0:
        return dt.isoformat() + ".000Z"
    return _naive(dt).isoformat(timespec="milliseconds") + "Z"


def parse_ts(value: str | None) -> datetime | None:
    """Parse any of the apps' timestamps (or a plain date, or an HTTP date) to aware UTC; None if unparseable."""
    if not value:
        return None
    text = value.strip().replace(" ", "+") if "T" in value and " " in value.strip() else value.strip()
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def ts_key(value: str | None) -> str:
    """A string that sorts and compares like the instant: ``YYYY-MM-DDTHH:MM:SS.mmm`` in UTC ("" if missing).

    The apps' own UTC formats are sliced, not parsed (lists of 50,000 records sort on this).
    """
    if not value:
        return ""
    n = len(value)
    if (n == 25 and value.endswith("+00:00")) or (n == 24 and value.endswith("+0000")):
        return value[:19] + ".000"
    if n == 24 and value[-1] == "Z" and value[19] == ".":
        return value[:23]
    dt = parse_ts(value)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}" if dt else ""
