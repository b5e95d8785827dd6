"""/report through the real app: signed slash commands in, the report through the response URL."""

from __future__ import annotations

import pytest

from bot.blocks import validate_message
from bot.reports.service import parse_request
from bot.textrender import render_text
from tests.bot.reports import fixtures as fx


@pytest.fixture
def mirror(deps, clock):  # type: ignore[no-untyped-def]
    fx.fill(deps.store)
    clock.now = fx.NOW
    return deps


async def test_revenue_report_arrives_through_the_response_url(driver, slack, mirror, sandbox):
    reply, url = await driver.command("revenue 2026-09..2026-10", command="/report")
    assert reply.status_code == 200
    ack = reply.json()
    assert ack["response_type"] == "ephemeral" and ack["blocks"][0]["block_id"] == "working"
    [answer] = await slack.wait_response(url)
    validate_message(answer)
    assert answer["replace_original"] is True
    text = render_text(answer)
    assert "Revenue · 1 Sep – 31 Oct 2026" in text
    assert "€30,000.00" in text and "€23,500.00" in text and "€13,000.00" in text
    assert sandbox.calls == []  # reports read the mirror only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invoicing 2026-09..2026-10", "Won, not invoiced after 14 days (1)"),
        ("support sep 2026", "Customers with the most tickets"),
        ("renewals", "Up for renewal, no open renewal deal (2)"),
        ("ren last quarter", "Up for renewal"),
    ],
)
async def test_each_report_answers(driver, slack, mirror, text, expected):
    _, url = await driver.command(text, command="/report")
    [answer] = await slack.wait_response(url)
    validate_message(answer)
    assert expected in render_text(answer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "/report revenue"),
        ("help", "/report revenue"),
        ("profits", "There is no “profits” report"),
        ("revenue next century", "can't read “next century” as a period"),
    ],
)
async def test_usage_and_mistakes_are_answered_in_the_acknowledgement(driver, slack, mirror, text, expected):
    reply, url = await driver.command(text, command="/report")
    body = reply.json()
    validate_message(body)
    assert expected in render_text(body)
    assert slack.stub.responses == []


async def test_every_card_is_built_in_the_report_process_and_matches_the_store(driver, slack, mirror):
    """The card the child process builds is the one the serving process would build from the same mirror."""
    from bot.reports.service import render, run_report

    for text in ("revenue 2026-09..2026-10", "invoicing 2026-09..2026-10", "support sep 2026", "renewals"):
        _, url = await driver.command(text, command="/report")
        [answer] = await slack.wait_response(url)
        validate_message(answer)
        request = parse_request(text, mirror.clock(), mirror.structure)
        expected = render(run_report(mirror.store, mirror.structure, request, mirror.clock()), mirror.structure)
        assert answer["blocks"] == expected.blocks and answer["text"] == expected.text
    assert mirror.reports._pool is not None  # built there, not on this process's threads
