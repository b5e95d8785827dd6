"""/report through the real app: signed slash commands in, the report through the response URL."""

from __future__ import annotations

import pytest

from bot.blocks import validate_message
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


async def test_a_kind_counted_by_sql_needs_no_child_process(driver, slack, mirror, monkeypatch):
    """When a kind's SQL is cheap (it joins `SQL_COUNTED`), its card is built on the store's threads: no report
    process (nor its forkserver) is ever started, and the card is the same."""
    import handlers.report
    from bot.reports.service import KINDS

    by_child = {}
    for kind in ("invoicing 2026-09..2026-10", "renewals"):
        _, url = await driver.command(kind, command="/report")
        [by_child[kind]] = await slack.wait_response(url)
    mirror.reports.close()  # the pool those two started
    monkeypatch.setattr(handlers.report, "SQL_COUNTED", frozenset(KINDS))
    for kind in ("revenue 2026-09..2026-10", "invoicing 2026-09..2026-10", "support sep 2026", "renewals"):
        _, url = await driver.command(kind, command="/report")
        [answer] = await slack.wait_response(url)
        validate_message(answer)
        assert answer == by_child.get(kind, answer)
    assert mirror.reports._pool is None
