"""The sandbox's in-memory data, stored as plain dicts in Zoho's own shapes, with indexes.

Records are the dicts the APIs answer with (filtered per request). Use the ``add_*`` / ``update_crm``
helpers when adding or re-linking records so the indexes stay right; changing a plain field in place
(``state.crm["Deals"][id]["Stage"] = "Closed Won"``) needs no helper.

Index map:
  crm[module][id]                       CRM records (Accounts, Contacts, Deals, Products)
  crm_contacts_by_account / crm_deals_by_account   CRM account id -> [ids]
  deal_products[deal_id]                [{"product_id", "Quantity", "List_Price"}] (the association's answer
                                        carries neither: only quotes, crm["Quotes"] with Quoted_Items, do)
  books_contacts[id], books_contact_by_crm_account[crm id] -> contact id
  books_invoices[id] (detail shape incl. line_items), books_invoices_by_customer[contact id] -> [ids]
  books_estimates / books_estimates_by_customer, books_payments / books_payments_by_customer /
  books_payments_by_invoice, books_items
  desk_accounts[id], desk_account_by_crm[crm id] -> desk id, desk_contacts[id],
  desk_tickets[id], desk_tickets_by_account[desk account id] -> [ids]
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.zoho.sandbox.timefmt import utcnow

Record = dict[str, Any]

CRM_MODULES = ("Accounts", "Contacts", "Deals", "Products", "Quotes")

# Prefixes keep ids realistic in length: CRM 19 digits, Books 15, Desk 16.
_ID_PREFIX = {"crm": ("5725767", 12), "books": ("460000", 9), "desk": ("1892000", 9)}


@dataclass(frozen=True)
class Credentials:
    client_id: str = "1000.SANDBOX0CLIENT0ID0THROUGHLINE"
    client_secret: str = "sandbox0client0secret0throughline0000000000"
    refresh_token: str = "1000.sandbox0refresh0token.throughline0refresh0token"
    books_org_id: str = "700100200"
    desk_org_id: str = "800100200"


@dataclass
class SandboxState:
    today: date
    crm: dict[str, dict[str, Record]] = field(default_factory=lambda: {m: {} for m in CRM_MODULES})
    crm_contacts_by_account: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    crm_deals_by_account: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    deal_products: defaultdict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))
    crm_users: list[Record] = field(default_factory=list)
    api_user: Record = field(default_factory=dict)
    watch_channels: dict[str, Record] = field(default_factory=dict)
    notifications: list[tuple[str, Record]] = field(default_factory=list)

    books_contacts: dict[str, Record] = field(default_factory=dict)
    books_contact_by_crm_account: dict[str, str] = field(default_factory=dict)
    books_invoices: dict[str, Record] = field(default_factory=dict)
    books_invoices_by_customer: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    books_estimates: dict[str, Record] = field(default_factory=dict)
    books_estimates_by_customer: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    books_payments: dict[str, Record] = field(default_factory=dict)
    books_payments_by_customer: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    books_payments_by_invoice: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    books_items: dict[str, Record] = field(default_factory=dict)

    desk_accounts: dict[str, Record] = field(default_factory=dict)
    desk_account_by_crm: dict[str, str] = field(default_factory=dict)
    desk_contacts: dict[str, Record] = field(default_factory=dict)
    desk_tickets: dict[str, Record] = field(default_factory=dict)
    desk_tickets_by_account: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    desk_department_id: str = ""
    desk_agents: list[Record] = field(default_factory=list)

    demo_account_id: str = ""
    untidy: dict[str, list[str]] = field(default_factory=dict)
    now: Callable[[], datetime] = utcnow
    version: int = 0  # bumped by every add/update: invalidates cached sort orders (see ordering.py)
    sort_cache: dict[str, tuple[int, int, list[str]]] = field(default_factory=dict, repr=False)

    _counters: dict[str, itertools.count[int]] = field(default_factory=dict, repr=False)

    # ---- ids and numbers -------------------------------------------------------------------------------
    def id_counter(self, app: str) -> itertools.count[int]:
        """The app's id sequence (crm, books or desk); ids are unique within an app, as Zoho's are."""
        counter = self._counters.get("id:" + app)
        if counter is None:
            prefix, width = _ID_PREFIX[app]
            counter = self._counters["id:" + app] = itertools.count(int(prefix) * 10**width + 100001)
        return counter

    def new_id(self, app: str) -> str:
        return str(next(self.id_counter(app)))

    def number_counter(self, series: str, start: int = 1) -> itertools.count[int]:
        """A document-number sequence (invoice, estimate, payment, ticket), shared by the seed and the API."""
        counter = self._counters.get("n:" + series)
        if counter is None:
            counter = self._counters["n:" + series] = itertools.count(start)
        return counter

    def next_number(self, series: str, start: int = 1) -> int:
        return next(self.number_counter(series, start))

    def touch(self) -> None:
        """Call after editing sort fields (times, names) of many records in place."""
        self.version += 1

    # ---- CRM -------------------------------------------------------------------------------------------
    def add_crm(self, module: str, record: Record) -> Record:
        self.version += 1
        rid = record.setdefault("id", self.new_id("crm"))
        self.crm[module][rid] = record
        account = _lookup_id(record.get("Account_Name"))
        if module == "Contacts" and account:
            self.crm_contacts_by_account[account].append(rid)
        elif module == "Deals" and account:
            self.crm_deals_by_account[account].append(rid)
        return record

    def update_crm(self, module: str, rid: str, changes: Record) -> Record:
        self.version += 1
        record = self.crm[module][rid]
        if "Account_Name" in changes and module in ("Contacts", "Deals"):
            index = self.crm_contacts_by_account if module == "Contacts" else self.crm_deals_by_account
            old, new = _lookup_id(record.get("Account_Name")), _lookup_id(changes.get("Account_Name"))
            if old != new:
                if old and rid in index[old]:
                    index[old].remove(rid)
                if new:
                    index[new].append(rid)
        record.update(changes)
        return record

    def crm_account_name(self, account_id: str) -> str:
        acc = self.crm["Accounts"].get(account_id)
        return str(acc.get("Account_Name") or "") if acc else ""

    # ---- Books -----------------------------------------------------------------------------------------
    def add_books_contact(self, contact: Record) -> Record:
        self.version += 1
        cid = contact.setdefault("contact_id", self.new_id("books"))
        self.books_contacts[cid] = contact
        if contact.get("zcrm_account_id"):
            self.books_contact_by_crm_account[contact["zcrm_account_id"]] = cid
        return contact

    def add_invoice(self, invoice: Record) -> Record:
        self.version += 1
        iid = invoice.setdefault("invoice_id", self.new_id("books"))
        self.books_invoices[iid] = invoice
        self.books_invoices_by_customer[invoice["customer_id"]].append(iid)
        return invoice

    def add_estimate(self, estimate: Record) -> Record:
        self.version += 1
        eid = estimate.setdefault("estimate_id", self.new_id("books"))
        self.books_estimates[eid] = estimate
        self.books_estimates_by_customer[estimate["customer_id"]].append(eid)
        return estimate

    def add_payment(self, payment: Record) -> Record:
        self.version += 1
        pid = payment.setdefault("payment_id", self.new_id("books"))
        self.books_payments[pid] = payment
        self.books_payments_by_customer[payment["customer_id"]].append(pid)
        for applied in payment.get("invoices", []):
            self.books_payments_by_invoice[applied["invoice_id"]].append(pid)
        return payment

    # ---- Desk ------------------------------------------------------------------------------------------
    def add_desk_account(self, account: Record) -> Record:
        self.version += 1
        aid = account.setdefault("id", self.new_id("desk"))
        self.desk_accounts[aid] = account
        crm = account.get("zohoCRMAccount")
        if isinstance(crm, dict) and crm.get("id"):
            self.desk_account_by_crm[str(crm["id"])] = aid
        return account

    def add_desk_contact(self, contact: Record) -> Record:
        self.version += 1
        cid = contact.setdefault("id", self.new_id("desk"))
        self.desk_contacts[cid] = contact
        return contact

    def add_ticket(self, ticket: Record) -> Record:
        self.version += 1
        tid = ticket.setdefault("id", self.new_id("desk"))
        self.desk_tickets[tid] = ticket
        if ticket.get("accountId"):
            self.desk_tickets_by_account[ticket["accountId"]].append(tid)
        return ticket

    # ---- summary ---------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out = {f"crm.{m}": len(v) for m, v in self.crm.items()}
        out.update(
            {
                "books.contacts": len(self.books_contacts),
                "books.invoices": len(self.books_invoices),
                "books.estimates": len(self.books_estimates),
                "books.payments": len(self.books_payments),
                "desk.accounts": len(self.desk_accounts),
                "desk.contacts": len(self.desk_contacts),
                "desk.tickets": len(self.desk_tickets),
            }
        )
        return out


def _lookup_id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")
