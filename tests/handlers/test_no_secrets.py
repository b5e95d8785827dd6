"""No secret at rest or in output (issue 11): after a run through every door — Zoho deliveries accepted and refused
(the CRM `token` among them), signed and unsigned Slack requests, /account reading Zoho, /healthz with the secret,
the intake processing it all — the SQLite files, the captured log and `throughline inbox show` hold none of the
webhook secret, the Slack token and signing secret, the Zoho client secret, refresh token or access tokens."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from typer.testing import CliRunner

from bot import log_redaction
from bot.cli import cli
from bot.intake.inbox import Inbox, without_secrets
from bot.zoho.sandbox import webhooks as zw
from tests.feed_helpers import SECRET, deliver, settle


def _secrets(settings, sandbox) -> dict[str, str]:
    found = {
        "webhook secret": settings.webhook_secret,
        "signing secret": settings.slack_signing_secret,
        "bot token": settings.slack_bot_token,
        "Zoho client secret": settings.zoho_client_secret,
        "Zoho refresh token": settings.zoho_refresh_token,
    }
    found |= {f"Zoho access token {i}": token for i, token in enumerate(sandbox.tokens.issued)}
    return found


def _files(db_path: str) -> bytes:
    return b"".join(p.read_bytes() for p in Path(db_path).parent.glob(Path(db_path).name + "*"))


async def test_nothing_stores_or_prints_a_secret(
    app_client, driver, slack, sandbox, deps, settings, caplog, monkeypatch
):
    log_redaction.install()  # as `throughline serve` does
    caplog.set_level(logging.DEBUG)
    st = sandbox.state
    deal_id = next(iter(st.crm["Deals"]))
    # CRM notifications carry the secret as `token` in the body: accepted, and refused for other reasons
    crm = "/zoho/crm"
    for body in (
        zw.crm_notification(st, "Deals", [deal_id], token=SECRET),
        zw.crm_notification(st, "Leads", [deal_id], token=SECRET),
        zw.crm_notification(st, "Deals", [], token=SECRET),
        {"token": SECRET, "module": "Deals", "note": f"copy of {SECRET}"},
        {"token": "guess", "ids": [deal_id], "module": "Deals"},
    ):
        await app_client.post(crm, content=json.dumps(body), headers={"Content-Type": "application/json"})
    await app_client.post(
        crm, content=f"token={SECRET}&module=Leads&id=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    await app_client.post(crm, content=f'{{"token": "{SECRET}", broken', headers={"Content-Type": "application/json"})
    # Books and Desk with the secret in the query and the header; wrong secrets; odd bodies
    await deliver(app_client, "books", {"nothing": "known"})
    await deliver(app_client, "desk", [{"eventType": "Unknown_Event", "payload": {"secret": SECRET}}])
    await app_client.post("/zoho/desk", content="[1]", headers={"X-Throughline-Secret": SECRET})
    await deliver(app_client, "books", {"invoice": {}}, secret="wrong")
    # Slack: a signed command that reads Zoho, an unsigned one, a replay
    _, url = await driver.command("Northwind Logistics")
    await slack.wait_response(url)
    await app_client.post("/slack/events", content="command=/account&text=x&token=" + settings.slack_bot_token)
    await app_client.get(f"/healthz?secret={SECRET}")
    await settle(deps)

    secrets = _secrets(settings, sandbox)
    assert any(k.startswith("Zoho access token") for k in secrets)  # the run did talk to Zoho
    stored = _files(settings.db_path)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    found = {name for name, value in secrets.items() if value.encode() in stored or value in logged}
    assert not found, f"secrets found: {sorted(found)}"

    inbox = Inbox(deps.store, deps.clock)
    rejected = inbox.list("rejected")
    assert any("***" in e.body for e in rejected)  # the refused CRM deliveries were kept, masked
    monkeypatch.setenv("THROUGHLINE_DB", settings.db_path)
    monkeypatch.setenv("THROUGHLINE_WEBHOOK_SECRET", SECRET)
    for entry in inbox.list(limit=500):
        shown = CliRunner().invoke(cli, ["inbox", "show", str(entry.id)])
        assert shown.exit_code == 0 and SECRET not in shown.output


def test_inbox_show_masks_rows_stored_before_masking(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from bot.store import Store

    db = tmp_path / "old.db"
    store = Store(db)
    with store.transaction() as conn:  # a row as an older version stored it: the token in clear
        conn.execute(
            "INSERT INTO inbox (source, identity, received_at, body, state) VALUES "
            "('crm', 'rejected:old', ?, ?, 'rejected')",
            [datetime.now(UTC).isoformat(), json.dumps({"token": "s3cret-value", "ids": []})],
        )
    store.close()
    monkeypatch.setenv("THROUGHLINE_DB", str(db))
    monkeypatch.setenv("THROUGHLINE_WEBHOOK_SECRET", "s3cret-value")
    shown = CliRunner().invoke(cli, ["inbox", "show", "1"])
    assert shown.exit_code == 0 and "s3cret-value" not in shown.output and '"token": "***"' in shown.output


def test_without_secrets_masks_fields_in_json_forms_and_text():
    assert json.loads(without_secrets('{"token": "a", "x": [{"secret": "b"}], "id": "1"}')) == {
        "token": "***",
        "x": [{"secret": "***"}],
        "id": "1",
    }
    assert without_secrets("token=abc&ids=1") == "token=%2A%2A%2A&ids=1"
    assert "abc" not in without_secrets('{"token": "abc", broken')
    assert without_secrets('{"eventType": "Ticket_Add"}') == '{"eventType": "Ticket_Add"}'
