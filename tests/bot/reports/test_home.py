"""The App Home view (pure): the user's accounts worst first, approvals for approvers, recent handoffs, limits."""

from __future__ import annotations

import json

import pytest

from bot.models import Account
from bot.reports.data import load_mirror
from bot.reports.home import MAX_VIEW_BLOCKS, HomeInput, home_view, validate_view
from bot.reports.retention import AccountHealth, account_health
from bot.store import Store
from bot.zoho.links import AppLinks
from tests.bot.reports import fixtures as fx

LINKS = AppLinks.for_dc("com")


@pytest.fixture
def rows(tmp_path) -> tuple[list[AccountHealth], list]:  # type: ignore[type-arg]
    with Store(tmp_path / "h.db") as store:
        fx.fill(store)
        data = load_mirror(store, account_ids=["A1", "A3", "A5", "A6"])
    return account_health(data, fx.TODAY), data.handoffs


def _input(accounts, approvals=None, recent=(), email="ann@example.com"):  # type: ignore[no-untyped-def]
    return HomeInput(
        email=email,
        accounts=accounts,
        approvals=approvals,
        recent=recent,
        deals={},
        now=fx.NOW,
        tz=fx.TZ,
        links=LINKS,
        account_names={"A2": "Bolt Ltd"},
    )


def test_own_accounts_worst_first(rows):
    accounts, _ = rows
    view = home_view(_input(accounts))
    validate_view(view)
    text = json.dumps(view, ensure_ascii=False)
    assert "Your accounts (4)" in text
    assert text.index("Acme GmbH") < text.index("Cobalt Inc")  # at risk before healthy
    assert "🔴 <https://crm.zoho.com/crm/tab/Accounts/A1|Acme GmbH>" in text
    assert "Waiting for your approval" not in text  # not an approver


def test_approvers_see_what_waits_for_them_and_recent_handoffs(rows):
    accounts, handoffs = rows
    ready = [h for h in handoffs if h.state == "ready"]
    view = home_view(_input(accounts, approvals=ready, recent=handoffs))
    validate_view(view)
    text = json.dumps(view, ensure_ascii=False)
    assert "Waiting for your approval (0)" in text  # D10 belongs to A2, not loaded here
    assert "Recent handoffs" in text and "missing billing address" in text


def test_no_email_and_no_accounts_are_explained():
    text = json.dumps(home_view(_input([], email="")))
    assert "did not tell us your email" in text
    text = json.dumps(home_view(_input([], email="zoe@example.com")))
    assert "No accounts in Zoho CRM are owned by zoe@example.com" in text


def test_thousands_of_accounts_stay_within_the_view_limits(rows):
    accounts, handoffs = rows
    many = [
        AccountHealth(Account(id=f"X{n}", name=f"Account {n} " + "&<>" * 40, owner=fx.ANN), a.health, a.figures)
        for n in range(3000)
        for a in accounts[:1]
    ]
    view = home_view(_input(many, approvals=list(handoffs) * 30, recent=list(handoffs) * 30))
    validate_view(view)
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    assert "… and 2940 more" in json.dumps(view, ensure_ascii=False)


def test_validate_view_names_the_problem():
    with pytest.raises(ValueError, match="type must be 'home'"):
        validate_view({"type": "modal", "blocks": []})
    with pytest.raises(ValueError, match="101 blocks"):
        validate_view({"type": "home", "blocks": [{"type": "divider"}] * 101})
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        validate_view({"type": "home", "blocks": [{"type": "divider", "block_id": "x"}] * 2})
    with pytest.raises(ValueError, match=r"blocks\[0\].*limit 150"):
        long_header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
        validate_view({"type": "home", "blocks": [long_header]})
