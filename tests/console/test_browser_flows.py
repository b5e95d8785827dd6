"""The console in a real browser: a person's flows end to end, through the real app, the sandbox and the strict
Slack emulator. Each flow saves a screenshot under tests/artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from bot.console.cast import AGENT, APPROVER, FINANCE, NON_APPROVER, SALES, SUPPORT
from bot.console.run import Console
from bot.demo.handoff import DEMO_DEAL
from tests.console.conftest import shot

DEAL_NAME = "Cold Chain Pilot"


def act_as(page: Any, user: str) -> None:
    page.select_option("#acting-as", user)
    expect(page.locator("body")).to_have_attribute("data-user", user)


def open_channel(page: Any, channel: str) -> None:
    page.click(f"[data-nav='channel:{channel}']")
    expect(page.locator("body")).to_have_attribute("data-where", f"channel:{channel}")


def send(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")
    expect(page.locator("#composer-input")).to_have_value("")


def finance_message(page: Any) -> Any:
    return page.locator(f".msg[data-channel='{FINANCE}']:not(.ephemeral)", has_text=DEAL_NAME).first


def sales_rep(console: tuple[str, Console]) -> str:
    return console[1].emulator.users_by_email["maria.lopez@example.com"]


@pytest.fixture(scope="module")
def handoff_in_finance(page: Any, console: tuple[str, Console]) -> Any:
    """The demo deal moved to Closed Won in the Zoho panel: CRM's notification reaches /zoho/crm and the
    handoff appears in #finance."""
    account_id = console[1].sandbox.state.demo_account_id
    page.fill("#zoho-search", "Northwind")
    card = page.locator(f".zoho-card[data-account-id='{account_id}']")
    row = card.locator(f"[data-deal-id='{DEMO_DEAL}']")
    row.locator("select").select_option("Closed Won")
    row.get_by_role("button", name="Move").click()
    expect(page.locator("#zoho-log li").first).to_contain_text("/zoho/crm")
    expect(page.locator("#zoho-log li").first).to_contain_text("200")
    act_as(page, APPROVER)
    open_channel(page, FINANCE)
    message = finance_message(page)
    expect(message.get_by_role("button", name="Create invoice")).to_be_visible()
    return message


def test_account_card_as_a_sales_rep(page: Any, console: tuple[str, Console]) -> None:
    act_as(page, sales_rep(console))
    open_channel(page, SALES)
    page.fill("#composer-input", "/acc")
    expect(page.locator("#suggest")).to_contain_text("/account")  # the manifest's commands, suggested
    send(page, "/account northwind")
    card = page.locator(".msg.ephemeral", has_text="Northwind Logistics Inc.").last
    expect(card.locator(".bk-header").first).to_contain_text("Northwind Logistics")
    for part in ("Deals", "Invoices", "Tickets", "INV-", "Maria Lopez"):
        expect(card).to_contain_text(part)
    expect(card).to_contain_text("Only visible to you")
    page.set_viewport_size({"width": 1440, "height": 1280})  # the whole card in one picture
    page.evaluate("() => { const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight; }")
    shot(page, "account-card")
    page.set_viewport_size({"width": 1440, "height": 900})
    act_as(page, NON_APPROVER)  # ephemeral: someone else in #sales does not see it
    expect(page.locator(".msg.ephemeral", has_text="Northwind Logistics Inc.")).to_have_count(0)


def test_closed_won_in_zoho_reaches_finance(page: Any, handoff_in_finance: Any) -> None:
    expect(handoff_in_finance).to_contain_text("Northwind")
    expect(handoff_in_finance.get_by_role("button", name="Edit")).to_be_visible()
    shot(page, "finance-handoff")


def test_a_non_approvers_click_is_refused_privately(page: Any, handoff_in_finance: Any) -> None:
    act_as(page, NON_APPROVER)
    open_channel(page, FINANCE)
    finance_message(page).get_by_role("button", name="Create invoice").click()
    dialog = page.locator("#confirm-backdrop .dialog")
    expect(dialog).to_contain_text("Create invoice?")
    dialog.get_by_role("button", name="Create").click()
    refusal = page.locator(".msg.ephemeral", has_text="Only configured approvers")
    expect(refusal).to_be_visible()
    shot(page, "non-approver-refused")
    expect(finance_message(page).get_by_role("button", name="Create invoice")).to_be_visible()  # nothing happened
    act_as(page, APPROVER)
    expect(page.locator(".msg.ephemeral", has_text="Only configured approvers")).to_have_count(0)


def test_edit_dialog_round_trip(page: Any, handoff_in_finance: Any) -> None:
    act_as(page, APPROVER)
    open_channel(page, FINANCE)
    expect(finance_message(page)).to_contain_text("Net 30")
    finance_message(page).get_by_role("button", name="Edit").click()
    modal = page.locator("#modal-backdrop .dialog.modal")
    expect(modal).to_contain_text("Edit handoff")
    modal.locator("[data-block-id='terms'] select").select_option("45")
    modal.locator("[data-block-id='code'] input").fill("94608")
    shot(page, "edit-dialog")
    modal.get_by_role("button", name="Save").click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    expect(finance_message(page)).to_contain_text("Net 45")
    expect(finance_message(page)).to_contain_text("94608")
    expect(finance_message(page)).to_contain_text("(edited)")
    # the Lines box came back as it was shown: the same two lines, the same total
    expect(finance_message(page)).to_contain_text("Cold Chain Sensor Pack — 20 × $1,500.00 = $30,000.00")
    expect(finance_message(page)).to_contain_text("$35,000.00")


def test_a_field_error_in_a_dialog_shows_at_the_field(page: Any, handoff_in_finance: Any) -> None:
    act_as(page, APPROVER)
    open_channel(page, FINANCE)
    finance_message(page).get_by_role("button", name="Edit").click()
    modal = page.locator("#modal-backdrop .dialog.modal")
    expect(modal).to_contain_text("Edit handoff")
    modal.locator("[data-block-id='lines'] textarea").fill("two widgets please")
    modal.get_by_role("button", name="Save").click()
    error = modal.locator("[data-block-id='lines'] .bk-error")
    expect(error).to_contain_text("line 1")
    expect(modal.locator("[data-block-id='lines'] textarea")).to_have_value("two widgets please")  # kept
    expect(modal.locator("[data-block-id='street'] .bk-error")).to_have_count(0)
    shot(page, "modal-field-error")
    modal.get_by_role("button", name="Cancel").click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()


def test_the_approver_creates_the_invoice_and_support_gets_the_handover(
    page: Any, handoff_in_finance: Any, console: tuple[str, Console]
) -> None:
    act_as(page, APPROVER)
    open_channel(page, FINANCE)
    finance_message(page).get_by_role("button", name="Create invoice").click()
    dialog = page.locator("#confirm-backdrop .dialog")
    expect(dialog).to_contain_text("in Zoho Books")
    shot(page, "confirm-dialog")
    dialog.get_by_role("button", name="Create").click()
    expect(finance_message(page)).to_contain_text("created (draft)")
    invoices = [i for i in console[1].sandbox.state.books_invoices.values() if i.get("reference_number") == DEMO_DEAL]
    assert len(invoices) == 1
    expect(finance_message(page)).to_contain_text(invoices[0]["invoice_number"])
    expect(finance_message(page).get_by_role("button", name="Create invoice")).to_have_count(0)
    shot(page, "invoice-created")
    act_as(page, AGENT)
    open_channel(page, SUPPORT)
    expect(page.locator(f".msg[data-channel='{SUPPORT}']", has_text="New customer").first).to_contain_text("Northwind")
    shot(page, "support-handover")


def test_the_home_tab_lists_the_users_accounts(page: Any, console: tuple[str, Console]) -> None:
    act_as(page, sales_rep(console))
    page.click("[data-nav='app']")
    page.locator("#app-tabs .tab[data-tab='home']").click()
    home = page.locator(".home-view")
    expect(home).to_contain_text("Northwind Logistics")
    expect(home).to_contain_text("Apex Marine")  # another of Maria's accounts
    shot(page, "home-tab")


def test_a_pasted_zoho_link_unfurls(page: Any, console: tuple[str, Console]) -> None:
    account_id = console[1].sandbox.state.demo_account_id
    act_as(page, sales_rep(console))
    open_channel(page, SALES)
    send(page, f"Renewal prep: https://crm.zoho.com/crm/tab/Accounts/{account_id}")
    posted = page.locator(f"#messages .msg[data-channel='{SALES}']:not(.ephemeral)", has_text="Renewal prep").last
    expect(posted.locator(".attachment")).to_contain_text("Northwind Logistics")
    expect(posted.locator(".msg-text a")).to_have_attribute(
        "href", f"https://crm.zoho.com/crm/tab/Accounts/{account_id}"
    )
    shot(page, "link-unfurl")
    posted.hover()
    posted.get_by_role("button", name="Reply in thread").click()
    thread = page.locator("#thread")
    expect(thread).to_contain_text("Renewal prep")
    thread.locator("textarea").fill("Call booked for Thursday")
    thread.locator("textarea").press("Enter")
    expect(thread.locator(".msg", has_text="Call booked for Thursday")).to_be_visible()
    expect(posted.locator(".replies")).to_contain_text("1 reply")


def test_an_invoice_marked_overdue_in_zoho_reaches_finance(page: Any, console: tuple[str, Console]) -> None:
    st = console[1].sandbox.state
    # an account with no handoff (notices about one with a handoff go in its #finance thread)
    account_id, invoice = next(
        (a, st.books_invoices[i])
        for a, customer in st.books_contact_by_crm_account.items()
        if a != st.demo_account_id and st.crm["Accounts"].get(a)
        for i in st.books_invoices_by_customer.get(customer, [])
        if st.books_invoices[i]["status"] in ("sent", "viewed")
    )
    page.fill("#zoho-search", st.crm["Accounts"][account_id]["Account_Name"])
    row = page.locator(f".zoho-card[data-account-id='{account_id}'] [data-invoice-id='{invoice['invoice_id']}']")
    row.get_by_role("button", name="Mark overdue").click()
    expect(page.locator("#zoho-log li").first).to_contain_text("/zoho/books")
    act_as(page, APPROVER)
    open_channel(page, FINANCE)
    expect(page.locator(f".msg[data-channel='{FINANCE}']", has_text=invoice["invoice_number"]).first).to_be_visible()
    shot(page, "invoice-overdue")


def test_the_leadership_digest_shows_its_chart_inline(page: Any, console: tuple[str, Console]) -> None:
    from bot.console.cast import LEADER, LEADERSHIP

    act_as(page, LEADER)
    page.get_by_role("button", name="Send leadership digest now").click()
    open_channel(page, LEADERSHIP)
    digest = page.locator(f".msg[data-channel='{LEADERSHIP}']").first
    digest.locator(".replies").click()
    chart = page.locator("#thread img.file-image")
    expect(chart).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#thread img.file-image');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    shot(page, "leadership-chart")


PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
    "RU5ErkJggg=="
)


def test_block_kit_renders_faithfully_and_refusals_show(page: Any, console: tuple[str, Console]) -> None:
    import httpx

    from bot.console.cast import LEADERSHIP
    from bot.console.workspace import Message

    emulator = console[1].emulator
    option = {"text": {"type": "plain_text", "text": "Snooze"}, "value": "snooze"}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Block Kit gallery :tada:", "emoji": True}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*bold* _italic_ ~strike~ `code` "
                "<https://example.com|a link> <@U0FINANCE1> <#C0FINANCE1> :white_check_mark:",
            },
            "fields": [{"type": "mrkdwn", "text": "*Left*\none"}, {"type": "mrkdwn", "text": "*Right*\ntwo"}],
            "accessory": {"type": "overflow", "action_id": "more", "options": [option]},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Due"},
            "accessory": {"type": "datepicker", "action_id": "due", "initial_date": "2026-12-01"},
        },
        {
            "type": "context",
            "elements": [
                {"type": "image", "image_url": PIXEL, "alt_text": "dot"},
                {"type": "mrkdwn", "text": "context _line_"},
            ],
        },
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go", "style": "primary"},
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Drop"},
                    "action_id": "drop",
                    "style": "danger",
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Really drop?"},
                        "text": {"type": "mrkdwn", "text": "It cannot be *undone*."},
                        "confirm": {"type": "plain_text", "text": "Drop"},
                        "deny": {"type": "plain_text", "text": "Keep"},
                    },
                },
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "options": [option],
                    "placeholder": {"type": "plain_text", "text": "Choose"},
                },
            ],
        },
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "rich ", "style": {"bold": True}}]},
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": "first"}]},
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": "second"}]},
                    ],
                },
            ],
        },
        {"type": "image", "image_url": PIXEL, "alt_text": "a pixel", "title": {"type": "plain_text", "text": "Pic"}},
    ]
    api = f"{emulator.base_url}/api/chat.postMessage"
    headers = {"Authorization": "Bearer xoxb-console"}
    posted = httpx.post(api, json={"channel": LEADERSHIP, "text": "gallery", "blocks": blocks}, headers=headers)
    assert posted.json()["ok"]
    emulator.post(Message(emulator.new_ts(), LEADERSHIP, "UTHROUGHL1", "bad", [{"type": "carousel"}], bot=True))
    act_as(page, APPROVER)
    open_channel(page, LEADERSHIP)
    gallery = page.locator(".msg", has_text="Block Kit gallery")
    expect(gallery.locator(".bk-header")).to_have_text("Block Kit gallery 🎉")
    section = gallery.locator(".bk-section").first
    text = section.locator(".bk-text")
    for selector, content in (
        ("b", "bold"),
        ("i", "italic"),
        ("s", "strike"),
        ("code", "code"),
        ("a[href='https://example.com']", "a link"),
        (".mention >> nth=0", "@Fatima Rahman"),
        (".mention.channel", "#finance"),
    ):
        expect(text.locator(selector)).to_have_text(content)
    expect(text).to_contain_text("✅")
    expect(section.locator(".bk-field")).to_have_count(2)
    expect(gallery.locator("input[type=date]")).to_have_value("2026-12-01")
    expect(gallery.locator(".bk-context")).to_contain_text("context line")
    expect(gallery.locator(".bk-button.bk-primary")).to_have_text("Go")
    expect(gallery.locator(".bk-rich li")).to_have_count(2)
    expect(gallery.locator("img.bk-image")).to_have_attribute("alt", "a pixel")
    gallery.locator(".bk-overflow-button").click()
    expect(gallery.locator(".bk-menu-item")).to_have_text("Snooze")
    gallery.locator(".bk-button.bk-danger").click()
    dialog = page.locator("#confirm-backdrop .dialog")
    expect(dialog).to_contain_text("It cannot be undone.")
    dialog.get_by_role("button", name="Keep").click()
    expect(page.locator("#confirm-backdrop")).to_be_hidden()
    expect(page.locator(".msg .bk-invalid")).to_contain_text('unsupported block type "carousel"')
    too_many = [{"type": "divider"}] * 51
    refused = httpx.post(api, json={"channel": LEADERSHIP, "text": "x", "blocks": too_many}, headers=headers).json()
    assert refused["error"] == "invalid_blocks"
    expect(page.locator("#toast")).to_contain_text("Slack refused chat.postMessage: invalid_blocks")
    shot(page, "block-kit-gallery")
