from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot import blocks
from bot.account import card as cards
from bot.account.card import account_card
from bot.account.health import assess, figures
from bot.account.lookup import Match
from bot.blocks import Message, validate_message
from bot.models import (
    Account,
    AccountSnapshot,
    BooksCustomer,
    Deal,
    DeskAccount,
    Invoice,
    Owner,
    Payment,
    Ticket,
)
from bot.money import format_money, relative_age
from bot.zoho.links import AppLinks

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 6, 30, 12, 5, tzinfo=UTC)  # 14:05 in Berlin
TODAY = NOW.astimezone(TZ).date()
LINKS = AppLinks(
    crm_base="https://crm.zoho.eu/crm/org123",
    books_base="https://books.zoho.eu",
    books_org_id="900",
    desk_base="https://desk.zoho.eu",
    desk_portal="acme",
)
ACC = "4876876000000100001"
D = Decimal


def rich_snapshot() -> AccountSnapshot:
    return AccountSnapshot(
        account=Account(id=ACC, name="Acme Inc", owner=Owner(name="Ann Owner", email="ann@x.com"), currency="EUR"),
        deals=[
            Deal(
                id="d1",
                name="Renewal 2025",
                account_id=ACC,
                stage="Negotiation",
                amount=D("12500"),
                currency="EUR",
                closing_date=date(2025, 7, 15),
                modified_time=NOW - timedelta(days=1),
            ),
            Deal(
                id="d2",
                name="Pilot",
                account_id=ACC,
                stage="Closed Won",
                amount=D("3000"),
                currency="EUR",
                closing_date=date(2025, 1, 10),
                modified_time=NOW - timedelta(days=100),
            ),
        ],
        books_customer=BooksCustomer(id="b1", name="Acme", account_id=ACC, currency="EUR"),
        invoices=[
            Invoice(
                id="i1",
                number="INV-001",
                customer_id="b1",
                status="paid",
                date=date(2025, 1, 20),
                due_date=date(2025, 2, 19),
                total=D("3000"),
                balance=D("0"),
                currency="EUR",
            ),
            Invoice(
                id="i2",
                number="INV-002",
                customer_id="b1",
                status="overdue",
                date=date(2025, 5, 1),
                due_date=date(2025, 5, 31),
                total=D("1200"),
                balance=D("1200"),
                currency="EUR",
            ),
        ],
        payments=[Payment(id="p1", customer_id="b1", amount=D("3000"), currency="EUR")],
        desk_account=DeskAccount(id="k1", name="Acme", crm_account_id=ACC, web_url="https://desk.zoho.eu/x/k1"),
        tickets=[
            Ticket(
                id="t1",
                number="101",
                subject="Login fails",
                status="Open",
                status_type="Open",
                priority="High",
                is_escalated=True,
                created_time=NOW - timedelta(days=3),
                web_url="https://desk.zoho.eu/agent/acme/tickets/details/t1",
            ),
            Ticket(
                id="t2",
                number="102",
                subject="Invoice question",
                status="Closed",
                status_type="Closed",
                created_time=NOW - timedelta(days=20),
            ),
        ],
        read_at=NOW - timedelta(minutes=2),
    )


def card(snapshot: AccountSnapshot, **kw: object) -> Message:
    options: dict = {"owner_mention": "<@U123>", "tz": TZ, "now": NOW, "links": LINKS}
    options.update(kw)
    return account_card(snapshot, assess(snapshot, TODAY), figures(snapshot, TODAY), **options)


def empty_snapshot() -> AccountSnapshot:
    return AccountSnapshot(account=Account(id=ACC, name="Lonely Ltd"), read_at=NOW)


def huge_snapshot() -> AccountSnapshot:
    evil = "<script>alert('x')</script> & <!channel> " * 13  # > 500 characters
    acc = Account(id=ACC, name=evil, owner=Owner(name=evil), currency="USD")
    return AccountSnapshot(
        account=acc,
        deals=[
            Deal(
                id=f"d{n}",
                name=evil,
                account_id=ACC,
                stage=evil,
                amount=D("123456789.99"),
                closing_date=date(2025, 1, 1),
            )
            for n in range(200)
        ],
        books_customer=BooksCustomer(id="b1", name=evil, account_id=ACC),
        invoices=[
            Invoice(
                id=f"i{n}",
                number=evil,
                status=evil,
                total=D("99999.99"),
                balance=D("5"),
                due_date=date(2024, 1, 1),
                date=date(2024, 1, 1),
                currency="USD",
            )
            for n in range(200)
        ],
        desk_account=DeskAccount(id="k1", name=evil, web_url="https://desk.zoho.com/" + "x" * 3100),
        tickets=[
            Ticket(
                id=f"t{n}",
                subject=evil,
                status=evil,
                priority=evil,
                status_type="Open",
                is_escalated=True,
                is_overdue=True,
                web_url="javascript:alert(1)",
            )
            for n in range(200)
        ],
        read_at=NOW,
        stale=True,
        stale_reason=evil,
    )


def slack_sdk_validate(message: Message) -> None:
    for raw in message.blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()
        assert json.dumps(parsed.to_dict())


def all_text(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


@pytest.mark.parametrize("make", [rich_snapshot, empty_snapshot, huge_snapshot])
def test_cards_pass_limits(make) -> None:  # type: ignore[no-untyped-def]
    message = card(make())
    validate_message(message)
    slack_sdk_validate(message)
    assert message.text.strip()


def test_rich_card_content() -> None:
    message = card(rich_snapshot())
    text = all_text(message)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Acme Inc", "emoji": True},
    }
    assert "<@U123>" in text
    assert "🔴 At risk" in text and "1 escalated ticket" in text
    assert "<https://crm.zoho.eu/crm/org123/tab/Accounts/4876876000000100001|Zoho CRM>" in text
    assert "<https://books.zoho.eu/app/900#/contacts/b1|Zoho Books>" in text
    assert "<https://desk.zoho.eu/x/k1|Zoho Desk>" in text
    assert "<https://crm.zoho.eu/crm/org123/tab/Potentials/d1|Renewal 2025>" in text
    assert "<https://books.zoho.eu/app/900#/invoices/i2|INV-002>" in text
    assert "<https://desk.zoho.eu/agent/acme/tickets/details/t1|#101 Login fails>" in text
    assert "open pipeline *€12,500.00*" in text and "won to date *€3,000.00*" in text
    assert "€1,200.00" in text and "due 31 May 2025" in text and "closes 15 Jul 2025" in text
    assert "High" in text and "· 3d" in text
    assert "Read from Zoho at 14:03 (Europe/Berlin)" in text
    assert "did not answer" not in text
    actions = message.blocks[-1]
    assert actions["type"] == "actions"
    assert actions["elements"][0]["action_id"] == "account_share"
    assert actions["elements"][0]["value"] == ACC
    assert "Acme Inc" in message.text and "At risk" in message.text


def test_owner_without_mention_and_not_shareable() -> None:
    message = card(rich_snapshot(), owner_mention=None, shareable=False)
    assert "Ann Owner" in all_text(message)
    assert not any(b["type"] == "actions" for b in message.blocks)


def test_empty_card() -> None:
    message = card(empty_snapshot(), owner_mention=None)
    text = all_text(message)
    assert "No deals in Zoho CRM" in text
    assert "No customer in Zoho Books yet" in text
    assert "No account in Zoho Desk" in text
    assert "Zoho Books>" not in text and "Zoho Desk>" not in text  # no links to records that do not exist
    assert "🟢 Healthy" in text
    assert "$0.00" in text  # fallback currency


def test_stale_card_warns() -> None:
    snap = rich_snapshot()
    snap.stale, snap.stale_reason = True, "Zoho Books: timed out"
    snap.read_at = NOW - timedelta(days=1)
    text = all_text(card(snap))
    assert "⚠️ *Zoho did not answer* (Zoho Books: timed out) — showing data from 29 Jun 14:05." in text
    assert card(snap).text.startswith("⚠️")


def test_huge_card_is_escaped_and_clipped() -> None:
    message = card(huge_snapshot())
    text = all_text(Message("x", message.blocks[1:]))  # mrkdwn everywhere but the plain_text header
    assert "<script>" not in text and "<!channel>" not in text
    assert "&lt;script&gt;" in text and "&amp;" in text
    assert len(message.blocks[0]["text"]["text"]) <= 150 and message.blocks[0]["text"]["text"].endswith("…")
    assert "and 195 more" in text
    assert "javascript:" not in text  # unsafe ticket links are dropped
    assert "x" * 3000 not in text  # overlong Desk link dropped
    assert "<script>" not in message.text


def test_mixed_currencies_noted() -> None:
    snap = rich_snapshot()
    snap.invoices.append(Invoice(id="i9", status="paid", total=D("5"), currency="USD"))
    assert "several currencies" in all_text(card(snap))


def test_shared_by_drops_share_button() -> None:
    shared = cards.shared_by(card(rich_snapshot()), "U999")
    assert not any(b["type"] == "actions" for b in shared.blocks)
    assert "Shared by <@U999>" in all_text(shared)
    validate_message(shared)


def test_pick_list() -> None:
    matches = [Match(str(n), f"Global {n} " + "x" * 100, 90) for n in range(7)]
    message = cards.pick_list("glob<al>", matches)
    validate_message(message)
    slack_sdk_validate(message)
    assert message.blocks[0]["text"]["text"] == "Several accounts match “glob&lt;al&gt;”:"
    buttons = message.blocks[1]["elements"]
    assert [b["action_id"] for b in buttons] == [f"account_pick_{n}" for n in range(5)]
    assert [b["value"] for b in buttons] == ["0", "1", "2", "3", "4"]
    assert all(len(b["text"]["text"]) <= 75 for b in buttons)


def test_pick_list_tells_same_names_apart() -> None:
    message = cards.pick_list(
        "acme", [Match("4876876000000001111", "Acme", 100), Match("4876876000000002222", "Acme", 100)]
    )
    labels = [b["text"]["text"] for b in message.blocks[1]["elements"]]
    assert labels == ["Acme (…1111)", "Acme (…2222)"]


def test_not_found_usage_error_working() -> None:
    with_suggestions = cards.not_found("acm", [Match("1", "Acme", 60), Match("2", "Acne", 55)])
    none = cards.not_found("zzz", [])
    for message in (
        with_suggestions,
        none,
        cards.usage(),
        blocks.error_message("Zoho <down> & out"),
        cards.working("acme"),
        cards.working(""),
    ):
        validate_message(message)
        slack_sdk_validate(message)
        assert message.text.strip()
    assert with_suggestions.blocks[1]["elements"][1]["action_id"] == "account_pick_1"
    assert "Did you mean" in all_text(with_suggestions)
    assert "email" in all_text(none)
    assert "/account acme" in all_text(cards.usage())
    assert "Zoho &lt;down&gt; &amp; out" in all_text(blocks.error_message("Zoho <down> & out"))
    assert "Looking up “acme” in Zoho CRM, Books and Desk" in cards.working("acme").text


def test_as_kwargs() -> None:
    m = cards.working("x")
    assert m.as_kwargs() == {"text": m.text, "blocks": m.blocks}


def test_app_links() -> None:
    links = AppLinks.for_dc("eu", books_org_id="7")
    assert links.crm_account("1") == "https://crm.zoho.eu/crm/tab/Accounts/1"
    assert links.books_invoice("5") == "https://books.zoho.eu/app/7#/invoices/5"
    assert links.desk_ticket("9") is None  # no portal, no webUrl: no guessing
    assert links.desk_ticket("9", "https://desk.zoho.eu/t/9") == "https://desk.zoho.eu/t/9"
    assert AppLinks().crm_account("1") is None
    assert AppLinks(books_base="https://books.zoho.com").books_customer("1") is None  # org id needed
    assert AppLinks.for_dc("ca").crm_deal("2") == "https://crm.zohocloud.ca/crm/tab/Potentials/2"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"text": "", "blocks": []}, "fallback"),
        ({"text": "x", "blocks": [{"type": "divider"}] * 51}, "51 blocks"),
        (
            {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
            "151",
        ),
        (
            {"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]},
            "plain_text",
        ),
        (
            {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}]},
            "3001",
        ),
        ({"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]}, "non-empty"),
        ({"text": "x", "blocks": [{"type": "section"}]}, "text or fields"),
        (
            {"text": "x", "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]},
            "11 fields",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            },
            "2001",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            },
            "11 elements",
        ),
        (
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "b" * 76},
                                "action_id": "a",
                            }
                        ],
                    }
                ],
            },
            "76",
        ),
        (
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "b"},
                                "action_id": "a" * 256,
                            }
                        ],
                    }
                ],
            },
            "action_id",
        ),
        (
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "b"},
                                "action_id": "a",
                                "value": "v" * 2001,
                            }
                        ],
                    }
                ],
            },
            "value",
        ),
        (
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "b"},
                                "action_id": "a",
                                "url": "u" * 3001,
                            }
                        ],
                    }
                ],
            },
            "url",
        ),
        (
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": "a"},
                            {"type": "button", "text": {"type": "plain_text", "text": "c"}, "action_id": "a"},
                        ],
                    }
                ],
            },
            "duplicate",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "divider", "block_id": "b"}, {"type": "divider", "block_id": "b"}],
            },
            "duplicate block_id",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "t" * 2900}}] * 5,
            },
            "budget",
        ),
        (
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "b"},
                                "action_id": "a",
                                "confirm": {"title": {"type": "plain_text", "text": "t" * 101}},
                            }
                        ],
                    }
                ],
            },
            "confirm.title",
        ),
    ],
)
def test_validate_message_names_violation(message: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        validate_message(message)


def test_fit_never_cuts_an_entity_or_link() -> None:
    text = "&amp;" * 700
    cut = blocks.fit(text, 3000)
    assert len(cut) <= 3000 and cut.endswith("&amp;…")
    link = "<https://example.com/" + "a" * 3000 + "|x>"
    assert blocks.fit("ab " + link, 100) == "ab …"
    lines = "\n".join(f"line {n}" for n in range(1000))
    assert blocks.fit(lines, 50).endswith("\n…") and len(blocks.fit(lines, 50)) <= 50


def test_money_and_age_helpers() -> None:
    assert format_money(D("12500"), "USD") == "$12,500.00"
    assert format_money(D("1200"), "eur") == "€1,200.00"
    assert format_money(D("-3.456"), "GBP") == "-£3.46"
    assert format_money(D("1200"), "INR") == "1,200.00 INR"
    assert format_money(D("1200.4"), "JPY") == "¥1,200"
    assert format_money(D("5"), "") == "5.00"
    assert format_money(None, "USD") == "—"
    assert relative_age(NOW - timedelta(days=3, hours=2), NOW) == "3d"
    assert relative_age(NOW - timedelta(minutes=5), NOW) == "5m"
    assert relative_age(NOW - timedelta(hours=5), NOW) == "5h"
    assert relative_age(NOW - timedelta(days=100), NOW) == "3mo"
    assert relative_age(NOW - timedelta(days=800), NOW) == "2y"
    assert relative_age(NOW + timedelta(days=1), NOW) == "now"
