"""The mirror of Zoho records: writes (upserts, whole-account snapshots) and every read of mirrored records,
including the one loader that reports and the drift audit build their data from (`load`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from bot.account.lookup import FREE_MAIL_DOMAINS, NameIndex, domain_of
from bot.errors import StoreError
from bot.models import Account, AccountSnapshot, BooksCustomer, Contact, Deal, DeskAccount, Invoice, Payment, Ticket
from bot.store import first_invoice, health_summary
from bot.store import rows as r
from bot.store.engine import Engine, chunks, marks, upsert_sql

M = TypeVar("M", bound=BaseModel)

MIRROR_TABLES = (
    "accounts", "contacts", "deals", "books_customers", "invoices", "payments", "desk_accounts", "tickets",
)  # fmt: skip
TABLE_OF: dict[type[BaseModel], str] = {
    Account: "accounts", Contact: "contacts", Deal: "deals", BooksCustomer: "books_customers", Invoice: "invoices",
    Payment: "payments", DeskAccount: "desk_accounts", Ticket: "tickets",
}  # fmt: skip


@dataclass
class MirrorRecords:
    """What `load` read. Invoices, payments and tickets carry their CRM `account_id`, resolved through their
    Books customer or Desk account when they were mirrored without one."""

    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    customers: list[BooksCustomer] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    desk_accounts: list[DeskAccount] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    customer_accounts: dict[str, str] = field(default_factory=dict)  # Books customer id → CRM account id
    desk_links: dict[str, tuple[str, str]] = field(default_factory=dict)  # Desk account id → (CRM id, name)


def _models(conn: Any, model: type[M], sql: str, params: Sequence[Any] = ()) -> list[M]:
    validate = model.model_validate_json
    return [validate(row[0]) for row in conn.execute(sql, list(params)).fetchall()]


def _in_chunks(conn: Any, model: type[M], sql: str, ids: Sequence[str]) -> list[M]:
    """`sql` holds `{marks}` for the ids; run it chunk by chunk."""
    out: list[M] = []
    for chunk in chunks(ids):
        out.extend(_models(conn, model, sql.format(marks=marks(len(chunk))), chunk))
    return out


class MirrorTables:
    """Mixed into `Store`: the mirror's methods over `self.engine`."""

    engine: Engine
    _candidates: list[tuple[str, str]] | None
    _name_index: NameIndex | None

    # ---- writes --------------------------------------------------------------------------------------------

    def _upsert(self, conn: Any, table: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            with (
                health_summary.kept(conn, table, rows),  # the accounts' health aggregates, in this transaction
                first_invoice.upkeep(conn, table, rows, for_update=self.engine.for_update),  # deals' first invoices
            ):
                columns = list(rows[0])
                conn.executemany(upsert_sql(table, columns), [[row[c] for c in columns] for row in rows])

    def _upsert_models(self, table: str, to_row: Callable[[Any], dict[str, Any]], records: Iterable[Any]) -> None:
        rows = [to_row(x) for x in records]  # converted before the writer is taken
        if rows:
            with self.engine.write() as conn:
                self._upsert(conn, table, rows)

    def upsert_accounts(self, accounts: Iterable[Account]) -> None:
        self._upsert_models("accounts", r.account_row, accounts)
        self._candidates = None

    def upsert_contacts(self, contacts: Iterable[Contact]) -> None:
        self._upsert_models("contacts", r.contact_row, contacts)

    def upsert_deals(self, deals: Iterable[Deal]) -> None:
        self._upsert_models("deals", r.deal_row, deals)

    def upsert_books_customers(self, customers: Iterable[BooksCustomer]) -> None:
        self._upsert_models("books_customers", r.customer_row, customers)

    def upsert_invoices(self, invoices: Iterable[Invoice]) -> None:
        self._upsert_models("invoices", r.invoice_row, invoices)

    def upsert_payments(self, payments: Iterable[Payment]) -> None:
        self._upsert_models("payments", r.payment_row, payments)

    def upsert_desk_accounts(self, desk_accounts: Iterable[DeskAccount]) -> None:
        self._upsert_models("desk_accounts", r.desk_account_row, desk_accounts)

    def upsert_tickets(self, tickets: Iterable[Ticket]) -> None:
        self._upsert_models("tickets", r.ticket_row, tickets)

    def _delete_stale(self, conn: Any, table: str, where: str, params: list[str], keep: Iterable[str]) -> None:
        keep = list(keep)
        ids = [row[0] for row in conn.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()]
        stale = sorted(set(ids) - set(keep))
        with (
            health_summary.kept(conn, table, ids=stale),
            first_invoice.upkeep(conn, table, ids=stale, for_update=self.engine.for_update),
        ):
            for chunk in chunks(stale):
                conn.execute(f"DELETE FROM {table} WHERE id IN ({marks(len(chunk))})", chunk)

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
        with self.engine.write() as conn:
            self._delete_stale(conn, "deals", "account_id = ?", [acc], (d.id for d in snapshot.deals))
            self._delete_stale(conn, "contacts", "account_id = ?", [acc], (c.id for c in snapshot.contacts))
            by_customer = "account_id = ? OR (customer_id != '' AND customer_id = ?)"
            self._delete_stale(conn, "invoices", by_customer, [acc, cust], (i.id for i in snapshot.invoices))
            self._delete_stale(conn, "payments", by_customer, [acc, cust], (p.id for p in snapshot.payments))
            by_desk = "account_id = ? OR (desk_account_id != '' AND desk_account_id = ?)"
            self._delete_stale(conn, "tickets", by_desk, [acc, desk], (t.id for t in snapshot.tickets))
            self._upsert(conn, "accounts", [r.account_row(snapshot.account)])
            self._upsert(conn, "contacts", map(r.contact_row, snapshot.contacts))
            self._upsert(conn, "deals", map(r.deal_row, snapshot.deals))
            if snapshot.books_customer:
                self._upsert(conn, "books_customers", [r.customer_row(snapshot.books_customer)])
            self._upsert(conn, "invoices", map(r.invoice_row, snapshot.invoices))
            self._upsert(conn, "payments", map(r.payment_row, snapshot.payments))
            if snapshot.desk_account:
                self._upsert(conn, "desk_accounts", [r.desk_account_row(snapshot.desk_account)])
            self._upsert(conn, "tickets", map(r.ticket_row, snapshot.tickets))
            self._mark_fetched(conn, acc, snapshot.read_at)
        self._candidates = None

    def _mark_fetched(self, conn: Any, account_id: str, at: datetime) -> None:
        conn.execute(
            upsert_sql("account_fetches", ["account_id", "fetched_at"], key=["account_id"]),
            [account_id, at.isoformat()],
        )

    # ---- reads ---------------------------------------------------------------------------------------------

    def snapshot(self, account_id: str, read_at: datetime) -> AccountSnapshot | None:
        """Everything mirrored for one account, joined through the cross-app links; None if unknown."""
        with self.engine.read() as conn:
            found = _models(conn, Account, "SELECT data FROM accounts WHERE id = ?", [account_id])
            if not found:
                return None
            customers = _models(
                conn, BooksCustomer, "SELECT data FROM books_customers WHERE account_id = ? ORDER BY id", [account_id]
            )
            cust_ids = [c.id for c in customers]
            by_customer = f"account_id = ? OR customer_id IN ({marks(len(cust_ids))})"
            desks = _models(
                conn, DeskAccount, "SELECT data FROM desk_accounts WHERE crm_account_id = ? ORDER BY id", [account_id]
            )
            desk_ids = [d.id for d in desks]
            by_desk = f"account_id = ? OR desk_account_id IN ({marks(len(desk_ids))})"
            return AccountSnapshot(
                account=found[0],
                contacts=_models(
                    conn, Contact, "SELECT data FROM contacts WHERE account_id = ? ORDER BY id", [account_id]
                ),
                deals=_models(
                    conn,
                    Deal,
                    "SELECT data FROM deals WHERE account_id = ? ORDER BY modified_time DESC, closing_date DESC, id",
                    [account_id],
                ),
                books_customer=customers[0] if customers else None,
                invoices=_models(
                    conn,
                    Invoice,
                    f"SELECT data FROM invoices WHERE {by_customer} ORDER BY date DESC, id DESC",
                    [account_id, *cust_ids],
                ),
                payments=_models(
                    conn,
                    Payment,
                    f"SELECT data FROM payments WHERE {by_customer} ORDER BY date DESC, id DESC",
                    [account_id, *cust_ids],
                ),
                desk_account=desks[0] if desks else None,
                tickets=_models(
                    conn,
                    Ticket,
                    f"SELECT data FROM tickets WHERE {by_desk} ORDER BY modified_time DESC, id DESC",
                    [account_id, *desk_ids],
                ),
                read_at=read_at,
            )

    def get_account(self, account_id: str) -> Account | None:
        with self.engine.read() as conn:
            found = _models(conn, Account, "SELECT data FROM accounts WHERE id = ?", [account_id])
        return found[0] if found else None

    def get_accounts(self, ids: Sequence[str]) -> list[Account]:
        """The accounts with these ids that exist, in the order asked."""
        ids = list(dict.fromkeys(ids))
        with self.engine.read() as conn:
            found = {a.id: a for a in _in_chunks(conn, Account, "SELECT data FROM accounts WHERE id IN ({marks})", ids)}
        return [found[i] for i in ids if i in found]

    def get_record(self, model: type[M], record_id: str) -> M | None:
        """One mirrored record of any kind by its Zoho id."""
        with self.engine.read() as conn:
            found = _models(conn, model, f"SELECT data FROM {TABLE_OF[model]} WHERE id = ?", [record_id])
        return found[0] if found else None

    def has_record(self, table: str, record_id: str) -> bool:
        if table not in MIRROR_TABLES:
            raise ValueError(f"not a mirror table: {table}")
        return self.engine.one(f"SELECT 1 FROM {table} WHERE id = ?", [record_id]) is not None

    def records_by_id(self, model: type[M], ids: Sequence[str]) -> dict[str, M]:
        """The mirrored records of one kind with these ids (those that exist)."""
        with self.engine.read() as conn:
            found = _in_chunks(
                conn, model, f"SELECT data FROM {TABLE_OF[model]} WHERE id IN ({{marks}})", list(dict.fromkeys(ids))
            )
        return {x.id: x for x in found}  # type: ignore[attr-defined]

    def open_invoice_ids(self) -> list[str]:
        """Mirrored invoices that can still change (neither paid nor void)."""
        return [str(r[0]) for r in self.engine.all("SELECT id FROM invoices WHERE status NOT IN ('paid', 'void')")]

    def invoice_ids_by_number(self) -> dict[str, str]:
        """Invoice number -> invoice id for every mirrored invoice (Books payments name invoices by number)."""
        out: dict[str, str] = {}
        with self.engine.read() as conn:  # row by row: the whole table's JSON is never held at once
            for invoice_id, data in conn.execute("SELECT id, data FROM invoices"):
                number = json.loads(data).get("number")
                if number:
                    out[str(number)] = str(invoice_id)
        return out

    def deals_of_account(self, account_id: str) -> list[Deal]:
        with self.engine.read() as conn:
            return _models(conn, Deal, "SELECT data FROM deals WHERE account_id = ?", [account_id])

    def crm_account_of(self, *, books_customer_id: str = "", desk_account_id: str = "") -> str:
        """The CRM account a Books customer or Desk account is linked to ("" if unknown or unlinked)."""
        if books_customer_id:
            row = self.engine.one("SELECT account_id FROM books_customers WHERE id = ?", [books_customer_id])
        else:
            row = self.engine.one("SELECT crm_account_id FROM desk_accounts WHERE id = ?", [desk_account_id])
        return str(row[0]) if row and row[0] else ""

    def crm_accounts_of(
        self, *, books_customer_ids: Iterable[str] = (), desk_account_ids: Iterable[str] = ()
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(Books customer id → CRM account id, Desk account id → CRM account id) for the linked ones."""
        desk_account_ids = set(desk_account_ids)
        books: dict[str, str] = {}
        desk: dict[str, str] = {}
        with self.engine.read() as conn:
            for out, table, column, ids in (
                (books, "books_customers", "account_id", books_customer_ids),
                (desk, "desk_accounts", "crm_account_id", desk_account_ids),
            ):
                for chunk in chunks(sorted(set(ids))):
                    sql = f"SELECT id, {column} FROM {table} WHERE id IN ({marks(len(chunk))}) AND {column} != ''"
                    out.update((row[0], row[1]) for row in conn.execute(sql, chunk).fetchall())
            # A Desk account Zoho does not link: the CRM account Throughline created it for (desk_links).
            for chunk in chunks(sorted(set(desk_account_ids) - set(desk))):
                sql = (
                    "SELECT desk_account_id, crm_account_id FROM desk_links "
                    f"WHERE desk_account_id IN ({marks(len(chunk))})"
                )
                desk.update((row[0], row[1]) for row in conn.execute(sql, chunk).fetchall())
        return books, desk

    def invoice_ids_due_between(self, since: date, before: date) -> list[str]:
        """Ids of the invoices due from `since` to before `before` (the sync's overdue scan reads them in chunks)."""
        sql = "SELECT id FROM invoices WHERE due_date >= ? AND due_date < ?"
        return [str(row[0]) for row in self.engine.all(sql, [since.isoformat(), before.isoformat()])]

    def open_ticket_ids_due_between(self, start: datetime, end: datetime) -> list[str]:
        """Ids of the open tickets due from `start` to before `end` (the due date is only in `data`): decoded one
        row at a time and only the id kept, so the sync's overdue scan never holds the tickets themselves (at
        10,000 accounts ≈ 7,000 are due in a week: 17 MB as models, the largest part of a first sync's peak)."""
        validate = Ticket.model_validate_json
        out: list[str] = []
        with self.engine.read() as conn:
            for (data,) in conn.execute("SELECT data FROM tickets WHERE status_type != 'Closed'"):
                ticket = validate(data)
                if ticket.due_date and start <= ticket.due_date < end:
                    out.append(ticket.id)
        return out

    def account_candidates(self) -> list[tuple[str, str]]:
        """(id, name) of every mirrored account, cached until the next account write."""
        candidates = self._candidates
        if candidates is None:
            rows = self.engine.all("SELECT id, name FROM accounts ORDER BY name, id")
            candidates = self._candidates = [(row[0], row[1]) for row in rows]
        return candidates

    def name_index(self) -> NameIndex:
        """The fuzzy-matching index over `account_candidates()`, rebuilt only when the accounts change."""
        candidates = self.account_candidates()
        if self._name_index is None or self._name_index.candidates is not candidates:
            self._name_index = NameIndex(candidates)
        return self._name_index

    def accounts_by_contact_email(self, email: str) -> list[Account]:
        rows = self.engine.all(
            "SELECT DISTINCT account_id FROM contacts WHERE email = ? AND account_id != ''", [email.strip().lower()]
        )
        return self.get_accounts([row[0] for row in rows])

    def accounts_by_domain(self, domain: str) -> list[Account]:
        """Accounts whose website or whose contacts' email addresses are on `domain` (never free mail)."""
        domain = domain_of(domain) or domain.strip().lower()
        if not domain or domain in FREE_MAIL_DOMAINS:
            return []
        rows = self.engine.all(
            "SELECT id FROM accounts WHERE website_domain = ? "
            "UNION SELECT account_id FROM contacts WHERE email_domain = ? AND account_id != ''",
            [domain, domain],
        )
        return sorted(self.get_accounts([row[0] for row in rows]), key=lambda a: (a.name.casefold(), a.id))

    def account_ids_owned_by(self, email: str) -> list[str]:
        rows = self.engine.all(
            "SELECT id FROM accounts WHERE owner_email = ? ORDER BY name, id", [email.strip().lower()]
        )
        return [row[0] for row in rows]

    def account_names(self, ids: Sequence[str]) -> dict[str, str]:
        wanted = [i for i in dict.fromkeys(ids) if i]
        out: dict[str, str] = {}
        with self.engine.read() as conn:
            for chunk in chunks(wanted):
                sql = f"SELECT id, name FROM accounts WHERE id IN ({marks(len(chunk))})"
                out.update((row[0], row[1]) for row in conn.execute(sql, chunk).fetchall())
        return out

    def counts(self) -> dict[str, int]:
        with self.engine.read() as conn:
            return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in MIRROR_TABLES}

    # ---- the one loader ------------------------------------------------------------------------------------

    def load(
        self,
        tables: Iterable[str] = MIRROR_TABLES,
        *,
        account_ids: Sequence[str] | None = None,
        resolve_links: bool = True,
    ) -> MirrorRecords:
        """The mirrored records of `tables`, all of them or only those of `account_ids` (then records linked to
        no account are left out). One read snapshot, on a reader connection: writers carry on meanwhile.
        `resolve_links` fills a missing `account_id` of invoices, payments and tickets through their Books
        customer or Desk account (the drift audit wants them as mirrored)."""
        wanted_tables = set(tables)
        out = MirrorRecords()
        with self.engine.read() as conn:
            out.customer_accounts = {
                row[0]: row[1] or "" for row in conn.execute("SELECT id, account_id FROM books_customers").fetchall()
            }
            out.desk_links = {
                row[0]: (row[1] or "", row[2] or "")
                for row in conn.execute("SELECT id, crm_account_id, name FROM desk_accounts").fetchall()
            }
            if account_ids is None:
                for table, attr, model in _LOADED:
                    if table in wanted_tables:
                        setattr(out, attr, _models(conn, model, f"SELECT data FROM {table}"))
            else:
                ids = list(dict.fromkeys(account_ids))
                wanted = set(ids)
                cust = [c for c, a in out.customer_accounts.items() if a in wanted]
                desk = [d for d, (a, _) in out.desk_links.items() if a in wanted]
                by: dict[str, list[tuple[str, Sequence[str]]]] = {
                    "accounts": [("id", ids)],
                    "contacts": [("account_id", ids)],
                    "deals": [("account_id", ids)],
                    "books_customers": [("account_id", ids)],
                    "desk_accounts": [("crm_account_id", ids)],
                    "invoices": [("account_id", ids), ("customer_id", cust)],
                    "payments": [("account_id", ids), ("customer_id", cust)],
                    "tickets": [("account_id", ids), ("desk_account_id", desk)],
                }
                for table, attr, model in _LOADED:
                    if table not in wanted_tables:
                        continue
                    found: list[Any] = []
                    for n, (column, values) in enumerate(by[table]):
                        unlinked = " account_id = '' AND" if n else ""
                        found += _in_chunks(
                            conn, model, f"SELECT data FROM {table} WHERE{unlinked} {column} IN ({{marks}})", values
                        )
                    setattr(out, attr, found)
        if not resolve_links:
            return out
        billed: list[Invoice | Payment] = [*out.invoices, *out.payments]
        for record in billed:
            if not record.account_id:
                record.account_id = out.customer_accounts.get(record.customer_id, "")
        for ticket in out.tickets:
            if not ticket.account_id:
                ticket.account_id = out.desk_links.get(ticket.desk_account_id, ("", ""))[0]
        return out


_LOADED: tuple[tuple[str, str, type[BaseModel]], ...] = (
    ("accounts", "accounts", Account), ("contacts", "contacts", Contact), ("deals", "deals", Deal),
    ("books_customers", "customers", BooksCustomer), ("invoices", "invoices", Invoice),
    ("payments", "payments", Payment), ("desk_accounts", "desk_accounts", DeskAccount), ("tickets", "tickets", Ticket),
)  # fmt: skip
