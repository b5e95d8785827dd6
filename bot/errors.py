"""One error tree for Throughline.

    ThroughlineError
    ├── ConfigError              bad environment or operating-structure file (names the key)
    │   └── DatabaseMismatch     THROUGHLINE_DB holds another Zoho org's data, or sandbox and real mixed
    ├── ZohoError                anything that went wrong talking to Zoho
    │   ├── ZohoAuthError        refresh token rejected, 401 after one refresh, scope mismatch
    │   ├── ZohoRateLimited      429 after retries ran out (carries retry_after)
    │   ├── ZohoUnavailable      5xx, timeouts, connection errors after retries ran out
    │   │   └── TokenEndpointUnavailable  the accounts server could not be reached (safe to retry the call)
    │   ├── ZohoNotFound         the record does not exist
    │   └── ZohoRequestError     4xx that is our fault: invalid data, missing field, duplicate
    ├── InputError               what a person or a caller sent cannot be used (`fields`: dialog block -> message)
    │   ├── ReportUsageError     /report names no report we have, or a period we cannot read
    │   ├── PeriodError          the text names no period we understand
    │   ├── DeliveryError        a Zoho webhook delivery cannot be taken (`status`: 400 or 422)
    │   └── Refused              an HTTP request refused before it is read further (`status`, `reason`)
    ├── DispatchError            one or more event subscribers failed (`failures`)
    ├── NotFoundError            nothing matched a user's query
    └── StoreError               the local SQLite mirror failed

Zoho's error answers are mapped to this tree by one table per app (bot/zoho/error_tables.py). Listeners let
ThroughlineError reach Bolt's one error handler, which shows `user_message()`; nothing else reaches a user.
"""

from __future__ import annotations

import re

_NOW_ADVICE = re.compile(r"[;,.]?\s*try again (?:in [^;.]*|shortly|later)\.?", re.IGNORECASE)


class ThroughlineError(Exception):
    """Base of every error Throughline raises on purpose."""

    def user_message(self) -> str:
        return str(self)

    def lasting_message(self) -> str:
        """The message for a place that is read later (a #finance message, a stored error): without advice that
        is only true now, such as "try again in 1 s"."""
        return _NOW_ADVICE.sub("", self.user_message()).strip()


def with_advice(message: str, advice: str = "Try again in a minute.") -> str:
    """`message` followed by `advice`, unless the message already says to try again."""
    message = message.rstrip()
    if "try again" in message.lower():
        return message if message.endswith((".", "!", "?")) else message + "."
    return f"{message.rstrip('.')}. {advice}"


class ConfigError(ThroughlineError):
    """The environment or the operating-structure file is wrong.

    `source` is the file or "environment"; `key` the dotted key or variable name (the first one's when the
    message lists several `problems`, each a line naming its own).
    """

    def __init__(self, message: str, *, source: str = "", key: str = "", problems: list[str] | None = None) -> None:
        self.source = source
        self.key = key
        self.problems = problems or []
        where = ": ".join(p for p in (source, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class DatabaseMismatch(ConfigError):
    """The local database was made for another Zoho org, or for sandbox data when this is real (or back)."""


class ZohoError(ThroughlineError):
    """Base for Zoho failures. `app` is crm, books or desk; `code` is Zoho's own error code."""

    def __init__(
        self,
        message: str,
        *,
        app: str = "",
        status: int | None = None,
        code: str | int | None = None,
        details: dict | None = None,
    ) -> None:
        self.app = app
        self.status = status
        self.code = code
        self.details = details or {}
        super().__init__(message)

    def user_message(self) -> str:
        name = {"crm": "Zoho CRM", "books": "Zoho Books", "desk": "Zoho Desk"}.get(self.app, "Zoho")
        return f"{name}: {self}"


class ZohoAuthError(ZohoError):
    """Credentials were refused: the refresh token, client id/secret, scopes or org id need fixing."""


class ZohoRateLimited(ZohoError):
    """Zoho kept answering 429 after our retries."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:  # type: ignore[no-untyped-def]
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ZohoUnavailable(ZohoError):
    """Zoho did not answer usefully (5xx, timeout, connection refused) after our retries."""


class ZohoNotFound(ZohoError):
    """The record asked for does not exist in Zoho."""


class ZohoRequestError(ZohoError):
    """Zoho refused the request as invalid (bad field, missing mandatory value, duplicate)."""


class TokenEndpointUnavailable(ZohoUnavailable):
    """The accounts server could not be reached or answered 5xx: safe to retry the whole call."""


class InputError(ThroughlineError):
    """What a person or a caller sent cannot be used. `fields` maps a dialog's block ids to the message shown
    under each (Slack's `response_action: errors`); the message is the first field's when none is given."""

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        super().__init__(message or next(iter(self.fields.values()), ""))


class ReportUsageError(InputError):
    """The request names no report we have, or a period we cannot read."""


class PeriodError(InputError):
    """The text does not name a period we understand."""


class DeliveryError(InputError):
    """A Zoho webhook delivery cannot be taken: `status` is the HTTP answer (400 malformed, 422 unknown type)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Refused(InputError):
    """An HTTP request refused at the door (bad signature or secret, malformed or oversized body)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class DispatchError(ThroughlineError):
    """One or more event subscribers failed; `failures` holds (handler name, exception)."""

    def __init__(self, event: object, failures: list[tuple[str, BaseException]]) -> None:
        self.event = event  # a bot.events.Event
        self.failures = failures
        detail = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures)
        super().__init__(f"{getattr(event, 'kind', 'event')} handling failed: {detail}")


class NotFoundError(ThroughlineError):
    """Nothing matched what the user asked for."""


class StoreError(ThroughlineError):
    """The local SQLite store failed."""
