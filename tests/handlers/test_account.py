"""/account through the real app: signed requests in, the sandbox over HTTP, Slack faked at its HTTP boundary."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from bot.blocks import validate_message
from bot.slack_requests import command_body, signed_headers


def _all_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def _crm_account(sandbox, name: str) -> dict:
    return next(a for a in sandbox.state.crm["Accounts"].values() if a["Account_Name"] == name)


async def test_empty_text_answers_usage_without_zoho(driver, sandbox):
    reply, _ = await driver.command("   ")
    assert reply.status_code == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "/account" in body["text"]
    validate_message(body)
    assert sandbox.calls == []


async def test_cold_lookup_reads_zoho_then_mirror_answers_inside_the_ack(driver, slack, sandbox):
    reply, url = await driver.command("northwind")
    assert reply.status_code == 200
    assert reply.json()["blocks"][0]["block_id"] == "working"  # acknowledged at once
    card = (await slack.wait_response(url))[-1]
    validate_message(card)
    assert card["replace_original"] is True
    assert "Northwind Logistics" in card["text"]
    text = _all_text(card)
    for section in ("Deals", "Invoices", "Tickets"):
        assert section in text
    apps = {app for app, _, _ in sandbox.calls}
    assert apps == {"crm", "books", "desk"}

    sandbox.calls.clear()
    reply, url2 = await driver.command("Northwind Logistics")
    body = reply.json()
    assert "Northwind Logistics" in body["text"]  # the card itself, inside the acknowledgement
    validate_message(body)
    assert sandbox.calls == []  # a fresh mirror costs no Zoho call
    assert slack.stub.responses == [r for r in slack.stub.responses if r.method != url2.rsplit("/", 1)[-1]]


async def test_card_shows_the_demo_accounts_figures(driver, slack, sandbox):
    account = sandbox.state.crm["Accounts"][sandbox.state.demo_account_id]
    _, url = await driver.command(account["id"])
    card = (await slack.wait_response(url))[-1]
    text = _all_text(card)
    assert account["Account_Name"].split()[0] in card["text"]
    assert "overdue" in text.lower()
    assert "escalated" in text.lower()
    assert any(b.get("type") == "actions" for b in card["blocks"])  # share button


async def test_misspelt_name_still_finds_the_account(driver, slack):
    _, url = await driver.command("nortwind logistcs")
    card = (await slack.wait_response(url))[-1]
    assert "Northwind Logistics" in card["text"]


async def test_contact_email_and_domain_find_the_account(driver, slack, sandbox):
    account = _crm_account(sandbox, "Zylker Corporation")
    contact = next(
        c
        for c in sandbox.state.crm["Contacts"].values()
        if (c.get("Account_Name") or {}).get("id") == account["id"] and c.get("Email")
    )
    _, url = await driver.command(f"<mailto:{contact['Email']}|{contact['Email']}>")
    card = (await slack.wait_response(url))[-1]
    assert "Zylker" in card["text"]

    domain = contact["Email"].split("@")[1]
    reply, url = await driver.command(domain)
    body = reply.json()
    if body["blocks"][0].get("block_id") == "working":
        body = (await slack.wait_response(url))[-1]
    assert "Zylker" in body["text"]


async def test_ambiguous_name_gives_a_pick_list_and_a_pick_gives_the_card(driver, slack, sandbox, deps):
    from bot.sync import MirrorSync

    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    names = sorted(a["Account_Name"] for a in sandbox.state.crm["Accounts"].values())
    first_words: dict[str, list[str]] = {}
    for name in names:
        first_words.setdefault(name.split()[0], []).append(name)
    word, group = (
        next((w, g) for w, g in first_words.items() if len(g) > 1)
        if any(len(g) > 1 for g in first_words.values())
        else (None, None)
    )
    if word is None:
        pytest.skip("seed has no two accounts sharing a first word")
    reply, _ = await driver.command(word)
    body = reply.json()
    buttons = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) >= 2, body
    validate_message(body)
    pick = buttons[0]
    reply, url = await driver.click(pick["action_id"], pick["value"])
    assert reply.status_code == 200
    card = (await slack.wait_response(url))[-1]
    assert card["replace_original"] is True
    assert pick["text"]["text"].rstrip("…")[:20] in card["text"]


async def test_nothing_matches_says_so_with_suggestions(driver, slack):
    _, url = await driver.command("qqqxxzzv")
    answer = (await slack.wait_response(url))[-1]
    validate_message(answer)
    assert "qqqxxzzv" in answer["text"]


async def test_crm_id_finds_the_account(driver, slack, sandbox):
    account = _crm_account(sandbox, "Zylker Corporation")
    _, url = await driver.command(account["id"])
    card = (await slack.wait_response(url))[-1]
    assert "Zylker Corporation" in card["text"]


async def test_owner_is_mentioned_when_the_email_is_a_slack_user(driver, slack, sandbox):
    account = sandbox.state.crm["Accounts"][sandbox.state.demo_account_id]
    slack.stub.users_by_email[account["Owner"]["email"].lower()] = "U0OWNER123"
    _, url = await driver.command(account["Account_Name"])
    card = (await slack.wait_response(url))[-1]
    assert "<@U0OWNER123>" in _all_text(card)
    assert slack.stub.calls_to("users.lookupByEmail")


@pytest.mark.parametrize("text", ["'; DROP TABLE accounts; --", "🙂🙂🙂", "a" * 3000, "<@U123>", "*", "%%%"])
async def test_odd_text_gets_a_clear_answer(driver, slack, text):
    reply, url = await driver.command(text)
    assert reply.status_code == 200
    body = reply.json()
    if body.get("blocks") and body["blocks"][0].get("block_id") == "working":
        body = (await slack.wait_response(url))[-1]
    validate_message(body)
    assert body["text"]


async def test_zoho_down_shows_the_mirror_marked_stale(driver, slack, sandbox, clock, deps):
    _, url = await driver.command("Northwind Logistics")
    await slack.wait_response(url)
    clock.advance(hours=2)  # the mirror is no longer fresh
    for app in ("crm", "books", "desk"):
        sandbox.faults.force(app, 500, times=100)
    _, url = await driver.command("Northwind Logistics")
    card = (await slack.wait_response(url))[-1]
    validate_message(card)
    text = _all_text(card)
    assert "Northwind Logistics" in card["text"]
    assert "did not answer" in text or "stale" in text.lower()
    assert "Traceback" not in text


async def test_zoho_down_with_nothing_mirrored_is_a_clear_message(driver, slack, sandbox):
    for app in ("crm", "books", "desk"):
        sandbox.faults.force(app, 500, times=100)
    _, url = await driver.command("Northwind")
    answer = (await slack.wait_response(url))[-1]
    validate_message(answer)
    assert "Zoho" in answer["text"]
    assert "Traceback" not in _all_text(answer)


async def test_zoho_rate_limit_is_retried(driver, slack, sandbox):
    sandbox.faults.force("books", 429, times=1, retry_after=0.01)
    _, url = await driver.command("Northwind Logistics")
    card = (await slack.wait_response(url))[-1]
    assert "did not answer" not in _all_text(card)
    assert "Invoices" in _all_text(card)


async def test_share_posts_in_channel_and_removes_the_private_card(driver, slack, sandbox):
    _, url = await driver.command("Northwind Logistics")
    card = (await slack.wait_response(url))[-1]
    share = next(
        e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "account_share"
    )
    _, url = await driver.click("account_share", share["value"], user_id="U0SHARER1")
    posts = await slack.wait_response(url, count=2)
    public = next(p for p in posts if p.get("response_type") == "in_channel")
    assert "<@U0SHARER1>" in _all_text(public)
    assert not any(
        e.get("action_id") == "account_share" for b in public["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    assert any(p.get("delete_original") for p in posts)


async def test_stale_button_value_is_refused_politely(driver, slack):
    _, url = await driver.click("account_pick_0", "not-an-id")
    answer = (await slack.wait_response(url))[-1]
    assert "out of date" in answer["text"]


# ---- request authenticity ---------------------------------------------------------------------------------


async def test_forged_signature_is_refused(app_client, sandbox):
    body = urlencode({"command": "/account", "text": "northwind", "response_url": "http://127.0.0.1:9/x"})
    headers = signed_headers(body, "not-the-secret")
    reply = await app_client.post("/slack/events", content=body, headers=headers)
    assert reply.status_code == 401
    assert sandbox.calls == []


async def test_stale_signature_is_refused(app_client, signing_secret):
    body = urlencode({"command": "/account", "text": "northwind", "response_url": "http://127.0.0.1:9/x"})
    headers = signed_headers(body, signing_secret, timestamp=int(time.time()) - 600)
    reply = await app_client.post("/slack/events", content=body, headers=headers)
    assert reply.status_code == 401


async def test_unsigned_request_is_refused(app_client):
    reply = await app_client.post(
        "/slack/events",
        content="command=/account&text=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 401


async def test_healthz(app_client):
    reply = await app_client.get("/healthz")
    assert reply.status_code == 200
    assert reply.json()["ok"] is True


async def test_slow_zoho_shows_the_mirror_then_updates_the_card(driver, slack, sandbox, clock, deps):
    _, url = await driver.command("Northwind Logistics")
    await slack.wait_response(url)
    clock.advance(hours=2)
    deps.structure.lookup.zoho_wait_seconds = 0.2
    sandbox.faults.latency = 0.5
    _, url = await driver.command("Northwind Logistics")
    first, second = await slack.wait_response(url, count=2)
    assert "Zoho is slow to answer" in _all_text(first)
    assert "Northwind Logistics" in first["text"]
    assert "slow" not in _all_text(second) and second["replace_original"] is True
    validate_message(second)


async def test_slow_zoho_with_nothing_mirrored_says_the_card_will_follow(driver, slack, sandbox, deps):
    deps.structure.lookup.zoho_wait_seconds = 0.2
    sandbox.faults.latency = 0.15  # search answers in time; the three reads after it do not
    _, url = await driver.command(sandbox.state.demo_account_id)
    first, second = await slack.wait_response(url, count=2)
    assert "will appear here" in first["text"]
    assert "Northwind Logistics" in second["text"]


async def test_one_app_down_shows_the_others_and_says_which(driver, slack, sandbox):
    sandbox.faults.force("desk", 500, times=100)
    _, url = await driver.command("Northwind Logistics")
    card = (await slack.wait_response(url))[-1]
    text = _all_text(card)
    assert "Zoho Desk" in text
    assert "INV-" in text  # Books answered
    validate_message(card)


async def test_socket_mode_serves_no_unsigned_http_route(deps):
    import httpx

    from bot.app import create_app

    deps.settings = deps.settings.model_copy(update={"slack_app_token": "xapp-1-test"})
    app = create_app(deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        reply = await client.post(
            "/slack/events",
            content="command=/account&text=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert reply.status_code in (404, 405)
        assert (await client.get("/healthz")).status_code == 200


def _request_claims(deps) -> int:
    return deps.store.engine.one("SELECT COUNT(*) FROM slack_event_ids WHERE event_id LIKE 'request:%'")[0]


async def test_a_replayed_lookup_that_needs_zoho_gets_nothing_and_reads_zoho_once(
    driver, slack, sandbox, deps, clock, structure
):
    """/account takes the replay claim itself (in the same store call as its mirror read): a replay of a lookup
    that went to Zoho is answered with nothing and asks Zoho nothing, even once the mirror is stale again."""
    url = slack.response_url()
    body = command_body("/account", "northwind", response_url=url)
    headers = signed_headers(body, driver.secret, timestamp=int(time.time()) - 5)
    first = await driver.http.post("/slack/events", content=body, headers=headers)
    assert first.json()["blocks"][0]["block_id"] == "working"
    assert "Northwind Logistics" in (await slack.wait_response(url))[-1]["text"]
    clock.advance(minutes=2 * structure.lookup.freshness_minutes)  # a new lookup would read Zoho again
    calls = len(sandbox.calls)
    replayed = await driver.http.post("/slack/events", content=body, headers=headers)
    assert replayed.status_code == 200 and replayed.content == b""
    assert len(sandbox.calls) == calls
    assert _request_claims(deps) == 1


async def test_a_replayed_command_of_another_listener_never_reaches_it(driver, slack, deps):
    """Every other request's claim is taken by the first Bolt middleware, before any listener middleware runs:
    a replayed /audit from someone who may not audit is refused (and audited) once."""
    url = slack.response_url()
    body = command_body("/audit", "", response_url=url)
    headers = signed_headers(body, driver.secret, timestamp=int(time.time()) - 5)
    first = await driver.http.post("/slack/events", content=body, headers=headers)
    assert first.status_code == 200 and first.content
    replayed = await driver.http.post("/slack/events", content=body, headers=headers)
    assert replayed.status_code == 200 and replayed.content == b""
    refusals = [e for e in deps.audit_log.entries(action="drift.audit") if e.outcome == "refused"]
    assert len(refusals) == 1
    assert _request_claims(deps) == 1
