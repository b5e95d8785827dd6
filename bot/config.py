"""Configuration: `Settings` from the environment (and `.env`), and the operating structure from TOML.

The environment carries credentials and URLs (names fixed by DESIGN.md); `throughline.toml` describes how the
business runs. Both fail loudly at start-up with a `ConfigError` that names the variable or the file and key.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from bot.errors import ConfigError
from bot.vocabulary import KEYS as VOCABULARY_KEYS
from bot.vocabulary import Vocab, VocabularyKey, check_mapping

DATA_CENTRES = ("com", "eu", "in", "com.au", "jp", "ca", "sa", "com.cn")


class Settings(BaseModel):
    """Process environment. Field aliases are the contract names in DESIGN.md.

    `Settings()` reads them: a value given to the constructor (by alias or field name) wins, then the process
    environment, then `.env` in the working directory; names match whatever their case. (This was pydantic-settings'
    BaseSettings with env_file=".env": tests/bot/test_config.py checks ours against it. Reading 17 strings here
    spares every command its import, with its cloud secret stores, argparse and asyncio: 30–60 ms of a
    `throughline report`.)
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    slack_bot_token: str = Field("", alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str = Field("", alias="SLACK_SIGNING_SECRET")
    slack_app_token: str = Field("", alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")

    zoho_client_id: str = Field("", alias="ZOHO_CLIENT_ID")
    zoho_client_secret: str = Field("", alias="ZOHO_CLIENT_SECRET")
    zoho_refresh_token: str = Field("", alias="ZOHO_REFRESH_TOKEN")
    zoho_dc: str = Field("com", alias="ZOHO_DC")
    zoho_books_org_id: str = Field("", alias="ZOHO_BOOKS_ORG_ID")
    zoho_desk_org_id: str = Field("", alias="ZOHO_DESK_ORG_ID")
    zoho_accounts_url: str = Field("", alias="ZOHO_ACCOUNTS_URL")
    zoho_api_url: str = Field("", alias="ZOHO_API_URL")
    zoho_desk_url: str = Field("", alias="ZOHO_DESK_URL")

    db_path: str = Field("throughline.db", alias="THROUGHLINE_DB")
    database_url: str = Field("", alias="THROUGHLINE_DATABASE_URL")  # postgresql://…: replicas share it
    config_path: str = Field("throughline.toml", alias="THROUGHLINE_CONFIG")
    webhook_secret: str = Field("", alias="THROUGHLINE_WEBHOOK_SECRET")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        by_alias = {(f.alias if (f := cls.model_fields.get(k)) and f.alias else k): v for k, v in given.items()}
        return _environment(cls.model_fields) | by_alias

    @field_validator("zoho_dc")
    @classmethod
    def _known_dc(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in DATA_CENTRES:
            raise ValueError(f"unknown Zoho data centre {value!r}; use one of {', '.join(DATA_CENTRES)}")
        return value

    @property
    def store_location(self) -> str:
        """PostgreSQL when THROUGHLINE_DATABASE_URL is set (several replicas), else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def has_zoho_credentials(self) -> bool:
        return bool(self.zoho_client_id and self.zoho_client_secret and self.zoho_refresh_token)

    def missing_slack(self) -> list[str]:
        """Serving for real needs the bot token, and the signing secret unless Socket Mode is used."""
        missing = [name for name, value in (("SLACK_BOT_TOKEN", self.slack_bot_token),) if not value]
        if not self.socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET")
        return [f"{name} must be set (see README: Slack app)" for name in missing]

    def missing_zoho(self) -> list[str]:
        missing = [
            name
            for name, value in (
                ("ZOHO_CLIENT_ID", self.zoho_client_id),
                ("ZOHO_CLIENT_SECRET", self.zoho_client_secret),
                ("ZOHO_REFRESH_TOKEN", self.zoho_refresh_token),
                ("ZOHO_BOOKS_ORG_ID", self.zoho_books_org_id),
                ("ZOHO_DESK_ORG_ID", self.zoho_desk_org_id),
            )
            if not value
        ]
        return [f"{name} must be set, or run with --sandbox (see README: Zoho self-client)" for name in missing]

    def require_slack(self) -> None:
        _raise_all(self.missing_slack())

    def require_zoho(self) -> None:
        _raise_all(self.missing_zoho())


def _environment(fields: dict[str, Any]) -> dict[str, str]:
    """The variables named by `fields`' aliases, from the process environment or else `.env` (python-dotenv parses
    it, imported only when the file exists); a variable set to "" counts as set."""
    wanted = {field.alias.lower(): field.alias for field in fields.values() if field.alias}
    found = {wanted[name.lower()]: value for name, value in os.environ.items() if name.lower() in wanted}
    dotenv = Path(".env")
    if len(found) < len(wanted) and dotenv.is_file():
        from dotenv import dotenv_values

        for name, value in dotenv_values(dotenv).items():
            alias = wanted.get(name.lower())
            if alias is not None and value is not None:
                found.setdefault(alias, value)
    return found


def _raise_all(problems: list[str], source: str = "environment") -> None:
    """One ConfigError naming every problem (the first one's variable as its key)."""
    if not problems:
        return
    key = problems[0].split(" ", 1)[0].rstrip(":")
    if len(problems) == 1:
        raise ConfigError(
            problems[0].split(" ", 1)[1] if " " in problems[0] else problems[0],
            source=source,
            key=key,
            problems=problems,
        )
    raise _many(problems)


def _many(problems: list[str]) -> ConfigError:
    error = ConfigError(f"{len(problems)} problems to fix:\n  - " + "\n  - ".join(problems), problems=problems)
    error.key = problems[0].split(":", 1)[0]
    return error


def _settings_problems(exc: ValidationError) -> tuple[list[str], dict[str, Any]]:
    """('VARIABLE: what is wrong' for each bad value, the defaults to read the rest with)."""
    problems, defaults = [], {}
    for err in exc.errors():
        key = str(err["loc"][0]) if err.get("loc") else ""
        field = Settings.model_fields.get(key) or next(
            (f for f in Settings.model_fields.values() if f.alias == key), None
        )
        problems.append(f"{(field.alias if field else '') or key}: {err['msg'].removeprefix('Value error, ')}")
        if field is not None:
            defaults[field.alias or key] = field.default  # by alias: the environment is read by alias too
    return problems, defaults


def check_startup(*, zoho: bool, slack: bool, **overrides: Any) -> tuple[Settings, OperatingStructure]:
    """Everything `serve` needs, checked at once: malformed and missing variables and the operating-structure file
    are all named in one ConfigError instead of one at a time."""
    problems: list[str] = []
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems, defaults = _settings_problems(exc)
        settings = Settings(**(overrides | defaults))
    if zoho:
        problems += settings.missing_zoho()
    if slack:
        problems += settings.missing_slack()
    structure = OperatingStructure()
    try:
        structure = load_structure(settings.config_path)
    except ConfigError as exc:
        problems += exc.problems or [str(exc)]
    if len(problems) == 1 and not problems[0].startswith(settings.config_path):
        _raise_all(problems)
    elif problems:
        raise _many(problems)
    return settings, structure


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; a bad value becomes a ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems, _ = _settings_problems(exc)
        if len(problems) == 1:
            key, message = problems[0].split(": ", 1)
            raise ConfigError(message, source="environment", key=key, problems=problems) from exc
        raise _many(problems) from exc


# ---- the operating structure (throughline.toml) -------------------------------------------------------------


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channels(Section):
    sales: str = ""
    finance: str = ""
    support: str = ""
    leadership: str = ""

    @field_validator("sales", "finance", "support", "leadership")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        return check_channel_id(value)


def check_channel_id(value: str) -> str:
    """Channels are named by id (C…/G…), which survives renames; a name such as "#sales" is refused with the fix."""
    value = value.strip()
    if value and not (len(value) >= 9 and value[0] in "CG" and value.isalnum() and value.isupper()):
        raise ValueError(
            f"{value!r} is not a channel id: use the id (C… or G…), not the name. In Slack, open the "
            "channel's details; the id is at the bottom of the About tab"
        )
    return value


class Approvers(Section):
    invoice: list[str] = Field(default_factory=list)
    audit: list[str] = Field(default_factory=list)

    @field_validator("invoice", "audit")
    @classmethod
    def _slack_ids(cls, ids: list[str]) -> list[str]:
        for value in ids:
            if not value or value[0] not in "USW":
                raise ValueError(f"{value!r} is not a Slack user id (U…/W…) or user-group id (S…)")
        return ids


HandoffField = Literal["account", "contact", "contact_email", "billing_address", "amount", "products", "payment_terms"]
HANDOFF_FIELDS: tuple[HandoffField, ...] = (
    "account",
    "contact",
    "contact_email",
    "billing_address",
    "amount",
    "products",
    "payment_terms",
)


class Handoff(Section):
    won_stage: str = "Closed Won"
    required: list[HandoffField] = Field(default_factory=lambda: list(HANDOFF_FIELDS))
    create: Literal["invoice", "estimate"] = "invoice"
    default_payment_terms: int | None = None
    crm_invoice_field: str = ""


class Lookup(Section):
    # How long an account read from Zoho counts as fresh enough to answer /account without asking Zoho again.
    freshness_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 15
    # How long /account waits for Zoho before showing the mirror's card and updating it when Zoho answers.
    zoho_wait_seconds: Annotated[float, Field(ge=0.1, le=25)] = 5.0


class Sync(Section):
    # Incremental sync of the whole mirror; 0 turns the scheduled job off (webhooks and lookups still update it).
    interval_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 10


class Health(Section):
    overdue_days_at_risk: Annotated[int, Field(ge=1)] = 30
    open_tickets_watch: Annotated[int, Field(ge=1)] = 5
    escalations_at_risk: Annotated[int, Field(ge=1)] = 3


class Digest(Section):
    channel: str = ""
    time: dt.time = dt.time(9, 0)
    timezone: str = ""
    enabled: bool = True

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        return check_channel_id(value)


class ZohoLinks(Section):
    # Web UI roots used to link records from Slack; org-specific CRM URLs look like https://crm.zoho.eu/crm/org123
    crm_url: str = ""
    books_url: str = ""
    desk_url: str = ""


class Vocabulary(Section):
    # Each app's own labels → a canonical word (bot/vocabulary.py lists them). Zoho's standard labels are mapped
    # already unless zoho_defaults is false; entries here add to them or override them. Labels met in the data
    # that nothing maps are reported by `throughline audit` and `throughline doctor`, never guessed.
    zoho_defaults: bool = True
    crm_stages: dict[str, str] = Field(default_factory=dict)
    crm_account_types: dict[str, str] = Field(default_factory=dict)
    books_invoice_statuses: dict[str, str] = Field(default_factory=dict)
    books_estimate_statuses: dict[str, str] = Field(default_factory=dict)
    desk_ticket_statuses: dict[str, str] = Field(default_factory=dict)
    desk_ticket_priorities: dict[str, str] = Field(default_factory=dict)

    @field_validator(*VOCABULARY_KEYS)
    @classmethod
    def _canonical(cls, mapping: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        check_mapping(info.field_name, mapping)  # type: ignore[arg-type]
        return mapping

    def effective(self) -> Vocab:
        """Zoho's defaults overlaid with this file's tables; hold on to it when mapping many records."""
        return Vocab.build({key: getattr(self, key) for key in VOCABULARY_KEYS}, zoho_defaults=self.zoho_defaults)

    def canonical(self, key: VocabularyKey, label: str) -> str | None:
        """The canonical word for one app label (`"crm_stages", "Closed Won"` → `"won"`), None if unmapped."""
        return self.effective().canonical(key, label)


class Reports(Section):
    # Org currency for reports and digests; "" means the most common currency in the mirror. Amounts in other
    # currencies are reported separately, never added in.
    currency: str = ""
    # A won deal comes up for renewal this many days after it closed; listed from `renewal_window_days` before
    # that date until `renewal_window_days` after it, unless an open renewal deal exists.
    renewal_term_days: Annotated[int, Field(ge=1, le=3650)] = 365
    renewal_window_days: Annotated[int, Field(ge=1, le=365)] = 60
    # Open deals of these CRM types (or named "…renew…") count as renewal deals; [] means any open deal.
    renewal_deal_types: list[str] = Field(default_factory=lambda: ["Existing Business", "Renewal"])
    # A customer with no deal, invoice, payment or ticket activity for this many days is "going quiet".
    quiet_days: Annotated[int, Field(ge=1, le=3650)] = 60
    # Won deals with no invoice this many days after closing are listed (closed within the lookback).
    not_invoiced_after_days: Annotated[int, Field(ge=0, le=365)] = 14
    not_invoiced_lookback_days: Annotated[int, Field(ge=1, le=3650)] = 180
    # A digest missed while the bot was down is sent on start if its time passed less than this long ago.
    digest_grace_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 180
    # Rows shown per list in digests and reports before "… and N more".
    list_limit: Annotated[int, Field(ge=1, le=30)] = 8

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, code: str) -> str:
        code = code.strip().upper()
        if code and not (len(code) == 3 and code.isalpha()):
            raise ValueError(f"{code!r} is not a three-letter ISO currency code (for example EUR)")
        return code


DIGEST_TEAMS = ("finance", "sales", "support", "leadership")


ROUTE_NAMES = ("owner", "sales", "finance", "support", "leadership", "handoff")


class Routing(Section):
    """Who hears about what (see README: Routing rules). Targets: owner (a DM to the account owner), a team
    from [channels] (sales, finance, support, leadership), handoff (the account's handoff thread), or a
    channel id (C…/G…)."""

    new_ticket: list[str] = Field(default_factory=lambda: ["owner"])
    ticket_escalated: list[str] = Field(default_factory=lambda: ["support", "owner"])
    ticket_overdue: list[str] = Field(default_factory=lambda: ["support", "owner"])
    invoice_overdue: list[str] = Field(default_factory=lambda: ["owner", "finance"])
    invoice_paid: list[str] = Field(default_factory=lambda: ["finance", "handoff"])
    deal_won: list[str] = Field(default_factory=lambda: ["sales"])
    deal_lost: list[str] = Field(default_factory=lambda: ["sales"])
    # New tickets are told only for accounts with an open deal or a deal won this recently.
    new_ticket_needs_active_account: bool = True
    recent_win_days: Annotated[int, Field(ge=0, le=3650)] = 90
    # A ticket first seen more than this long after it was created is not announced as new.
    new_ticket_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    # CRM stages that mean lost (besides any stage the vocabulary maps to "lost").
    lost_stages: list[str] = Field(default_factory=lambda: ["Closed Lost", "Closed-Lost to Competition"])
    # Where a notice for the owner goes when the owner has no Slack user: a target as above, or "" to drop it.
    owner_fallback: str = "sales"
    # Notices about an account with a handoff message go in that message's thread.
    use_handoff_threads: bool = True
    # Several notices of one kind about one account within this window become one message, updated in place.
    group_window_seconds: Annotated[float, Field(ge=0, le=24 * 3600)] = 600
    # Slack allows about one message a second per channel.
    per_channel_per_second: Annotated[float, Field(gt=0, le=50)] = 1.0

    @field_validator(
        "new_ticket", "ticket_escalated", "ticket_overdue", "invoice_overdue", "invoice_paid", "deal_won", "deal_lost"
    )
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        for target in targets:
            _check_target(target)
        return targets

    @field_validator("owner_fallback")
    @classmethod
    def _fallback(cls, target: str) -> str:
        if target:
            _check_target(target)
        return target


def _check_target(target: str) -> None:
    if target not in ROUTE_NAMES and not (len(target) >= 9 and target[0] in "CG" and target.isalnum()):
        raise ValueError(f"{target!r} is not a route: use {', '.join(ROUTE_NAMES)} or a channel id (C…)")


class Unfurl(Section):
    """Which Zoho links unfurl where (see README: Link unfurls)."""

    enabled: bool = True
    # Invoice links unfurl only in [channels].finance and these channels.
    invoice_channels: list[str] = Field(default_factory=list)
    # Amounts (deal values, outstanding, overdue) show on unfurled cards only in the sales, finance and
    # leadership channels and these; elsewhere the card leaves money out.
    money_channels: list[str] = Field(default_factory=list)


class OperatingStructure(Section):
    timezone: str = "UTC"
    channels: Channels = Field(default_factory=Channels)
    approvers: Approvers = Field(default_factory=Approvers)
    handoff: Handoff = Field(default_factory=Handoff)
    lookup: Lookup = Field(default_factory=Lookup)
    sync: Sync = Field(default_factory=Sync)
    health: Health = Field(default_factory=Health)
    digests: dict[str, Digest] = Field(default_factory=dict)
    zoho: ZohoLinks = Field(default_factory=ZohoLinks)
    vocabulary: Vocabulary = Field(default_factory=Vocabulary)
    routing: Routing = Field(default_factory=Routing)
    unfurl: Unfurl = Field(default_factory=Unfurl)
    reports: Reports = Field(default_factory=Reports)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, name: str) -> str:
        _zone(name)
        return name

    @field_validator("digests")
    @classmethod
    def _known_teams(cls, digests: dict[str, Digest]) -> dict[str, Digest]:
        for team, digest in digests.items():
            if team not in DIGEST_TEAMS:
                raise ValueError(f"unknown digest team {team!r}; use one of {', '.join(DIGEST_TEAMS)}")
            if digest.timezone:
                _zone(digest.timezone)
        return digests

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    def cross_check(self) -> tuple[str, str] | None:
        """(dotted key, what is wrong) for a rule that spans sections, or None."""
        won = self.handoff.won_stage
        mapped = self.vocabulary.canonical("crm_stages", won)
        if mapped is None:
            return "handoff.won_stage", (
                f'{won!r} is not a stage in the vocabulary: add "{won}" = "won" under [vocabulary.crm_stages]'
            )
        if mapped != "won":
            return "handoff.won_stage", f'{won!r} is mapped to {mapped!r} in [vocabulary.crm_stages], not to "won"'
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone name (for example Europe/Berlin)") from exc


def parse_structure(text: str, source: str = "<string>") -> OperatingStructure:
    """Parse TOML text into the operating structure; errors name the source and the dotted key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", source=source) from exc
    try:
        structure = OperatingStructure.model_validate(raw)
    except ValidationError as exc:
        found: list[tuple[str, str]] = []
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (check the spelling against throughline.example.toml)"
            found.append((".".join(str(p) for p in err.get("loc", ())), message))
        problems = [f"{source}: {key}: {message}" for key, message in found]
        if len(found) == 1:
            raise ConfigError(found[0][1], source=source, key=found[0][0], problems=problems) from exc
        error = _many(problems)
        error.source, error.key = source, found[0][0]
        raise error from exc
    problem = structure.cross_check()
    if problem is not None:
        raise ConfigError(problem[1], source=source, key=problem[0])
    return structure


def load_structure(path: str | Path, *, required: bool = False) -> OperatingStructure:
    """Load the operating-structure file. A missing default file means built-in defaults."""
    path = Path(path)
    if not path.exists():
        if required:
            raise ConfigError("file not found (copy throughline.example.toml to start)", source=str(path))
        return OperatingStructure()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read ({exc})", source=str(path)) from exc
    return parse_structure(text, source=str(path))
