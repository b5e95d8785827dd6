from __future__ import annotations

from bot.account import card as account_card
from bot.account.lookup import Match
from bot.textrender import mrkdwn_to_text, render_text
from tests.bot.test_blocks import card, empty_snapshot, huge_snapshot, rich_snapshot


def test_mrkdwn_conversion() -> None:
    assert mrkdwn_to_text("*Deals* · _none_ ~old~ `code`") == "Deals · none old code"
    assert mrkdwn_to_text("<https://x.com/a|Acme> and <https://y.com>") == "Acme (https://x.com/a) and https://y.com"
    assert mrkdwn_to_text("<https://x.com/a|Acme>", show_urls=False) == "Acme"
    assert mrkdwn_to_text("owner <@U123> in <#C1|general> <!here>") == "owner <@U123> in <#C1|general> <!here>"
    assert mrkdwn_to_text("<mailto:a@b.com|a@b.com>") == "a@b.com"
    assert mrkdwn_to_text("a &lt;b&gt; &amp;amp; c") == "a <b> &amp; c"
    assert mrkdwn_to_text("snake_case_name and 2*3*4") == "snake_case_name and 2*3*4"
    assert "\x1b[1mbold\x1b[0m" in mrkdwn_to_text("*bold*", color=True)


def test_render_card() -> None:
    out = render_text(card(rich_snapshot()))
    lines = out.splitlines()
    assert lines[0] == "Acme Inc" and lines[1] == "========"
    assert "*" not in out
    assert "<@U123>" in out
    assert "Renewal 2025 (https://crm.zoho.eu/crm/org123/tab/Potentials/d1)" in out
    assert "[ Share in channel ]" in out
    assert "  Read from Zoho at 14:03 (Europe/Berlin)" in lines
    two_columns = next(line for line in lines if line.startswith("Invoiced"))
    assert "Collected" in two_columns and two_columns.index("Collected") == 48
    assert "─" * 40 in lines


def test_render_accepts_dicts_and_dims_context() -> None:
    message = card(empty_snapshot(), owner_mention=None).to_dict()
    out = render_text(message, color=True, show_urls=False)
    assert "\x1b[2m  Read from Zoho" in out
    assert "Open in Zoho CRM" in out and "https://" not in out


def test_render_other_messages() -> None:
    pick = render_text(account_card.pick_list("glob", []))
    assert pick == "Several accounts match “glob”:"
    assert render_text({"text": "plain *fallback*"}) == "plain fallback"
    assert "[ " in render_text(account_card.not_found("acm", [Match("1", "Acme", 60)]))
    assert "/account acme" in render_text(account_card.usage())


def test_render_huge_card_unescapes() -> None:
    out = render_text(card(huge_snapshot()))
    assert "<script>" in out and "&lt;" not in out
    assert "and 195 more" in out
