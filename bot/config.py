"""Configuration: `Settings` from the environment (and `.env`), and the operating structure from TOML.

The environment carries credentials and URLs (names fixed by DESIGN.md); `throughline.toml` describes how the
business runs. Both fail loudly at start-up with a `ConfigError` that names the variable or the file and key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

DATA_CENTRES = ("com", "eu", "in", "com.au", "jp", "ca", "sa", "com.cn")


class Settings(BaseSettings):
    """Process environment. Field aliases are the contract names in DESIGN.md."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

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
    config_path: str = Field("throughline.toml", alias="THROUGHLINE_CONFIG")
    webhook_secret: str = Field("", alias="THROUGHLINE_WEBHOOK_SECRET")

    @field_validator("zoho_dc")
    @classmethod
    def _known_dc(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in DATA_CENTRES:
            raise ValueError(f"unknown Zoho data centre {value!r}; use one of {', '.join(DATA_CENTRES)}")
        return value

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def has_zoho_credentials(self) -> bool:
        return bool(self.zoho_client_id and self.zoho_client_secret and self.zoho_refresh_token)

    def require_slack(self) -> None:
        """Serving for real needs the bot token, and the signing secret unless Socket Mode is used."""
        missing = [name for name, value in (("SLACK_BOT_TOKEN", self.slack_bot_token),) if not value]
        if not self.socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET")
        if missing:
            raise ConfigError(f"{', '.join(missing)} must be set (see README: configuring Slack)",
                              source="environment", key=missing[0])

    def require_zoho(self) -> None:
        missing = [name for name, value in (
            ("ZOHO_CLIENT_ID", self.zoho_client_id), ("ZOHO_CLIENT_SECRET", self.zoho_client_secret),
            ("ZOHO_REFRESH_TOKEN", self.zoho_refresh_token), ("ZOHO_BOOKS_ORG_ID", self.zoho_books_org_id),
            ("ZOHO_DESK_ORG_ID", self.zoho_desk_org_id)) if not value]
        if missing:
            raise ConfigError(f"{', '.join(missing)} must be set, or run with --sandbox "
                              "(see README: creating a Zoho self-client)", source="environment", key=missing[0])


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; a bad value becomes a ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err.get("loc") else ""
        alias = Settings.model_fields[key].alias if key in Settings.model_fields else key
        raise ConfigError(err["msg"].removeprefix("Value error, "), source="environment", key=alias or key) from exc


# ---- the operating structure (throughline.toml) -------------------------------------------------------------


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channels(Section):
    sales: str = ""
    finance: str = ""
    support: str = ""
    leadership: str = ""


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
    "account", "contact", "contact_email", "billing_address", "amount", "products", "payment_terms")


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


class ZohoLinks(Section):
    # Web UI roots used to link records from Slack; org-specific CRM URLs look like https://crm.zoho.eu/crm/org123
    crm_url: str = ""
    books_url: str = ""
    desk_url: str = ""


class Vocabulary(Section):
    # Each app's own labels → canonical stage or status. Filled in by the vocabulary feature; unknown labels
    # are reported, never guessed.
    crm_stages: dict[str, str] = Field(default_factory=dict)
    books_invoice_statuses: dict[str, str] = Field(default_factory=dict)
    desk_ticket_statuses: dict[str, str] = Field(default_factory=dict)


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

    @field_validator("timezone")
    @classmethod
    def _iana(cls, name: str) -> str:
        _zone(name)
        return name

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)


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
        return OperatingStructure.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err.get("loc", ()))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against throughline.example.toml)"
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(message, source=source, key=key) from exc


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
