"""Each app's own error bodies, in one place (so a shape found wrong is one edit).

Confirmed from Zoho's docs or from clients parsing real answers unless marked GUESSED.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

# ---- CRM: {"code": "...", "details": {...}, "message": "...", "status": "error"} ----------------------------
_CRM_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_DATA", "invalid data"),
    401: ("INVALID_TOKEN", "invalid oauth token"),
    403: ("NO_PERMISSION", "permission denied"),
    404: ("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"),
    405: ("INVALID_REQUEST_METHOD", "The http request method type is not a valid one"),
    429: ("TOO_MANY_REQUESTS", "You have reached the concurrency limit. Please try after some time."),
    500: ("INTERNAL_ERROR", "Internal Server Error"),
}


def crm_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def crm_error(status: int, code: str | None = None, message: str | None = None, **details: Any) -> Response:
    default_code, default_message = _CRM_BY_STATUS.get(status, ("INTERNAL_ERROR", "Internal Server Error"))
    return JSONResponse(crm_body(code or default_code, message or default_message, details), status_code=status)


# ---- Books: {"code": <int>, "message": "..."} -------------------------------------------------------------
_BOOKS_BY_STATUS: dict[int, tuple[int, str]] = {
    400: (2, "Invalid value passed"),
    401: (57, "You are not authorized to perform this operation"),
    404: (5, "Invalid URL Passed"),
    405: (37, "The HTTP method is not allowed for the requested resource"),
    429: (45, "You have made too many requests continuously. Please try again after some time."),  # GUESSED code
    500: (1, "Internal server error. Please try again after some time."),  # GUESSED code
}


def books_error(status: int, code: int | None = None, message: str | None = None) -> Response:
    default_code, default_message = _BOOKS_BY_STATUS.get(status, (1, "Internal server error"))
    return JSONResponse(
        {"code": default_code if code is None else code, "message": message or default_message}, status_code=status
    )


# ---- Desk: {"errorCode": "...", "message": "..."} ----------------------------------------------------------
_DESK_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_DATA", "The data is invalid due to validation restrictions"),
    401: ("INVALID_OAUTH", "The OAuth Token you provided is invalid."),
    403: ("FORBIDDEN", "You do not have sufficient permission to perform this operation."),
    404: ("URL_NOT_FOUND", "The URL you have specified is wrong."),
    405: ("METHOD_NOT_ALLOWED", "The method you have specified is not allowed."),
    422: ("UNPROCESSABLE_ENTITY", "The request cannot be processed."),
    429: ("TOO_MANY_REQUESTS", "You have sent too many requests. Please try again after some time."),  # GUESSED
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred while performing this operation."),
}


def desk_error(
    status: int, code: str | None = None, message: str | None = None, errors: list[dict[str, Any]] | None = None
) -> Response:
    default_code, default_message = _DESK_BY_STATUS.get(status, ("INTERNAL_SERVER_ERROR", "Internal error"))
    body: dict[str, Any] = {"errorCode": code or default_code, "message": message or default_message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def desk_invalid_field(field: str, error_type: str = "invalid", status: int = 422) -> Response:
    """Desk's validation answer: errorType is missing, duplicate or invalid; fieldName is a JSON pointer."""
    return desk_error(
        status,
        "INVALID_DATA",
        "The data is invalid due to validation restrictions",
        errors=[{"fieldName": "/" + field, "errorType": error_type, "errorMessage": ""}],
    )


# ---- OAuth ------------------------------------------------------------------------------------------------
def oauth_error(status: int) -> Response:
    return JSONResponse({"error": "internal_error" if status >= 500 else "invalid_request"}, status_code=status)


def forced_error(app: str, status: int) -> Response:
    if app == "crm":
        return crm_error(status)
    if app == "books":
        return books_error(status)
    if app == "desk":
        return desk_error(status)
    return oauth_error(status)


def no_content(status: int = 204) -> Response:
    return Response(status_code=status)
