"""One table per Zoho app: how its error body reads and which `bot.errors` class each of its codes means.

The transport (`transport.map_error`) applies them the way httpx maps lower-layer errors: status first (429 rate
limited, 5xx unavailable), then the class the table gives the code, with the HTTP status as the fallback (401/403
auth, 404 not found, any other 4xx a request error). Precedence when the code and the status disagree:
auth over not found over a request error. Adding a code Zoho documents is one line in its app's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ZohoAuthError, ZohoError, ZohoNotFound, ZohoRateLimited

Fields = tuple[str | int | None, str, dict[str, Any]]  # (Zoho's code, message, details)


@dataclass(frozen=True)
class ErrorTable:
    app: str
    codes: Mapping[str, type[ZohoError]]
    fields: Callable[[Any], Fields]  # (code, message, details) from an error body
    not_found: Callable[[str, str, Mapping[str, Any]], bool] = lambda code, message, details: False  # beyond codes
    error_in_ok_body: Callable[[Any], bool] = lambda body: False  # an HTTP 200 that is an error

    def code_class(self, code: str) -> type[ZohoError] | None:
        return self.codes.get(code)


# Codes every app's OAuth layer answers with (the accounts server is shared).
_OAUTH: dict[str, type[ZohoError]] = {
    "TOO_MANY_REQUESTS": ZohoRateLimited,
    "INVALID_TOKEN": ZohoAuthError,
    "INVALID_OAUTH": ZohoAuthError,
    "UNAUTHORIZED": ZohoAuthError,
    "OAUTH_ORG_MISMATCH": ZohoAuthError,
    "NO_PERMISSION": ZohoAuthError,
    "6041": ZohoAuthError,  # Books: the organization_id is not this user's
    "RESOURCE_NOT_FOUND": ZohoNotFound,
    "INVALID_URL_PATTERN": ZohoNotFound,
}


def _crm_fields(body: Any) -> Fields:
    """CRM `{code, details, message, status}`; bulk answers (records, watch channels) report their first error row."""
    if not isinstance(body, Mapping):
        return None, "", {}
    listed = next((body[k] for k in ("data", "watch") if isinstance(body.get(k), list)), None)
    if "code" not in body and listed is not None:
        rows = [r for r in listed if isinstance(r, Mapping) and r.get("status") == "error"]
        if rows:
            body = rows[0]
    return _code_message_details(body)


def _books_fields(body: Any) -> Fields:
    """Books `{code: int, message}`."""
    return _code_message_details(body) if isinstance(body, Mapping) else (None, "", {})


def _desk_fields(body: Any) -> Fields:
    """Desk `{errorCode, message, errors?: [{fieldName, ...}]}`."""
    if not isinstance(body, Mapping):
        return None, "", {}
    details = {"errors": body["errors"]} if isinstance(body.get("errors"), list) else {}
    return body.get("errorCode"), str(body.get("message") or ""), details


def _code_message_details(body: Mapping[str, Any]) -> Fields:
    details = body.get("details")
    return body.get("code"), str(body.get("message") or ""), dict(details) if isinstance(details, Mapping) else {}


def _books_error_in_ok_body(body: Any) -> bool:
    # Books reports some failures with HTTP 200 and a non-zero `code`.
    return isinstance(body, Mapping) and body.get("code") not in (0, None, "0")


CRM = ErrorTable(
    app="crm",
    codes={**_OAUTH, "OAUTH_SCOPE_MISMATCH": ZohoAuthError, "SCOPE_MISMATCH": ZohoAuthError},
    fields=_crm_fields,
    # CRM answers an unknown record id with INVALID_DATA pointing at the id in the path.
    not_found=lambda code, message, details: code == "INVALID_DATA" and "resource_path_index" in details,
)
BOOKS = ErrorTable(
    app="books",
    codes={**_OAUTH, "57": ZohoAuthError, "1002": ZohoNotFound},
    fields=_books_fields,
    not_found=lambda code, message, details: message.lower().rstrip(".").endswith("does not exist"),
    error_in_ok_body=_books_error_in_ok_body,
)
DESK = ErrorTable(
    app="desk",
    codes={**_OAUTH, "OAUTH_SCOPE_MISMATCH": ZohoAuthError, "SCOPE_MISMATCH": ZohoAuthError},
    fields=_desk_fields,
)
TABLES: dict[str, ErrorTable] = {table.app: table for table in (CRM, BOOKS, DESK)}
_UNKNOWN = ErrorTable(app="", codes=_OAUTH, fields=_books_fields)


def table_for(app: str) -> ErrorTable:
    return TABLES.get(app, _UNKNOWN)
