"""Hardening the edges (issue 11): the inputs that used to answer 500, the size cap on every route, one quiet log
line per failure, replays, and /healthz. Real FastAPI + Bolt app over HTTP (ASGI), real SQLite file."""

from __future__ import annotations

import json
import logging
import time

import pytest

from bot.slack_requests import command_body, signed_headers
from tests.feed_helpers import SECRET

ROUTES = ("/slack/events", "/zoho/crm", "/zoho/books", "/zoho/desk")
FORM = "application/x-www-form-urlencoded"
UNSIGNED_BODIES = [
    ("payload=", FORM),
    ("payload=%ZZ", FORM),
    ("payload=null", FORM),
    ("payload=1", FORM),
    ("{", "application/json"),
    ("[]", "application/json"),
    ("1", "application/json"),
    ("null", "application/json"),
]


def _ok(status: int) -> bool:
    return status < 500


@pytest.mark.parametrize(("body", "ctype"), UNSIGNED_BODIES)
async def test_unsigned_malformed_slack_bodies_are_401_without_a_traceback(app_client, body, ctype, caplog):
    caplog.set_level(logging.INFO)
    reply = await app_client.post("/slack/events", content=body, headers={"Content-Type": ctype})
    assert reply.status_code == 401
    assert not any(r.exc_info or r.exc_text for r in caplog.records)


async def test_a_timestamp_that_is_not_a_number_is_401(app_client, signing_secret):
    body = "command=/account&text=x"
    headers = signed_headers(body, signing_secret) | {"X-Slack-Request-Timestamp": "abc"}
    reply = await app_client.post("/slack/events", content=body, headers=headers)
    assert reply.status_code == 401 and "timestamp" in reply.json()["error"].lower()


@pytest.mark.parametrize(("body", "ctype"), UNSIGNED_BODIES)
async def test_signed_bodies_bolt_cannot_parse_are_400(driver, body, ctype, caplog):
    caplog.set_level(logging.INFO)
    reply = await driver.post(body, **{"Content-Type": ctype})
    assert reply.status_code in (200, 400, 404), reply.text
    assert not any(r.exc_info or r.exc_text for r in caplog.records)
    assert all("\n" not in r.getMessage() for r in caplog.records)


def _payload(payload: dict) -> str:
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})


SIGNED_MALFORMED = [
    (_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": []}), FORM),
    (_payload({"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "handoff_edit"}}), FORM),
    (json.dumps({"type": "event_callback", "event": None, "event_id": "Ev1"}), "application/json"),
    (_payload({"type": "block_actions", "user": None, "actions": [{"action_id": "handoff_create"}]}), FORM),
    (_payload({"type": "view_submission", "user": {"id": "U1"}, "view": {"type": "modal", "callback_id": 3}}), FORM),
    (
        json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}, "event_id": "Ev2"}),
        "application/json",
    ),
]


@pytest.mark.parametrize(("body", "ctype"), SIGNED_MALFORMED)
async def test_signed_but_malformed_payloads_never_get_a_500(driver, body, ctype, caplog):
    caplog.set_level(logging.INFO)
    reply = await driver.post(body, **{"Content-Type": ctype})
    assert reply.status_code < 500
    assert reply.status_code in (200, 400, 404)
    assert not any(r.exc_info or r.exc_text for r in caplog.records)


DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("route", ["/zoho/crm", "/zoho/books", "/zoho/desk", "/slack/events"])
@pytest.mark.parametrize("secret", ["", f"?secret={SECRET}"])
async def test_deep_json_nesting_is_refused_not_crashed(app_client, route, secret):
    reply = await app_client.post(route + secret, content=DEEP, headers={"Content-Type": "application/json"})
    assert 400 <= reply.status_code < 500


async def test_signed_deep_nesting_is_400(driver):
    body = '{"type": "event_callback", "event": ' + DEEP + "}"
    reply = await driver.post(body, **{"Content-Type": "application/json"})
    assert reply.status_code == 400


@pytest.mark.parametrize("route", [*ROUTES, "/healthz", "/nowhere"])
async def test_bodies_over_a_megabyte_are_refused_on_every_route(app_client, route, caplog):
    caplog.set_level(logging.INFO)
    big = b"a=" + b"x" * 1_000_000
    reply = await app_client.post(route, content=big, headers={"Content-Type": FORM})
    assert reply.status_code == 413

    async def chunks():  # no Content-Length: counted while streaming, refused once over the cap
        for _ in range(40):
            yield b"y" * 50_000

    streamed = await app_client.post(route, content=chunks(), headers={"Content-Type": FORM})
    assert streamed.status_code == 413
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "xxxxxxxxxx" not in logged and "yyyyyyyyyy" not in logged
    assert len(logged) < 2_000


async def test_refusals_are_logged_once_a_line_and_rate_limited_per_caller(app_client, caplog):
    caplog.set_level(logging.INFO)
    for _ in range(100):
        reply = await app_client.post("/slack/events", content="payload=%ZZ", headers={"Content-Type": FORM})
        assert reply.status_code == 401
    lines = [r for r in caplog.records if r.name.startswith(("handlers", "bot.edges", "throughline"))]
    assert 1 <= len(lines) <= 20
    assert "dropped" in lines[-1].getMessage()
    assert all("%ZZ" not in r.getMessage() for r in lines)


async def test_a_replayed_signed_command_is_answered_once(driver, slack, deps):
    url = slack.response_url()
    body = command_body("/account", "Northwind Logistics", response_url=url)
    headers = signed_headers(body, driver.secret, timestamp=int(time.time()) - 5)
    first = await driver.http.post("/slack/events", content=body, headers=headers)
    assert first.status_code == 200 and first.content
    replayed = await driver.http.post("/slack/events", content=body, headers=headers)
    assert replayed.status_code == 200 and replayed.content == b""
    fresh = await driver.post(body)  # the same text with a new timestamp is a new request
    assert fresh.status_code == 200 and fresh.content


async def test_replay_protection_survives_a_restart(deps, settings, signing_secret):
    """The digests are in the database, not in memory: a new app over the same file still refuses the replay."""
    import httpx

    from bot.app import create_app

    body = command_body("/account", "", response_url="http://127.0.0.1:9/r")
    headers = signed_headers(body, signing_secret, timestamp=int(time.time()))
    for expected_empty in (False, True):
        app = create_app(deps)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            reply = await client.post("/slack/events", content=body, headers=headers)
        assert reply.status_code == 200 and (reply.content == b"") is expected_empty


async def test_healthz_says_only_up_or_down(app_client):
    reply = await app_client.get("/healthz")
    assert reply.status_code == 200 and reply.json() == {"ok": True}


async def test_healthz_details_need_the_secret(app_client):
    wrong = await app_client.get("/healthz?secret=guess")
    assert wrong.status_code == 401 and "mirror" not in wrong.json()
    by_query = await app_client.get(f"/healthz?secret={SECRET}")
    by_header = await app_client.get("/healthz", headers={"X-Throughline-Secret": SECRET})
    for reply in (by_query, by_header):
        assert reply.status_code == 200
        assert set(reply.json()["mirror"]) >= {"accounts", "deals"} and "pending" in reply.json()["inbox"]


def test_no_token_warning_at_start(deps, monkeypatch, caplog):
    """Bolt reads SLACK_BOT_TOKEN itself and would warn that our client wins, at every start."""
    from bot.app import create_bolt

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    caplog.set_level(logging.DEBUG)
    create_bolt(deps)
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]


def test_quiet_logs_count_refused_access_lines_only():
    from bot.edges import QuietPerSource, caller

    quiet = QuietPerSource(per_minute=3, clock=lambda: 0.0)

    def access(status: int) -> logging.LogRecord:
        return logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("1.2.3.4:5", "POST", "/slack/events", "1.1", status),
            None,
        )

    token = caller.set("1.2.3.4")
    try:
        assert all(quiet.filter(access(200)) for _ in range(10))  # answered requests are never dropped
        kept = [quiet.filter(access(401)) for _ in range(10)]
    finally:
        caller.reset(token)
    assert kept == [True] * 3 + [False] * 7 and quiet.suppressed == 7
