"""Each app's error table: codes map to the error tree, status decides when the code says nothing, and the
precedence (auth over not found over a request error) holds when they disagree."""

from __future__ import annotations

import httpx
import pytest

from bot.errors import ZohoAuthError, ZohoNotFound, ZohoRateLimited, ZohoRequestError, ZohoUnavailable
from bot.zoho.error_tables import TABLES
from bot.zoho.transport import map_error


def _answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://zoho/api/v1/x"))


@pytest.mark.parametrize(
    ("app", "status", "body", "expected"),
    [
        ("crm", 400, {"code": "OAUTH_SCOPE_MISMATCH", "message": "m"}, ZohoAuthError),
        ("crm", 400, {"code": "57", "message": "m"}, ZohoRequestError),  # 57 is Books' scope code only
        ("books", 400, {"code": 57, "message": "m"}, ZohoAuthError),
        ("books", 400, {"code": "SCOPE_MISMATCH", "message": "m"}, ZohoRequestError),
        ("books", 400, {"code": 1002, "message": "m"}, ZohoNotFound),
        ("books", 400, {"code": 9, "message": "Invoice does not exist."}, ZohoNotFound),
        ("crm", 400, {"code": "INVALID_DATA", "message": "m", "details": {"resource_path_index": 0}}, ZohoNotFound),
        ("crm", 400, {"code": "INVALID_DATA", "message": "m", "details": {"api_name": "Amount"}}, ZohoRequestError),
        ("desk", 422, {"errorCode": "OAUTH_ORG_MISMATCH", "message": "m"}, ZohoAuthError),
        ("desk", 403, {"errorCode": "RESOURCE_NOT_FOUND", "message": "m"}, ZohoAuthError),  # auth wins
        ("desk", 404, {"errorCode": "SOMETHING_NEW", "message": "m"}, ZohoNotFound),
        ("crm", 400, {"code": "TOO_MANY_REQUESTS", "message": "m"}, ZohoRateLimited),
        ("books", 503, {"code": 1002, "message": "m"}, ZohoUnavailable),  # 5xx before any code
    ],
)
def test_codes_and_statuses_map_through_the_apps_table(app, status, body, expected):
    assert type(map_error(app, _answer(status, body))) is expected


def test_only_books_reports_errors_in_a_200():
    assert TABLES["books"].error_in_ok_body({"code": 4, "message": "bad"})
    assert not TABLES["books"].error_in_ok_body({"code": 0, "invoice": {}})
    assert not TABLES["crm"].error_in_ok_body({"code": 4})


def test_each_app_reads_its_own_error_body():
    assert TABLES["desk"].fields({"errorCode": "X", "message": "m", "errors": [{"fieldName": "f"}]}) == (
        "X",
        "m",
        {"errors": [{"fieldName": "f"}]},
    )
    bulk = {
        "data": [
            {"status": "success"},
            {"status": "error", "code": "DUPLICATE_DATA", "message": "dup", "details": {"api_name": "Name"}},
        ]
    }
    assert TABLES["crm"].fields(bulk) == ("DUPLICATE_DATA", "dup", {"api_name": "Name"})
    assert TABLES["books"].fields(["not", "an", "object"]) == (None, "", {})
