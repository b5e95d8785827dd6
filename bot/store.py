"""Local state in SQLite through sqlite-utils 4.x: the mirror of Zoho records and small caches.

Every mirror table is keyed by the Zoho id and holds the canonical model as JSON in `data`, next to the
columns we search or join on (indexed). Schema changes are migrations: append one function to `MIGRATIONS`
and it runs once, in its own transaction, on the next open.

Transactions follow sqlite-utils 4: a bare write commits on its own; `with db.atomic():` groups several
writes (nested blocks become savepoints). The connection is shared across threads (handlers run SQLite work
in a thread), so every public method holds one re-entrant lock.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel
from sqlite_utils import Database

from bot.errors import StoreError
from bot.lookup import FREE_MAIL_DOMAINS, NameIndex, domain_of, normalise_name
from bot.models import (
    Account,
    AccountSnapshot,
    BooksCustomer,
    Contact,
    Deal,
    DeskAccount,
    Invoice,
    Payment,
    Ticket,
)

Migration = Callable[[Database], None]
P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)

_CHUNK = 500  # ids per `IN (...)`, well under SQLite's bound-parameter limit


def _run(db: Database, script: str) -> None:
    # Not `executescript`: sqlite3 commits any open transaction before it, which would break atomic().
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_mirror(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, name_norm TEXT NOT NULL,
            owner_email TEXT, website_domain TEXT, modified_time TEXT, data TEXT NOT NULL);
        CREATE TABLE contacts (id TEXT PRIMARY KEY, account_id TEXT, email TEXT, email_domain TEXT,
            data TEXT NOT NULL);
        CREATE TABLE deals (id TEXT PRIMARY KEY, account_id TEXT, stage TEXT, closing_date TEXT,
            modified_time TEXT, data TEXT NOT NULL);
        CREATE TABLE books_customers (id TEXT PRIMARY KEY, account_id TEXT, name TEXT, data TEXT NOT NULL);
        CREATE TABLE invoices (id TEXT PRIMARY KEY, customer_id TEXT, account_id TEXT, deal_id TEXT,
            status TEXT, date TEXT, due_date TEXT, modified_time TEXT, data TEXT NOT NULL);
        CREATE TABLE payments (id TEXT PRIMARY KEY, customer_id TEXT, account_id TEXT, date TEXT,
            data TEXT NOT NULL);
        CREATE TABLE desk_accounts (id TEXT PRIMARY KEY, crm_account_id TEXT, name TEXT, data TEXT NOT NULL);
        CREATE TABLE tickets (id TEXT PRIMARY KEY, desk_account_id TEXT, account_id TEXT, status_type TEXT,
            modified_time TEXT, data TEXT NOT NULL);
        CREATE INDEX idx_accounts_name_norm ON accounts (name_norm);
        CREATE INDEX idx_accounts_owner_email ON accounts (owner_email);
        CREATE INDEX idx_accounts_website_domain ON accounts (website_domain);
        CREATE INDEX idx_contacts_account_id ON contacts (account_id);
        CREATE INDEX idx_contacts_email ON contacts (email);
        CREATE INDEX idx_contacts_email_domain ON contacts (email_domain);
        CREATE INDEX idx_deals_account_id ON deals (account_id);
        CREATE INDEX idx_books_customers_account_id ON books_customers (account_id);
        CREATE INDEX idx_invoices_customer_id ON invoices (customer_id);
        CREATE INDEX idx_invoices_account_id ON invoices (account_id);
        CREATE INDEX idx_invoices_deal_id ON invoices (deal_id);
        CREATE INDEX idx_payments_customer_id ON payments (customer_id);
        CREATE INDEX idx_payments_account_id ON payments (account_id);
        CREATE INDEX idx_desk_accounts_crm_account_id ON desk_accounts (crm_account_id);
        CREATE INDEX idx_tickets_desk_account_id ON tickets (desk_account_id);
        CREATE INDEX idx_tickets_account_id ON tickets (account_id);
        """,
    )


def _m002_state(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE account_fetches (account_id TEXT PRIMARY KEY, fetched_at TEXT NOT NULL);
        CREATE TABLE watermarks (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE slack_users (email TEXT PRIMARY KEY, user_id TEXT NOT NULL, fetched_at TEXT NOT NULL);
        """,
    )


def _m003_workflow(db: Database) -> None:
    """Durable workflow state: the webhook inbox, handoffs with their write-ahead log, and the audit trail."""
    _run(
        db,
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, identity TEXT NOT NULL,
            received_at TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, error TEXT, processed_at TEXT,
            UNIQUE (source, identity));
        CREATE INDEX inbox_state ON inbox (state, next_attempt_at);
        CREATE TABLE slack_event_ids (event_id TEXT PRIMARY KEY, received_at TEXT NOT NULL);
        CREATE TABLE handoffs (
            deal_id TEXT PRIMARY KEY, account_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'invoice', plan TEXT NOT NULL DEFAULT '{}', missing TEXT NOT NULL DEFAULT '[]',
            owner_email TEXT NOT NULL DEFAULT '', finance_channel TEXT NOT NULL DEFAULT '',
            finance_ts TEXT NOT NULL DEFAULT '', support_ts TEXT NOT NULL DEFAULT '',
            books_customer_id TEXT NOT NULL DEFAULT '', document_id TEXT NOT NULL DEFAULT '',
            document_number TEXT NOT NULL DEFAULT '', desk_account_id TEXT NOT NULL DEFAULT '',
            desk_contact_id TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
            approved_by TEXT NOT NULL DEFAULT '', approved_at TEXT NOT NULL DEFAULT '',
            rejected_by TEXT NOT NULL DEFAULT '', rejected_reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX handoffs_state ON handoffs (state);
        CREATE INDEX handoffs_account ON handoffs (account_id);
        CREATE TABLE zoho_writes (
            key TEXT PRIMARY KEY, deal_id TEXT NOT NULL, step TEXT NOT NULL, state TEXT NOT NULL,
            result_id TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, finished_at TEXT NOT NULL DEFAULT '');
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX audit_subject ON audit_log (subject);
        CREATE TABLE notifications (
            key TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL DEFAULT '', sent_at TEXT NOT NULL);
        """,
    )


def _m_drift_runs(db: Database) -> None:
    """Drift audit runs: the findings a Slack summary's buttons page through and apply (see bot/audit/service.py)."""
    _run(
        db,
        """
        CREATE TABLE drift_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
            findings TEXT NOT NULL DEFAULT '[]', applied TEXT NOT NULL DEFAULT '{}', notes TEXT NOT NULL DEFAULT '[]');
        """,
    )


def _m_digest_sends(db: Database) -> None:
    """Daily digests: one row per (team, local day, recipient), claimed before sending so none goes twice."""
    _run(
        db,
        """
        CREATE TABLE digest_sends (
            team TEXT NOT NULL, day TEXT NOT NULL, recipient TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
            channel TEXT NOT NULL DEFAULT '', ts TEXT NOT NULL DEFAULT '', claimed_at TEXT NOT NULL,
            sent_at TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', PRIMARY KEY (team, day, recipient));
        """,
    )


def _m_meta(db: Database) -> None:
    """What the database is: the Zoho org ids it mirrors and whether they are a sandbox's (bot/db_identity.py)."""
    _run(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _m_desk_links(db: Database) -> None:
    """Desk accounts Throughline created, per CRM account: Desk's API cannot set `zohoCRMAccount`, so this is
    our own record of the link (the drift audit tells it apart from a link Zoho holds)."""
    _run(db, "CREATE TABLE desk_links (crm_account_id TEXT PRIMARY KEY, desk_account_id TEXT NOT NULL, "
             "created_at TEXT NOT NULL); CREATE INDEX desk_links_desk ON desk_links (desk_account_id);")


# Append only; never edit or reorder a migration that has shipped.
MIGRATIONS: tuple[Migration, ...] = (_m001_mirror, _m002_state, _m003_workflow, _m_drift_runs, _m_digest_sends,
                                     _m_meta, _m_desk_links)

MIRROR_TABLES = (
    "accounts", "contacts", "deals", "books_customers", "invoices", "payments", "desk_accounts", "tickets",
)  # fmt: skip


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _account_row(a: Account) -> dict[str, Any]:
    return {
        "id": a.id, "name": a.name, "name_norm": normalise_name(a.name), "owner_email": a.owner.email.lower(),
        "website_domain": domain_of(a.website), "modified_time": _iso(a.modified_time),
        "data": a.model_dump_json(),
    }  # fmt: skip


def _contact_row(c: Contact) -> dict[str, Any]:
    email = c.email.strip().lower()
    return {
        "id": c.id, "account_id": c.account_id, "email": email, "email_domain": domain_of(email),
        "data": c.model_dump_json(),
    }  # fmt: skip


def _deal_row(d: Deal) -> dict[str, Any]:
    return {
        "id": d.id, "account_id": d.account_id, "stage": d.stage, "closing_date": _iso(d.closing_date),
        "modified_time": _iso(d.modified_time), "data": d.model_dump_json(),
    }  # fmt: skip


def _customer_row(c: BooksCustomer) -> dict[str, Any]:
    return {"id": c.id, "account_id": c.account_id, "name": c.name, "data": c.model_dump_json()}


def _invoice_row(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id, "customer_id": i.customer_id, "account_id": i.account_id, "deal_id": i.deal_id,
        "status": i.status, "date": _iso(i.date), "due_date": _iso(i.due_date),
        "modified_time": _iso(i.modified_time), "data": i.model_dump_json(),
    }  # fmt: skip


def _payment_row(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id, "customer_id": p.customer_id, "account_id": p.account_id, "date": _iso(p.date),
        "data": p.model_dump_json(),
    }  # fmt: skip


def _desk_account_row(d: DeskAccount) -> dict[str, Any]:
    return {"id": d.id, "crm_account_id": d.crm_account_id, "name": d.name, "data": d.model_dump_json()}


def _ticket_row(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "desk_account_id": t.desk_account_id, "account_id": t.account_id,
        "status_type": t.status_type, "modified_time": _iso(t.modified_time), "data": t.model_dump_json(),
    }  # fmt: skip


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class Store:
    """The SQLite mirror. Open once per process and share; `close()` when done."""

    def __init__(self, path: str | Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._candidates: list[tuple[str, str]] | None = None
        self._name_index: NameIndex | None = None
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self.db = Database(conn)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the local database {self.path}: {exc}") from exc
        try:
            self.migrate(migrations)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Exclusive use of the database for one atomic change (feature repositories build on this)."""
        with self._lock, self.db.atomic():
            yield self.db

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- schema --------------------------------------------------------------------------------------------

    @_locked
    def schema_version(self) -> int:
        if not self.db["schema_version"].exists():
            return 0
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    @_locked
    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> int:
        """Run the migrations this file has not seen yet, each atomically with its version bump."""
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self.schema_version()
        if current > len(migrations):
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this code knows ({len(migrations)})"
            )
        for number in range(current + 1, len(migrations) + 1):
            with self.db.atomic():
                migrations[number - 1](self.db)
                self.db.execute("DELETE FROM schema_version")
                self.db.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
        return len(migrations)

    # ---- writes --------------------------------------------------------------------------------------------

    def _upsert(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            self.db[table].upsert_all(rows, pk="id", batch_size=500)  # type: ignore[union-attr]

    @_locked
    def upsert_accounts(self, accounts: Iterable[Account]) -> None:
        with self.db.atomic():
            self._upsert("accounts", map(_account_row, accounts))
        self._candidates = None

    @_locked
    def upsert_contacts(self, contacts: Iterable[Contact]) -> None:
        with self.db.atomic():
            self._upsert("contacts", map(_contact_row, contacts))

    @_locked
    def upsert_deals(self, deals: Iterable[Deal]) -> None:
        with self.db.atomic():
            self._upsert("deals", map(_deal_row, deals))

    @_locked
    def upsert_books_customers(self, customers: Iterable[BooksCustomer]) -> None:
        with self.db.atomic():
            self._upsert("books_customers", map(_customer_row, customers))

    @_locked
    def upsert_invoices(self, invoices: Iterable[Invoice]) -> None:
        with self.db.atomic():
            self._upsert("invoices", map(_invoice_row, invoices))

    @_locked
    def upsert_payments(self, payments: Iterable[Payment]) -> None:
        with self.db.atomic():
            self._upsert("payments", map(_payment_row, payments))

    @_locked
    def upsert_desk_accounts(self, desk_accounts: Iterable[DeskAccount]) -> None:
        with self.db.atomic():
            self._upsert("desk_accounts", map(_desk_account_row, desk_accounts))

    @_locked
    def upsert_tickets(self, tickets: Iterable[Ticket]) -> None:
        with self.db.atomic():
            self._upsert("tickets", map(_ticket_row, tickets))

    def _delete_stale(self, table: str, where: str, params: list[str], keep: Iterable[str]) -> None:
        keep = list(keep)
        ids = [r[0] for r in self.db.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()]
        stale = sorted(set(ids) - set(keep))
        for chunk in _chunks(stale):
            self.db.execute(f"DELETE FROM {table} WHERE id IN ({_marks(len(chunk))})", list(chunk))

    @_locked
    def replace_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        """Make the mirror hold exactly this snapshot for its account, and mark the account fetched.

        Deals, contacts, invoices, payments and tickets of the account (by account_id, or through the
        snapshot's Books customer / Desk account) that the snapshot lacks are deleted. Other Books
        customers or Desk accounts linked to the account are left alone. Stale snapshots are refused:
        they are not a complete read.
        """
        if snapshot.stale:
            raise StoreError("refusing to replace the mirror with a stale snapshot")
        acc = snapshot.account.id
        cust = snapshot.books_customer.id if snapshot.books_customer else ""
        desk = snapshot.desk_account.id if snapshot.desk_account else ""
        with self.db.atomic():
            self._delete_stale("deals", "account_id = ?", [acc], (d.id for d in snapshot.deals))
            self._delete_stale("contacts", "account_id = ?", [acc], (c.id for c in snapshot.contacts))
            by_customer = "account_id = ? OR (customer_id != '' AND customer_id = ?)"
            self._delete_stale("invoices", by_customer, [acc, cust], (i.id for i in snapshot.invoices))
            self._delete_stale("payments", by_customer, [acc, cust], (p.id for p in snapshot.payments))
            by_desk = "account_id = ? OR (desk_account_id != '' AND desk_account_id = ?)"
            self._delete_stale("tickets", by_desk, [acc, desk], (t.id for t in snapshot.tickets))
            self._upsert("accounts", [_account_row(snapshot.account)])
            self._upsert("contacts", map(_contact_row, snapshot.contacts))
            self._upsert("deals", map(_deal_row, snapshot.deals))
            if snapshot.books_customer:
                self._upsert("books_customers", [_customer_row(snapshot.books_customer)])
            self._upsert("invoices", map(_invoice_row, snapshot.invoices))
            self._upsert("payments", map(_payment_row, snapshot.payments))
            if snapshot.desk_account:
                self._upsert("desk_accounts", [_desk_account_row(snapshot.desk_account)])
            self._upsert("tickets", map(_ticket_row, snapshot.tickets))
            self._mark_fetched(acc, snapshot.read_at)
        self._candidates = None

    # ---- reads ---------------------------------------------------------------------------------------------

    def _models(self, model: type[M], sql: str, params: Sequence[Any] = ()) -> list[M]:
        return [model.model_validate_json(row[0]) for row in self.db.execute(sql, list(params)).fetchall()]

    @_locked
    def snapshot(self, account_id: str, read_at: datetime) -> AccountSnapshot | None:
        """Everything mirrored for one account, joined through the cross-app links; None if unknown."""
        account = self.get_account(account_id)
        if account is None:
            return None
        customers = self._models(
            BooksCustomer, "SELECT data FROM books_customers WHERE account_id = ? ORDER BY id", [account_id]
        )
        cust_ids = [c.id for c in customers]
        by_customer = f"account_id = ? OR customer_id IN ({_marks(len(cust_ids))})"
        desks = self._models(
            DeskAccount, "SELECT data FROM desk_accounts WHERE crm_account_id = ? ORDER BY id", [account_id]
        )
        desk_ids = [d.id for d in desks]
        by_desk = f"account_id = ? OR desk_account_id IN ({_marks(len(desk_ids))})"
        return AccountSnapshot(
            account=account,
            contacts=self._models(
                Contact, "SELECT data FROM contacts WHERE account_id = ? ORDER BY id", [account_id]
            ),
            deals=self._models(
                Deal,
                "SELECT data FROM deals WHERE account_id = ? "
                "ORDER BY modified_time DESC, closing_date DESC, id",
                [account_id],
            ),
            books_customer=customers[0] if customers else None,
            invoices=self._models(
                Invoice,
                f"SELECT data FROM invoices WHERE {by_customer} ORDER BY date DESC, id DESC",
                [account_id, *cust_ids],
            ),
            payments=self._models(
                Payment,
                f"SELECT data FROM payments WHERE {by_customer} ORDER BY date DESC, id DESC",
                [account_id, *cust_ids],
            ),
            desk_account=desks[0] if desks else None,
            tickets=self._models(
                Ticket,
                f"SELECT data FROM tickets WHERE {by_desk} ORDER BY modified_time DESC, id DESC",
                [account_id, *desk_ids],
            ),
            read_at=read_at,
        )

    @_locked
    def get_account(self, account_id: str) -> Account | None:
        found = self._models(Account, "SELECT data FROM accounts WHERE id = ?", [account_id])
        return found[0] if found else None

    @_locked
    def get_accounts(self, ids: Sequence[str]) -> list[Account]:
        """The accounts with these ids that exist, in the order asked."""
        ids = list(dict.fromkeys(ids))
        found: dict[str, Account] = {}
        for chunk in _chunks(ids):
            sql = f"SELECT data FROM accounts WHERE id IN ({_marks(len(chunk))})"
            found.update((a.id, a) for a in self._models(Account, sql, chunk))
        return [found[i] for i in ids if i in found]

    @_locked
    def account_candidates(self) -> list[tuple[str, str]]:
        """(id, name) of every mirrored account, cached until the next account write."""
        if self._candidates is None:
            rows = self.db.execute("SELECT id, name FROM accounts ORDER BY name, id").fetchall()
            self._candidates = [(r[0], r[1]) for r in rows]
        return self._candidates

    def name_index(self) -> NameIndex:
        """The fuzzy-matching index over `account_candidates()`, rebuilt only when the accounts change."""
        candidates = self.account_candidates()
        if self._name_index is None or self._name_index.candidates is not candidates:
            self._name_index = NameIndex(candidates)
        return self._name_index

    @_locked
    def accounts_by_contact_email(self, email: str) -> list[Account]:
        rows = self.db.execute(
            "SELECT DISTINCT account_id FROM contacts WHERE email = ? AND account_id != ''",
            [email.strip().lower()],
        ).fetchall()
        return self.get_accounts([r[0] for r in rows])

    @_locked
    def accounts_by_domain(self, domain: str) -> list[Account]:
        """Accounts whose website or whose contacts' email addresses are on `domain` (never free mail)."""
        domain = domain_of(domain) or domain.strip().lower()
        if not domain or domain in FREE_MAIL_DOMAINS:
            return []
        rows = self.db.execute(
            "SELECT id FROM accounts WHERE website_domain = ? "
            "UNION SELECT account_id FROM contacts WHERE email_domain = ? AND account_id != ''",
            [domain, domain],
        ).fetchall()
        return sorted(self.get_accounts([r[0] for r in rows]), key=lambda a: (a.name.casefold(), a.id))

    # ---- freshness, watermarks, Slack users ----------------------------------------------------------------

    def _mark_fetched(self, account_id: str, at: datetime) -> None:
        self.db.execute(
            "INSERT INTO account_fetches (account_id, fetched_at) VALUES (?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET fetched_at = excluded.fetched_at",
            [account_id, at.isoformat()],
        )

    @_locked
    def mark_fetched(self, account_id: str, at: datetime) -> None:
        self._mark_fetched(account_id, at)

    @_locked
    def fetched_at(self, account_id: str) -> datetime | None:
        sql = "SELECT fetched_at FROM account_fetches WHERE account_id = ?"
        row = self.db.execute(sql, [account_id]).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    @_locked
    def get_watermark(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM watermarks WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    @_locked
    def set_watermark(self, name: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO watermarks (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, value],
        )

    @_locked
    def slack_user_for(self, email: str) -> tuple[str | None, datetime] | None:
        """(user id or None for "no Slack user", when we asked), or None when never asked."""
        row = self.db.execute(
            "SELECT user_id, fetched_at FROM slack_users WHERE email = ?", [email.strip().lower()]
        ).fetchone()
        return (row[0] or None, datetime.fromisoformat(row[1])) if row else None

    @_locked
    def remember_slack_user(self, email: str, user_id: str | None, at: datetime) -> None:
        self.db.execute(
            "INSERT INTO slack_users (email, user_id, fetched_at) VALUES (?, ?, ?) "
            "ON CONFLICT (email) DO UPDATE SET user_id = excluded.user_id, fetched_at = excluded.fetched_at",
            [email.strip().lower(), user_id or "", at.isoformat()],
        )


    @_locked
    def slack_email_for(self, user_id: str) -> str:
        """The email a Slack user was last seen with in owner look-ups ("" if never)."""
        row = self.db.execute("SELECT email FROM slack_users WHERE user_id = ? ORDER BY fetched_at DESC LIMIT 1",
                              [user_id]).fetchone()
        return str(row[0]) if row else ""
    # ---- Desk accounts Throughline created (desk_links) ----------------------------------------------------
    @_locked
    def record_desk_link(self, crm_account_id: str, desk_account_id: str, at: datetime) -> None:
        self.db.execute("INSERT INTO desk_links (crm_account_id, desk_account_id, created_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (crm_account_id) DO UPDATE SET desk_account_id = excluded.desk_account_id",
                        [crm_account_id, desk_account_id, at.isoformat()])

    @_locked
    def desk_link(self, crm_account_id: str) -> str | None:
        """The Desk account id Throughline created for this CRM account, or None."""
        row = self.db.execute("SELECT desk_account_id FROM desk_links WHERE crm_account_id = ?",
                              [crm_account_id]).fetchone()
        return str(row[0]) if row else None

    @_locked
    def desk_links(self) -> dict[str, str]:
        """Every link Throughline recorded: Desk account id → CRM account id."""
        return {str(d): str(c) for c, d in self.db.execute("SELECT crm_account_id, desk_account_id FROM desk_links")}

    @_locked
    def counts(self) -> dict[str, int]:
        return {t: int(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in MIRROR_TABLES}
