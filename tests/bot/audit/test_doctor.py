"""`throughline doctor`: every check passes on a good set-up, each problem says what to do, no secret is printed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bot.audit.doctor import Check, Doctor, failed, render, secrets_of
from bot.cli import cli
from bot.config import OperatingStructure, Settings, load_structure
from bot.deps import Deps, build_deps
from bot.errors import ConfigError
from bot.localserver import LocalServer
from bot.manifest import manifest_scopes
from bot.store import Store
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox
from tests.conftest import FAST_RETRY

runner = CliRunner()
GOOD_SECRET = "w3bh00k-" + "s" * 32
CONFIG = """
[channels]
sales = "C0SALES001"
finance = "C0FINANCE1"
[digests.support]
channel = "C0SUPPORT1"
[vocabulary.crm_account_types]
Client = "customer"
"""

Make = Callable[..., Awaitable[tuple[Doctor, Deps]]]


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _remove(path: Path) -> None:
    path.unlink()


@pytest.fixture
async def make(settings: Settings, sandbox: Sandbox, clock: Any) -> AsyncIterator[Make]:
    """A Doctor on its own Deps (so each test can vary the environment), over the sandbox and the Slack stub."""
    opened: list[Deps] = []

    async def build(
        config: str | None = CONFIG, *, sync: bool = True, watch_days: float | None = 5, **env: str
    ) -> tuple[Doctor, Deps]:
        path = Path(settings.config_path)
        if config is not None:
            _write(path, config)
        values = {"webhook_secret": GOOD_SECRET, **env}
        s = settings.model_copy(update=values)
        error = None
        try:
            structure = load_structure(path)
        except ConfigError as exc:
            error, structure = exc, OperatingStructure()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app()), timeout=5)
        deps = build_deps(s, structure, http=http, clock=clock, retry=FAST_RETRY)
        opened.append(deps)
        if sync:
            await MirrorSync(deps.store, deps.zoho, clock).run()
        if watch_days is not None:
            expiry = clock() + timedelta(days=watch_days)
            watch = {"channel_id": "1000000068001", "expiry": expiry.isoformat(), "notify_url": "https://x.example/z"}
            deps.store.set_watermark("crm_watch", json.dumps(watch))
        doctor = Doctor(
            s, structure, config_error=error, store=deps.store, zoho=deps.zoho, slack=deps.slack, clock=clock
        )
        return doctor, deps

    yield build
    for deps in opened:
        await deps.aclose()


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


async def test_a_good_setup_passes_every_check(make):
    doctor, _ = await make()
    checks = await doctor.run()
    assert [(c.name, c.status) for c in checks if c.status != "pass"] == []
    names = [c.name for c in checks]
    assert names == [
        "Database",
        "Config file",
        "Vocabulary",
        "Webhook secret",
        "Slack signing",
        "Slack token",
        "Slack scopes",
        "Channel channels.sales",
        "Channel channels.finance",
        "Channel digests.support.channel",
        "Zoho credentials",
        "Books organisation",
        "Desk organisation",
        "CRM notifications",
    ]
    assert not failed(checks)
    text = render(checks)
    assert text.endswith("All checks passed.\n") and "✓ Books organisation" in text
    assert f"all {len(manifest_scopes())} scopes in manifest.yml are granted" in text


async def test_slack_problems_say_what_to_do(make, slack):
    wanted = manifest_scopes()
    slack.stub.granted_scopes = [s for s in wanted if s not in ("channels:read", "groups:read")]
    slack.stub.channels.update(
        {
            "C0SALES001": "channel_not_found",
            "C0FINANCE1": {"is_member": False, "is_private": True, "name": "finance"},
            "C0SUPPORT1": {"is_member": False, "name": "support"},
        }
    )
    checks = _by_name(await (await make())[0].run())
    assert checks["Slack scopes"].status == "fail"
    assert "missing channels:read, groups:read" in checks["Slack scopes"].detail
    assert "reinstall" in checks["Slack scopes"].detail
    assert checks["Channel channels.sales"].status == "fail"
    assert "channel_not_found" in checks["Channel channels.sales"].detail
    assert "[channels]" in checks["Channel channels.sales"].detail
    assert checks["Channel channels.finance"].status == "fail"
    assert "/invite @Throughline" in checks["Channel channels.finance"].detail
    assert checks["Channel digests.support.channel"].status == "warn"


async def test_a_refused_or_wrong_slack_token(make, slack):
    slack.stub.fail_next["auth.test"] = "invalid_auth"
    checks = _by_name(await (await make())[0].run())
    assert checks["Slack token"].status == "fail" and "invalid_auth" in checks["Slack token"].detail
    assert "Slack scopes" not in checks  # nothing more to ask with a refused token
    checks = _by_name(await (await make(slack_bot_token="xoxp-user-token"))[0].run())
    assert "should start with xoxb-" in checks["Slack token"].detail
    checks = _by_name(await (await make(slack_bot_token="", slack_signing_secret=""))[0].run())
    assert "SLACK_BOT_TOKEN is not set" in checks["Slack token"].detail
    assert "SLACK_SIGNING_SECRET is not set" in checks["Slack signing"].detail


async def test_zoho_problems_say_what_to_do(make):
    checks = _by_name(await (await make(sync=False, zoho_refresh_token="1000.wrong.refresh"))[0].run())
    assert checks["Zoho credentials"].status == "fail"
    assert "create a new self-client refresh token" in checks["Zoho credentials"].detail
    assert "ZOHO_DC=com" in checks["Zoho credentials"].detail
    assert "Books organisation" not in checks

    checks = _by_name(await (await make(sync=False, zoho_books_org_id="123", zoho_desk_org_id="456"))[0].run())
    assert checks["Zoho credentials"].status == "pass"
    books, desk = checks["Books organisation"], checks["Desk organisation"]
    assert books.status == "fail" and "ZOHO_BOOKS_ORG_ID=123 is not one of" in books.detail
    assert "700100200 (Throughline Sandbox Co.)" in books.detail
    assert desk.status == "fail" and "800100200" in desk.detail

    checks = _by_name(await (await make(sync=False, zoho_client_id=""))[0].run())
    assert "ZOHO_CLIENT_ID not set" in checks["Zoho credentials"].detail


@pytest.mark.parametrize(
    ("days", "status", "says"),
    [
        (None, "fail", "not subscribed: run `throughline zoho watch`"),
        (-1, "fail", "expired"),
        (0.01, "warn", "should renew it soon"),
        (3, "pass", "is active until"),
    ],
)
async def test_crm_notification_channel(make, days, status, says):
    checks = _by_name(await (await make(sync=False, watch_days=days))[0].run())
    assert checks["CRM notifications"].status == status and says in checks["CRM notifications"].detail


async def test_config_vocabulary_and_webhook_secret(make, settings):
    checks = _by_name(await (await make("[vocabulary.crm_stages]\nWon = 'winning'\n", sync=False))[0].run())
    assert checks["Config file"].status == "fail"
    assert f"{settings.config_path}: vocabulary.crm_stages" in checks["Config file"].detail
    assert checks["Vocabulary"].status == "warn"

    checks = _by_name(await (await make("", sync=False))[0].run())
    assert checks["Vocabulary"].status == "warn" and "throughline sync" in checks["Vocabulary"].detail

    checks = _by_name(await (await make(""))[0].run())  # the mirror holds the sandbox's "Client" account type
    vocabulary = checks["Vocabulary"]
    assert vocabulary.status == "fail"
    assert 'CRM account type "Client" (1): add it under [vocabulary.crm_account_types]' in vocabulary.detail

    _remove(Path(settings.config_path))
    checks = _by_name(await (await make(None, sync=False, webhook_secret="short"))[0].run())
    assert checks["Config file"].status == "warn" and "copy throughline.example.toml" in checks["Config file"].detail
    assert checks["Webhook secret"].status == "fail" and "shorter than 16" in checks["Webhook secret"].detail
    checks = _by_name(await (await make(None, sync=False, webhook_secret=""))[0].run())
    assert "THROUGHLINE_WEBHOOK_SECRET is not set" in checks["Webhook secret"].detail


def test_redact_is_a_last_guard():
    checks = [Check("X", "fail", "token xoxb-123-secret leaked")]
    assert "xoxb-123-secret" not in render(checks, ["xoxb-123-secret"])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: Any) -> Any:
    monkeypatch.chdir(tmp_path)
    sandbox = Sandbox.seeded(accounts=25, seed=7)
    creds = sandbox.credentials
    with LocalServer(sandbox.asgi_app()) as server:
        yield {
            "SLACK_BOT_TOKEN": "xoxb-1111-2222-topsecretbottoken",
            "SLACK_SIGNING_SECRET": "signing0secret0value0xyz",
            "SLACK_API_URL": f"{slack.url}/api/",
            "ZOHO_CLIENT_ID": creds.client_id,
            "ZOHO_CLIENT_SECRET": creds.client_secret,
            "ZOHO_REFRESH_TOKEN": creds.refresh_token,
            "ZOHO_BOOKS_ORG_ID": creds.books_org_id,
            "ZOHO_DESK_ORG_ID": creds.desk_org_id,
            "ZOHO_ACCOUNTS_URL": server.url,
            "ZOHO_API_URL": server.url,
            "ZOHO_DESK_URL": server.url,
            "THROUGHLINE_DB": str(tmp_path / "t.db"),
            "THROUGHLINE_CONFIG": str(tmp_path / "throughline.toml"),
            "THROUGHLINE_WEBHOOK_SECRET": GOOD_SECRET,
        }


def _no_secret(output: str, env: dict[str, str]) -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "ZOHO_CLIENT_SECRET",
        "ZOHO_REFRESH_TOKEN",
        "THROUGHLINE_WEBHOOK_SECRET",
    ):
        assert env[name] not in output, f"{name} printed"
        assert env[name][-8:] not in output, f"part of {name} printed"


def test_cli_exit_codes_and_never_a_secret(env, tmp_path):
    result = runner.invoke(cli, ["doctor"], env=env)
    assert result.exit_code == 1  # not synced (vocabulary unchecked: a warning) and no CRM channel yet (a failure)
    assert "✗ CRM notifications" in result.output and "! Vocabulary" in result.output
    _no_secret(result.output, env)

    (tmp_path / "throughline.toml").write_text(CONFIG)
    assert runner.invoke(cli, ["sync"], env=env).exit_code == 0
    with Store(env["THROUGHLINE_DB"]) as store:
        store.set_watermark("crm_watch", json.dumps({"channel_id": "1", "expiry": "2999-01-01T00:00:00+00:00"}))
    result = runner.invoke(cli, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    assert "All checks passed." in result.output
    _no_secret(result.output, env)

    bad = {**env, "ZOHO_REFRESH_TOKEN": "1000.this0is0a0wrong0refresh0token", "SLACK_BOT_TOKEN": "xoxb-9-9-revoked0tok"}
    result = runner.invoke(cli, ["doctor"], env=bad)
    assert result.exit_code == 1 and "✗ Zoho credentials" in result.output
    _no_secret(result.output, bad)


def test_secrets_of_lists_every_secret_setting(settings):
    values = set(secrets_of(settings))
    assert {
        settings.slack_signing_secret,
        settings.zoho_client_secret,
        settings.zoho_refresh_token,
        settings.webhook_secret,
        settings.slack_bot_token,
    } <= values


async def test_the_database_check_names_the_engine_and_a_missing_migration(make):
    doctor, deps = await make()
    check = _by_name(await doctor.run())["Database"]
    assert check.status == "pass" and check.detail.startswith(f"{deps.store.engine.name} at ")
    assert "schema" in check.detail
    with deps.store.transaction() as db:  # as if this database had been written by code one migration older
        db.execute("UPDATE schema_version SET version = version - 1")
    check = _by_name(await doctor.run())["Database"]
    assert check.status == "fail" and "throughline serve" in check.detail


async def test_the_database_check_fails_when_the_database_does_not_answer(make):
    doctor, deps = await make()
    deps.store.engine.close()
    check = doctor.database()
    assert check.status == "fail" and "THROUGHLINE_DATABASE_URL" in check.detail
