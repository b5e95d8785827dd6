"""The database knows its org: the first start records the Zoho Books and Desk org ids and whether they are a
sandbox's in the `meta` table; every later start compares. A mirror synced from one org and pointed at another
would sync nothing and report the old org's numbers, and sandbox data must never mix with real data, so either
stops with `DatabaseMismatch`, naming what the file holds and the way out."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from bot.config import Settings
from bot.errors import DatabaseMismatch
from bot.store import Store

SANDBOX_DB = "throughline-sandbox.db"  # `serve --sandbox` uses its own file unless THROUGHLINE_DB says otherwise
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_KEYS = ("zoho_books_org_id", "zoho_desk_org_id", "zoho_sandbox")


@dataclass(frozen=True)
class OrgIdentity:
    books_org_id: str
    desk_org_id: str
    sandbox: bool

    def describe(self) -> str:
        kind = "the Zoho sandbox" if self.sandbox else "real Zoho"
        return f"{kind}, Books org {self.books_org_id or '—'}, Desk org {self.desk_org_id or '—'}"


def points_at_a_sandbox(settings: Settings) -> bool:
    """Zoho URLs on this machine are the sandbox (`throughline sandbox` or `serve --sandbox`)."""
    urls = (settings.zoho_accounts_url, settings.zoho_api_url, settings.zoho_desk_url)
    return any((urlparse(u).hostname or "") in LOOPBACK for u in urls if u)


def identity_of(settings: Settings, *, sandbox: bool | None = None) -> OrgIdentity:
    return OrgIdentity(
        settings.zoho_books_org_id,
        settings.zoho_desk_org_id,
        points_at_a_sandbox(settings) if sandbox is None else sandbox,
    )


def recorded(store: Store) -> OrgIdentity | None:
    rows = store.meta_values(_KEYS)
    if not rows:
        return None
    return OrgIdentity(rows.get(_KEYS[0], ""), rows.get(_KEYS[1], ""), rows.get(_KEYS[2]) == "1")


def check_org(store: Store, identity: OrgIdentity) -> None:
    """Record `identity` on first use; raise DatabaseMismatch when the file holds another org or kind of data.
    An org id recorded empty (a start without it) is filled in later rather than counted as a mismatch."""
    held = recorded(store)
    if held is not None:
        problems = []
        if held.sandbox != identity.sandbox:
            problems.append("sandbox and real data must not mix")
        for name, old, new in (
            ("Books", held.books_org_id, identity.books_org_id),
            ("Desk", held.desk_org_id, identity.desk_org_id),
        ):
            if old and new and old != new:
                problems.append(f"it mirrors {name} org {old}, not {new}")
        if problems:
            raise DatabaseMismatch(
                f"{store.path} holds data of {held.describe()}; this start is for {identity.describe()} "
                f"({'; '.join(problems)}). Point THROUGHLINE_DB at another file (for example "
                f"{SANDBOX_DB if identity.sandbox else f'throughline-{identity.books_org_id or 1}.db'}), or move "
                f"{store.path} aside to start a fresh mirror (see README: The local database)",
                source="environment",
                key="THROUGHLINE_DB",
            )
        identity = OrgIdentity(
            held.books_org_id or identity.books_org_id, held.desk_org_id or identity.desk_org_id, held.sandbox
        )
    values = (identity.books_org_id, identity.desk_org_id, "1" if identity.sandbox else "0")
    store.set_meta(dict(zip(_KEYS, values, strict=True)))
