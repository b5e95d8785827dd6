"""`throughline doctor`: is everything set up? One line per check that passes or says exactly what to do.

Checks: the operating-structure file (valid; the vocabulary maps every label the mirror holds), the webhook
secret, the Slack token and its scopes (Slack's `x-oauth-scopes` header on `auth.test` against manifest.yml),
the signing secret, each configured channel and the bot's access to it (`conversations.info`), the Zoho refresh
token for the configured data centre (one real token refresh), the Books and Desk organisation ids, and the CRM
notification channel's expiry (the `crm_watch` watermark). No secret is ever printed: messages name variables,
never values, and the report passes through `redact` as a last guard.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.service import load_mirror
from bot.config import OperatingStructure, Settings
from bot.errors import ConfigError, StoreError, ThroughlineError, ZohoError
from bot.manifest import manifest_scopes
from bot.money import format_time
from bot.store import Store
from bot.vocabulary import CANONICAL, unmapped_labels
from bot.zoho.clients import ZohoClients

Status = Literal["pass", "warn", "fail"]
MARKS = {"pass": "✓", "warn": "!", "fail": "✗"}
MIN_SECRET = 16
WATCH_KEY = "crm_watch"
WATCH_SOON = timedelta(hours=1)
NEW_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def failed(checks: Iterable[Check]) -> bool:
    return any(c.status == "fail" for c in checks)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "[hidden]")
    return text


def secrets_of(settings: Settings) -> list[str]:
    return [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.zoho_client_secret,
        settings.zoho_refresh_token,
        settings.webhook_secret,
    ]


def render(checks: Iterable[Check], secrets: Iterable[str] = ()) -> str:
    rows = list(checks)
    width = max((len(c.name) for c in rows), default=0)
    lines = [f"{MARKS[c.status]} {c.name.ljust(width)}  {c.detail}" for c in rows]
    bad = sum(c.status == "fail" for c in rows)
    lines.append("" if not rows else f"\n{bad} check{'s' * (bad != 1)} failed." if bad else "\nAll checks passed.")
    return redact("\n".join(lines).rstrip() + "\n", secrets)


class Doctor:
    def __init__(
        self,
        settings: Settings,
        structure: OperatingStructure,
        *,
        config_error: ConfigError | None,
        store: Store,
        zoho: ZohoClients,
        slack: AsyncWebClient,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings, self.structure, self.config_error = settings, structure, config_error
        self.store, self.zoho, self.slack, self.clock = store, zoho, slack, clock

    async def run(self) -> list[Check]:
        vocabulary = await asyncio.to_thread(self.vocabulary)  # reads the whole mirror
        checks = [self.database(), self.config_file(), vocabulary, self.webhook_secret(), self.signing_secret()]
        checks += await self.slack_checks()
        checks += await self.zoho_checks()
        checks.append(self.crm_watch())
        return checks

    # ---- the files and secrets -----------------------------------------------------------------------------

    def database(self) -> Check:
        """The connection (one query now) and the migration state: every migration this code knows has run."""
        try:
            engine, where, version, known = self.store.database_state()
        except StoreError as exc:
            return Check("Database", "fail", f"{exc.user_message()} — check THROUGHLINE_DATABASE_URL / THROUGHLINE_DB")
        if version < known:
            return Check(
                "Database",
                "fail",
                f"{engine} at {where}: schema {version} of {known}; start `throughline serve` once to migrate it",
            )
        return Check("Database", "pass", f"{engine} at {where}, schema {version} of {known} migrations")

    def config_file(self) -> Check:
        path = self.settings.config_path
        if self.config_error is not None:
            return Check("Config file", "fail", f"{self.config_error} — fix it and run the doctor again")
        if not Path(path).exists():
            return Check(
                "Config file",
                "warn",
                f"{path} not found: built-in defaults are used (copy "
                "throughline.example.toml to describe channels and approvers)",
            )
        return Check("Config file", "pass", f"{path} is valid")

    def vocabulary(self) -> Check:
        if self.config_error is not None:
            return Check("Vocabulary", "warn", "not checked: the config file has an error")
        data = load_mirror(self.store)
        if not (data.accounts or data.deals or data.invoices or data.tickets):
            return Check(
                "Vocabulary",
                "warn",
                "the mirror is empty, so no labels were checked: run `throughline sync`, then the doctor again",
            )
        found = unmapped_labels(
            self.structure.vocabulary.effective(),
            accounts=data.accounts,
            deals=data.deals,
            invoices=data.invoices,
            tickets=data.tickets,
        )
        if not found:
            return Check("Vocabulary", "pass", "every stage, status, priority and account type in the mirror is mapped")
        parts = [
            f'{u.description} "{u.label}" ({u.count}): add it under [vocabulary.{u.key}] as one of '
            f"{', '.join(CANONICAL[u.key])}"
            for u in found[:5]
        ]
        more = f"; and {len(found) - 5} more (`throughline audit` lists them)" if len(found) > 5 else ""
        return Check("Vocabulary", "fail", "; ".join(parts) + more)

    def webhook_secret(self) -> Check:
        secret = self.settings.webhook_secret
        if not secret:
            return Check(
                "Webhook secret",
                "fail",
                f"THROUGHLINE_WEBHOOK_SECRET is not set: set it to a random "
                f"string (`{NEW_SECRET}`) and use it in the Zoho webhook URLs",
            )
        if len(secret) < MIN_SECRET:
            return Check(
                "Webhook secret",
                "fail",
                f"THROUGHLINE_WEBHOOK_SECRET is shorter than {MIN_SECRET} "
                f"characters: replace it (`{NEW_SECRET}`) here and in Zoho",
            )
        return Check("Webhook secret", "pass", "THROUGHLINE_WEBHOOK_SECRET is set and long enough")

    def signing_secret(self) -> Check:
        if self.settings.socket_mode:
            return Check("Slack signing", "pass", "Socket Mode (SLACK_APP_TOKEN): no request signatures to check")
        if not self.settings.slack_signing_secret:
            return Check(
                "Slack signing",
                "fail",
                "SLACK_SIGNING_SECRET is not set: copy it from the app's Basic Information → Signing Secret",
            )
        return Check("Slack signing", "pass", "SLACK_SIGNING_SECRET is set")

    # ---- Slack ---------------------------------------------------------------------------------------------

    async def slack_checks(self) -> list[Check]:
        token = self.settings.slack_bot_token
        if not token:
            return [
                Check(
                    "Slack token",
                    "fail",
                    "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token "
                    "(xoxb-…) from the app's OAuth & Permissions page",
                )
            ]
        if not token.startswith("xoxb-"):
            return [
                Check(
                    "Slack token",
                    "fail",
                    "SLACK_BOT_TOKEN is not a bot token (it should start with xoxb-): use the Bot User OAuth Token",
                )
            ]
        try:
            answer = await self.slack.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "error"
            return [
                Check(
                    "Slack token",
                    "fail",
                    f"Slack refused SLACK_BOT_TOKEN ({error}): reinstall the app to "
                    "the workspace and copy the new Bot User OAuth Token",
                )
            ]
        except Exception as exc:  # connection errors from aiohttp
            return [
                Check(
                    "Slack token",
                    "fail",
                    f"cannot reach Slack at {self.settings.slack_api_url} "
                    f"({type(exc).__name__}): check the network or SLACK_API_URL",
                )
            ]
        who = f"bot {answer.get('user') or answer.get('user_id')} in {answer.get('team') or answer.get('team_id')}"
        return [
            Check("Slack token", "pass", f"accepted: {who}"),
            self._scopes(answer.headers),
            *[await self._channel(key, channel) for key, channel in self._channels()],
        ]

    def _scopes(self, headers: dict[str, Any]) -> Check:
        wanted = manifest_scopes()
        header = next((str(v) for k, v in (headers or {}).items() if k.lower() == "x-oauth-scopes"), None)
        if not wanted:
            return Check("Slack scopes", "warn", "manifest.yml not found next to the code: scopes not compared")
        if header is None:
            return Check(
                "Slack scopes",
                "warn",
                "Slack did not report the granted scopes: compare the app's OAuth "
                "& Permissions page with manifest.yml by hand",
            )
        granted = {s.strip() for s in header.split(",") if s.strip()}
        lacking = [s for s in wanted if s not in granted]
        if lacking:
            return Check(
                "Slack scopes",
                "fail",
                f"missing {', '.join(lacking)}: add them to the app (manifest.yml "
                "lists them) and reinstall it to the workspace",
            )
        return Check("Slack scopes", "pass", f"all {len(wanted)} scopes in manifest.yml are granted")

    def _channels(self) -> list[tuple[str, str]]:
        found = [(f"channels.{k}", v) for k, v in self.structure.channels.model_dump().items() if v]
        found += [(f"digests.{team}.channel", d.channel) for team, d in self.structure.digests.items() if d.channel]
        return found

    async def _channel(self, key: str, channel: str) -> Check:
        name = f"Channel {key}"
        try:
            answer = await self.slack.conversations_info(channel=channel)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "error"
            if error == "missing_scope":
                return Check(name, "fail", "the app lacks channels:read / groups:read: reinstall it from manifest.yml")
            return Check(
                name,
                "fail",
                f"{channel}: {error} — check the id in [{key.rsplit('.', 1)[0]}] (right-click "
                "the channel → Copy link), and invite @Throughline if it is private",
            )
        info = answer.get("channel") or {}
        label = f"#{info['name']}" if info.get("name") else channel
        if info.get("is_archived"):
            return Check(name, "fail", f"{label} is archived: choose another channel for {key}")
        if info.get("is_member"):
            return Check(name, "pass", f"{label}: the bot is a member")
        if info.get("is_private"):
            return Check(name, "fail", f"{label} is private and the bot is not in it: `/invite @Throughline` there")
        return Check(
            name,
            "warn",
            f"{label}: the bot is not a member; it can post (chat:write.public) but "
            "`/invite @Throughline` lets it read threads too",
        )

    # ---- Zoho ----------------------------------------------------------------------------------------------

    async def zoho_checks(self) -> list[Check]:
        s = self.settings
        missing = [
            n
            for n, v in (
                ("ZOHO_CLIENT_ID", s.zoho_client_id),
                ("ZOHO_CLIENT_SECRET", s.zoho_client_secret),
                ("ZOHO_REFRESH_TOKEN", s.zoho_refresh_token),
            )
            if not v
        ]
        if missing:
            return [
                Check(
                    "Zoho credentials",
                    "fail",
                    f"{', '.join(missing)} not set: create a self-client for "
                    f"data centre {s.zoho_dc} (README: Zoho self-client)",
                )
            ]
        host = urlsplit(self.zoho.endpoints.token_url).netloc
        try:
            await self.zoho.token_cache.token()
        except ThroughlineError as exc:
            return [Check("Zoho credentials", "fail", f"{exc} (ZOHO_DC={s.zoho_dc}, accounts server {host})")]
        domain = self.zoho.token_cache.api_domain or "the configured API domain"
        checks = [Check("Zoho credentials", "pass", f"token refreshed at {host} (ZOHO_DC={s.zoho_dc}); API {domain}")]
        checks.append(await self._org("Books organisation", "ZOHO_BOOKS_ORG_ID", s.zoho_books_org_id, self._books_orgs))
        checks.append(await self._org("Desk organisation", "ZOHO_DESK_ORG_ID", s.zoho_desk_org_id, self._desk_orgs))
        return checks

    async def _books_orgs(self) -> list[tuple[str, str]]:
        body = await self.zoho.books.transport.get("/organizations")
        return [
            (str(o.get("organization_id")), str(o.get("name") or ""))
            for o in (body or {}).get("organizations") or []
            if isinstance(o, dict)
        ]

    async def _desk_orgs(self) -> list[tuple[str, str]]:
        body = await self.zoho.desk.transport.get("/organizations")
        return [
            (str(o.get("id")), str(o.get("companyName") or ""))
            for o in (body or {}).get("data") or []
            if isinstance(o, dict)
        ]

    async def _org(self, name: str, variable: str, wanted: str, read: Callable[[], Any]) -> Check:
        if not wanted:
            return Check(name, "fail", f"{variable} is not set (README: Zoho self-client, step 4)")
        try:
            orgs: list[tuple[str, str]] = await read()
        except ZohoError as exc:
            return Check(name, "fail", f"could not list organisations: {exc.user_message()}")
        for org_id, org_name in orgs:
            if org_id == wanted:
                return Check(name, "pass", f"{variable} is “{org_name}” ({org_id})")
        known = ", ".join(f"{i} ({n})" for i, n in orgs) or "none"
        return Check(name, "fail", f"{variable}={wanted} is not one of this Zoho user's organisations: {known}")

    # ---- CRM notifications ---------------------------------------------------------------------------------

    def crm_watch(self) -> Check:
        name = "CRM notifications"
        raw = self.store.get_watermark(WATCH_KEY)
        if not raw:
            return Check(
                name,
                "fail",
                "not subscribed: run `throughline zoho watch` (then `throughline serve` keeps the channel renewed)",
            )
        try:
            stored = json.loads(raw)
            expiry = datetime.fromisoformat(str(stored["expiry"]).replace("Z", "+00:00"))
            channel = stored.get("channel_id", "?")
        except (ValueError, KeyError, TypeError):
            return Check(name, "fail", "the stored channel is unreadable: run `throughline zoho watch` again")
        now = self.clock()
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=now.tzinfo)
        when = format_time(expiry, self.structure.tz, now=now)
        if expiry <= now:
            return Check(
                name,
                "fail",
                f"channel {channel} expired {when}: run `throughline zoho watch`, and keep "
                "`throughline serve` running so it renews the channel",
            )
        if expiry - now < WATCH_SOON:
            return Check(
                name,
                "warn",
                f"channel {channel} expires {when}: `throughline serve` should renew it "
                "soon; if it is not running, run `throughline zoho watch`",
            )
        return Check(name, "pass", f"channel {channel} is active until {when}")
