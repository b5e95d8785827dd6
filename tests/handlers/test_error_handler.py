"""The one Bolt error handler: whatever a listener lets escape is one log line and, where someone can be told,
the user-facing message. Real Bolt app behind the real FastAPI app, signed requests, Slack faked at HTTP."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from bot.app import create_app, create_bolt
from bot.errors import ZohoUnavailable
from tests.conftest import SlackDriver


def _driver(deps: Any, slack: Any, signing_secret: str, bolt: Any) -> SlackDriver:
    app = create_app(deps, bolt=bolt)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://throughline")
    return SlackDriver(http, slack, signing_secret)


async def test_an_unexpected_failure_after_ack_tells_the_user_and_logs_one_line(deps, slack, signing_secret, caplog):
    bolt = create_bolt(deps)
    acknowledged = asyncio.Event()

    @bolt.command("/boom")
    async def boom(ack: Any) -> None:
        await ack(text="working…")
        await acknowledged.wait()  # fail once Slack has had the acknowledgement, as a slow Zoho call would
        raise RuntimeError("secret internals")

    driver = _driver(deps, slack, signing_secret, bolt)
    with caplog.at_level(logging.WARNING):
        reply, url = await driver.command("", command="/boom")
        acknowledged.set()
        answer = (await slack.wait_response(url))[-1]
    assert reply.status_code == 200
    assert "went wrong on our side" in answer["text"] and answer["replace_original"] is True
    assert "secret internals" not in answer["text"]
    lines = [r for r in caplog.records if "not handled" in r.getMessage()]
    assert len(lines) == 1 and "RuntimeError" in lines[0].getMessage() and not lines[0].exc_info


async def test_our_error_before_ack_is_the_commands_answer(deps, slack, signing_secret):
    bolt = create_bolt(deps)

    @bolt.command("/boom")
    async def boom(ack: Any) -> None:
        raise ZohoUnavailable("could not be reached after 4 attempts; try again shortly", app="crm")

    driver = _driver(deps, slack, signing_secret, bolt)
    reply, _ = await driver.command("", command="/boom")
    assert reply.status_code == 200
    assert reply.json()["response_type"] == "ephemeral"
    assert reply.json()["text"].startswith("Zoho CRM: could not be reached")


async def test_an_unexpected_failure_before_ack_is_a_4xx_without_a_message(deps, slack, signing_secret):
    bolt = create_bolt(deps)

    @bolt.action("boom")
    async def boom(ack: Any) -> None:
        raise KeyError("x")

    driver = _driver(deps, slack, signing_secret, bolt)
    reply, _ = await driver.click("boom", "1")
    assert reply.status_code == 400
