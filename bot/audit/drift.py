"""Drift between CRM, Books and Desk: findings over a snapshot of the mirror (pure).

`find_drift(data, vocab=..., handoff=..., links=...)` returns every `Finding`, each saying what is wrong, where
(the records, with links into the apps) and the fix. Kinds, in report order:

- `won_no_books` / `won_no_desk`: a CRM account with a won deal but no linked Books customer / Desk account.
- `books_not_linked` / `desk_not_linked`: a Books customer / Desk account with no CRM account (or one CRM no
  longer has). When exactly one CRM account's name matches with similarity ≥ `SUGGEST_SCORE` (rapidfuzz ratio
  on `normalise_name`d names) and that account has no Books customer / Desk account yet, the fix names it; for
  Books the finding carries a `Suggestion` that can be applied from Slack. Desk's API cannot set an account's
  CRM link (Account.json: neither `POST` nor `PATCH /accounts` takes `zohoCRMAccount`), so a Desk fix says to
  link it in Desk or enable Zoho's CRM–Desk integration. A Desk account Throughline created for a CRM account
  (`MirrorData.desk_links`) that Zoho has not linked is reported as "known only to Throughline"; one Zoho
  links is "linked by Zoho".
- `duplicate_books`: two or more Books customers linked to one CRM account.
- `name_mismatch`: a linked Books customer or Desk account whose name reads differently from the CRM account's
  (compared ignoring case, punctuation and spacing), with the similarity of the normalised names.
- `handoff_fields`: a won deal missing what `[handoff] required` asks for (as the handoff itself computes it).
  Products are checked only for deals whose products were read (`MirrorData.deal_products`); payment terms are
  not asked of an account without a Books customer (its `won_no_books` finding covers that).
- `invoice_no_deal`: a Books invoice whose `zcrm_potential_id` (or else reference number) is no CRM deal.
- `unmapped_label`: a label in the data that the vocabulary does not map.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process

from bot.account.lookup import normalise_name
from bot.config import Handoff as HandoffConfig
from bot.handoff.plan import build_plan, missing
from bot.models import Account, BooksCustomer, Contact, Deal, DeskAccount, Invoice, Product, Ticket
from bot.money import format_money
from bot.vocabulary import CANONICAL, UnmappedLabel, Vocab, unmapped_labels
from bot.zoho.links import AppLinks

FindingKind = Literal[
    "won_no_books", "won_no_desk", "books_not_linked", "desk_not_linked", "duplicate_books", "name_mismatch",
    "handoff_fields", "invoice_no_deal", "unmapped_label",
]  # fmt: skip
KINDS: tuple[FindingKind, ...] = (
    "won_no_books", "won_no_desk", "books_not_linked", "desk_not_linked", "duplicate_books", "name_mismatch",
    "handoff_fields", "invoice_no_deal", "unmapped_label",
)  # fmt: skip
KIND_TITLES: dict[FindingKind, str] = {
    "won_no_books": "Won deals, no Books customer",
    "won_no_desk": "Won deals, no Desk account",
    "books_not_linked": "Books customers not linked to CRM",
    "desk_not_linked": "Desk accounts not linked to CRM",
    "duplicate_books": "Several Books customers for one CRM account",
    "name_mismatch": "Linked records with different names",
    "handoff_fields": "Won deals missing handoff fields",
    "invoice_no_deal": "Invoices with no deal",
    "unmapped_label": "Labels not in the vocabulary",
}

DESK_API_CANNOT_LINK = "Desk's API cannot set the CRM link: Account.json's POST and PATCH take no zohoCRMAccount"
DESK_LINK_FIX = f"link it to that CRM account in Desk, or enable Zoho's CRM–Desk integration ({DESK_API_CANNOT_LINK})."
SUGGEST_SCORE = 95.0  # a link is suggested (and can be applied) at or above this similarity
HINT_SCORE = 80.0  # below SUGGEST_SCORE but at least this: named as a likely match, never applied
CLOSE_NAMES = 90.0  # names this similar differ in spelling only
EXAMPLES = 3  # won deals listed on an account finding
FIELD_LABELS = {
    "account": "account", "contact": "contact", "contact_email": "contact email", "billing_address":
    "billing address", "amount": "amount", "products": "products", "payment_terms": "payment terms",
}  # fmt: skip

App = Literal["crm", "books", "desk"]


class RecordRef(BaseModel):
    app: App
    kind: str  # account, deal, contact, customer, invoice, estimate, ticket
    id: str
    name: str = ""
    url: str = ""


class Suggestion(BaseModel):
    """Link one Books customer or Desk account to a CRM account."""

    action: Literal["link_books_customer", "link_desk_account"]
    record_id: str
    record_name: str
    crm_account_id: str
    crm_account_name: str
    score: float


class Finding(BaseModel):
    id: str  # stable across runs: the kind and the records it is about
    kind: FindingKind
    what: str  # plain text; renderers escape it
    fix: str
    records: list[RecordRef] = Field(default_factory=list)
    score: float | None = None  # name similarity, where names are compared
    suggestion: Suggestion | None = None


@dataclass
class MirrorData:
    """What the audit reads: every mirrored record, plus product lines read for some won deals."""

    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    customers: list[BooksCustomer] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    desk_accounts: list[DeskAccount] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    deal_products: dict[str, list[Product]] = field(default_factory=dict)  # deal id → lines (read ones only)
    desk_links: dict[str, str] = field(default_factory=dict)  # Desk account id → CRM account, Throughline's record


_PUNCT = re.compile(r"[^\w\s]")


def display_key(name: str) -> str:
    """A name as people read it: case, punctuation and spacing ignored ("Zylker Corp." → "zylker corp")."""
    return " ".join(_PUNCT.sub(" ", name or "").casefold().split())


def similarity(a: str, b: str) -> float:
    """0–100: rapidfuzz ratio of the normalised names (legal suffixes and punctuation dropped)."""
    return round(float(fuzz.ratio(normalise_name(a), normalise_name(b))), 1)


def won_deals_needing_products(data: MirrorData, vocab: Vocab) -> list[str]:
    """Won deals not invoiced yet: the only ones whose product lines the audit reads from CRM."""
    invoiced = {i.deal_id for i in data.invoices if i.deal_id} | {i.reference_number for i in data.invoices}
    return [d.id for d in data.deals if vocab.is_won(d.stage) and d.id not in invoiced]


def find_drift(data: MirrorData, *, vocab: Vocab, handoff: HandoffConfig, links: AppLinks) -> list[Finding]:
    return _Audit(data, vocab, handoff, links).run()


class _Audit:
    def __init__(self, data: MirrorData, vocab: Vocab, handoff: HandoffConfig, links: AppLinks) -> None:
        self.d, self.vocab, self.handoff, self.links = data, vocab, handoff, links
        self.accounts = {a.id: a for a in data.accounts}
        self.contacts = {c.id: c for c in data.contacts}
        self.deals = {d.id: d for d in data.deals}
        self.customers_of: dict[str, list[BooksCustomer]] = defaultdict(list)
        for c in sorted(data.customers, key=lambda c: c.id):
            if c.account_id:
                self.customers_of[c.account_id].append(c)
        self.desks_of: dict[str, list[DeskAccount]] = defaultdict(list)
        for a in sorted(data.desk_accounts, key=lambda a: a.id):
            if a.crm_account_id:
                self.desks_of[a.crm_account_id].append(a)
        self.ours_of: dict[str, list[DeskAccount]] = defaultdict(list)  # known only to Throughline
        for a in sorted(data.desk_accounts, key=lambda a: a.id):
            if not a.crm_account_id and data.desk_links.get(a.id) in self.accounts:
                self.ours_of[data.desk_links[a.id]].append(a)
        self.won_of: dict[str, list[Deal]] = defaultdict(list)
        for deal in sorted(data.deals, key=lambda d: (d.closing_date is None, d.closing_date, d.id)):
            if vocab.is_won(deal.stage) and deal.account_id:
                self.won_of[deal.account_id].append(deal)
        self.norm_names = [(a.id, normalise_name(a.name)) for a in data.accounts]
        self.suggested_for: dict[tuple[str, str], Suggestion] = {}  # (app, crm account id) → suggestion

    def run(self) -> list[Finding]:
        unlinked = self._unlinked_books() + self._unlinked_desk()  # first: the won findings name suggestions
        found = [
            *self._won_without("books"),
            *self._won_without("desk"),
            *unlinked,
            *self._duplicates(),
            *self._names(),
            *self._handoff_fields(),
            *self._invoices(),
            *self._labels(),
        ]
        return sorted(found, key=lambda f: KINDS.index(f.kind))

    # ---- records and links ---------------------------------------------------------------------------------

    def _account_ref(self, account: Account) -> RecordRef:
        return RecordRef(
            app="crm", kind="account", id=account.id, name=account.name, url=self.links.crm_account(account.id) or ""
        )

    def _deal_ref(self, deal: Deal) -> RecordRef:
        return RecordRef(app="crm", kind="deal", id=deal.id, name=deal.name, url=self.links.crm_deal(deal.id) or "")

    def _customer_ref(self, c: BooksCustomer) -> RecordRef:
        return RecordRef(app="books", kind="customer", id=c.id, name=c.name, url=self.links.books_customer(c.id) or "")

    def _desk_ref(self, a: DeskAccount) -> RecordRef:
        return RecordRef(
            app="desk", kind="account", id=a.id, name=a.name, url=self.links.desk_account(a.id, a.web_url) or ""
        )

    # ---- accounts with won deals ---------------------------------------------------------------------------

    def _won_without(self, app: Literal["books", "desk"]) -> Iterable[Finding]:
        have = self.customers_of if app == "books" else self.desks_of
        record = "Books customer" if app == "books" else "Desk account"
        for account_id, won in sorted(self.won_of.items()):
            account = self.accounts.get(account_id)
            if account is None or have.get(account_id) or (app == "desk" and self.ours_of.get(account_id)):
                continue  # (a Desk account only Throughline knows has its own finding)
            deals = ", ".join(f'"{d.name}"' for d in won[:EXAMPLES]) + (
                f" and {len(won) - EXAMPLES} more" if len(won) > EXAMPLES else ""
            )
            hint = self.suggested_for.get((app, account_id))
            if hint and app == "desk":
                fix = (
                    f'Desk account "{hint.record_name}" looks like this account (similarity {hint.score:.0f}): '
                    f"{DESK_LINK_FIX}"
                )
            elif hint:
                title = KIND_TITLES["books_not_linked"]
                fix = (
                    f'{record} "{hint.record_name}" looks like this account (similarity {hint.score:.0f}): '
                    f"link it (the Link button under “{title}”)."
                )
            elif app == "books":
                fix = (
                    "Create the customer from the CRM account (Books: import it from Zoho CRM), or let the "
                    "closed-won handoff create it; if it exists under another name, link that one."
                )
            else:
                fix = (
                    "Create the Desk account (the closed-won handoff does), or link the existing one to this "
                    "CRM account in Desk."
                )
            yield Finding(
                id=f"won_no_{app}:{account_id}",
                kind=f"won_no_{app}",  # type: ignore[arg-type]
                what=f'CRM account "{account.name}" has won deals ({deals}) but no linked {record}.',
                fix=fix,
                records=[self._account_ref(account), *(self._deal_ref(d) for d in won[:EXAMPLES])],
            )

    # ---- records not linked to CRM -------------------------------------------------------------------------

    def _best_accounts(self, names: Sequence[str]) -> list[tuple[str, float]]:
        """(account id, score) of the best matches for any of `names`, best first, one entry per account."""
        best: dict[str, float] = {}
        choices = [n for _, n in self.norm_names]
        for name in {normalise_name(n) for n in names if n and normalise_name(n)}:
            for _, score, index in process.extract(name, choices, scorer=fuzz.ratio, limit=3, score_cutoff=HINT_SCORE):
                account_id = self.norm_names[index][0]
                best[account_id] = max(best.get(account_id, 0.0), round(float(score), 1))
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))

    def _unlinked(
        self, app: Literal["books", "desk"], rid: str, name: str, names: Sequence[str], current: str, ref: RecordRef
    ) -> Finding:
        record = "Books customer" if app == "books" else "Desk account"
        have = self.customers_of if app == "books" else self.desks_of
        matches = self._best_accounts(names)
        suggestion = None
        if current:
            what = f'{record} "{name}" is linked to CRM account id {current}, which CRM does not have.'
        else:
            what = f'{record} "{name}" is not linked to any CRM account.'
        strong = [(a, s) for a, s in matches if s >= SUGGEST_SCORE]
        if len(strong) == 1 and not have.get(strong[0][0]):
            account = self.accounts[strong[0][0]]
            suggestion = Suggestion(
                action="link_books_customer" if app == "books" else "link_desk_account",
                record_id=rid,
                record_name=name,
                crm_account_id=account.id,
                crm_account_name=account.name,
                score=strong[0][1],
            )
            self.suggested_for[(app, account.id)] = suggestion
            fix = f'Link it to CRM account "{account.name}" (similarity {suggestion.score:.0f}).'
        elif matches:
            shown = "; ".join(f'"{self.accounts[a].name}" ({s:.0f})' for a, s in matches[:3])
            fix = (
                f"Likely CRM accounts: {shown}. Check which one it is and link it in "
                f"{'Books' if app == 'books' else 'Desk'}; no link is suggested when the match is not certain "
                "or the account already has one."
            )
        else:
            fix = (
                f"No CRM account has a similar name: create the account in CRM and link it, or delete the "
                f"{record} if it is a leftover."
            )
        records = [ref] + ([self._account_ref(self.accounts[suggestion.crm_account_id])] if suggestion else [])
        return Finding(
            id=f"{app}_not_linked:{rid}",
            kind=f"{app}_not_linked",  # type: ignore[arg-type]
            what=what,
            fix=fix,
            records=records,
            score=suggestion.score if suggestion else None,
            suggestion=suggestion,
        )

    def _unlinked_books(self) -> list[Finding]:
        return self._one_suggestion_per_account(
            "books",
            [
                self._unlinked("books", c.id, c.name, [c.name, c.company_name], c.account_id, self._customer_ref(c))
                for c in sorted(self.d.customers, key=lambda c: (c.name.casefold(), c.id))
                if not c.account_id or (self.accounts and c.account_id not in self.accounts)
            ],
        )

    def _unlinked_desk(self) -> list[Finding]:
        ours = {a.id for desks in self.ours_of.values() for a in desks}
        found = self._one_suggestion_per_account(
            "desk",
            [
                self._unlinked("desk", a.id, a.name, [a.name], a.crm_account_id, self._desk_ref(a))
                for a in sorted(self.d.desk_accounts, key=lambda a: (a.name.casefold(), a.id))
                if a.id not in ours
                and (not a.crm_account_id or (self.accounts and a.crm_account_id not in self.accounts))
            ],
        )
        for f in found:  # nothing to apply from Slack: Desk's API cannot write the link
            if f.suggestion:
                f.fix = (
                    f'It looks like CRM account "{f.suggestion.crm_account_name}" (similarity '
                    f"{f.suggestion.score:.0f}): {DESK_LINK_FIX}"
                )
                f.suggestion = None
        return found + [self._ours(a, self.accounts[crm]) for crm, desks in sorted(self.ours_of.items()) for a in desks]

    def _ours(self, a: DeskAccount, account: Account) -> Finding:
        return Finding(
            id=f"desk_not_linked:{a.id}",
            kind="desk_not_linked",
            what=(
                f'Desk account "{a.name}" is known only to Throughline: it was created for CRM account '
                f'"{account.name}", but Zoho holds no link between them.'
            ),
            fix=f"Enable the CRM–Desk integration or link it in Desk ({DESK_API_CANNOT_LINK}).",
            records=[self._desk_ref(a), self._account_ref(account)],
        )

    def _one_suggestion_per_account(self, app: str, found: list[Finding]) -> list[Finding]:
        """Two records both matching one CRM account: linking either could be wrong, so suggest neither."""
        per_account = defaultdict(list)
        for f in found:
            if f.suggestion:
                per_account[f.suggestion.crm_account_id].append(f)
        for account_id, clashing in per_account.items():
            if len(clashing) < 2:
                continue
            self.suggested_for.pop((app, account_id), None)
            names = ", ".join(f'"{f.suggestion.record_name}"' for f in clashing if f.suggestion)
            for f in clashing:
                f.fix = (
                    f'{names} all match CRM account "{self.accounts[account_id].name}": link the right one '
                    "by hand; the others are probably duplicates to merge."
                )
                f.suggestion, f.score, f.records = None, None, f.records[:1]
        return found

    # ---- duplicates and names ------------------------------------------------------------------------------

    def _duplicates(self) -> Iterable[Finding]:
        for account_id, customers in sorted(self.customers_of.items()):
            account = self.accounts.get(account_id)
            if len(customers) < 2 or account is None:
                continue
            names = ", ".join(f'"{c.name}"' for c in customers)
            yield Finding(
                id=f"duplicate_books:{account_id}",
                kind="duplicate_books",
                what=f'{len(customers)} Books customers are linked to CRM account "{account.name}": {names}.',
                fix=(
                    "Keep one: merge the others into it in Books (Customers → More → Merge), or unlink the ones "
                    "that belong to another account. Until then invoices may land on either."
                ),
                records=[self._account_ref(account), *(self._customer_ref(c) for c in customers)],
            )

    def _names(self) -> Iterable[Finding]:
        pairs: list[tuple[Account, RecordRef, list[str]]] = []
        for account_id, customers in self.customers_of.items():
            if account_id in self.accounts and len(customers) == 1:  # duplicates have their own finding
                c = customers[0]
                pairs.append((self.accounts[account_id], self._customer_ref(c), [c.name, c.company_name]))
        for account_id, desks in self.desks_of.items():
            if account_id in self.accounts:
                pairs.extend((self.accounts[account_id], self._desk_ref(a), [a.name]) for a in desks)
        for account, ref, names in sorted(pairs, key=lambda p: (p[0].name.casefold(), p[1].app, p[1].id)):
            wanted = display_key(account.name)
            if any(display_key(n) == wanted for n in names if n):
                continue
            score = similarity(account.name, ref.name)
            record = "Books customer" if ref.app == "books" else "Desk account"
            linked = "linked" if ref.app == "books" else "linked by Zoho"
            if score >= CLOSE_NAMES:
                fix = f'Use one spelling: rename the {record} to "{account.name}" (or the CRM account to match).'
            else:
                fix = (
                    f"The names are far apart: check that the {record} really is this company; if it is, "
                    "rename one, otherwise link it to the right CRM account."
                )
            yield Finding(
                id=f"name_mismatch:{ref.app}:{ref.id}",
                kind="name_mismatch",
                what=f'{record} "{ref.name}" is {linked} to CRM account "{account.name}" (similarity {score:.0f}).',
                fix=fix,
                records=[self._account_ref(account), ref],
                score=score,
            )

    # ---- won deals and invoices ----------------------------------------------------------------------------

    def _handoff_fields(self) -> Iterable[Finding]:
        required = list(self.handoff.required)
        for account_id, won in sorted(self.won_of.items()):
            account = self.accounts.get(account_id)
            customers = self.customers_of.get(account_id) or []
            for deal in won:
                products = self.d.deal_products.get(deal.id)
                plan = build_plan(
                    deal,
                    account,
                    self.contacts.get(deal.contact_id),
                    products or [],
                    customers[0] if customers else None,
                    self.handoff,
                )
                gaps = [
                    m
                    for m in missing(plan, required)
                    if not (m.field == "products" and (products is None or m.where == "finance"))
                    and not (m.field == "payment_terms" and not customers)
                ]
                if not gaps:
                    continue
                labels = ", ".join(FIELD_LABELS[m.field] for m in gaps)
                yield Finding(
                    id=f"handoff_fields:{deal.id}",
                    kind="handoff_fields",
                    what=f'Won deal "{deal.name}" is missing what the handoff needs: {labels}.',
                    fix=" ".join(m.what.replace("*", "") for m in gaps),
                    records=[self._deal_ref(deal), *([self._account_ref(account)] if account else [])],
                )

    def _invoices(self) -> Iterable[Finding]:
        customers = {c.id: c for c in self.d.customers}
        for inv in sorted(self.d.invoices, key=lambda i: (i.date is None, i.date, i.number, i.id)):
            if inv.kind != "invoice":
                continue
            if (inv.deal_id and inv.deal_id in self.deals) or (not inv.deal_id and inv.reference_number in self.deals):
                continue
            label = inv.number or inv.id
            customer = customers.get(inv.customer_id)
            holder = customer.name if customer else inv.customer_name
            who = f' for "{holder}"' if holder else ""
            amount = f" ({format_money(inv.total, inv.currency)}, {inv.status or 'no status'})"
            if inv.deal_id:
                what = f"Invoice {label}{who}{amount} points at CRM deal {inv.deal_id}, which CRM does not have."
            else:
                what = f"Invoice {label}{who}{amount} is not linked to a CRM deal."
            records = [
                RecordRef(
                    app="books", kind="invoice", id=inv.id, name=label, url=self.links.books_invoice(inv.id) or ""
                )
            ]
            if customer:
                records.append(self._customer_ref(customer))
            yield Finding(
                id=f"invoice_no_deal:{inv.id}",
                kind="invoice_no_deal",
                what=what,
                records=records,
                fix=(
                    "In Books, put the CRM deal id in the invoice's Reference# (invoices made by the closed-won "
                    "handoff carry it); if the invoice is not from a deal, it can stay as it is."
                ),
            )

    # ---- vocabulary ----------------------------------------------------------------------------------------

    def _labels(self) -> Iterable[Finding]:
        found = unmapped_labels(
            self.vocab, accounts=self.d.accounts, deals=self.d.deals, invoices=self.d.invoices, tickets=self.d.tickets
        )
        for u in found:
            records = [self._label_ref(u, rid) for rid in u.record_ids]
            plural = "" if u.count == 1 else "s"
            yield Finding(
                id=f"unmapped_label:{u.key}:{u.label.casefold()}",
                kind="unmapped_label",
                what=f'{u.description} "{u.label}" ({u.count} {u.record_kind}{plural}) is not in the vocabulary.',
                fix=(
                    f'Add "{u.label}" = "<{" | ".join(CANONICAL[u.key])}>" under [vocabulary.{u.key}] in '
                    "throughline.toml, choosing what it means."
                ),
                records=records,
            )

    def _label_ref(self, u: UnmappedLabel, rid: str) -> RecordRef:
        if u.key == "crm_account_types" and rid in self.accounts:
            return self._account_ref(self.accounts[rid])
        if u.key == "crm_stages" and rid in self.deals:
            return self._deal_ref(self.deals[rid])
        if u.key == "books_invoice_statuses":
            return RecordRef(app="books", kind="invoice", id=rid, url=self.links.books_invoice(rid) or "")
        if u.key == "books_estimate_statuses":
            return RecordRef(app="books", kind="estimate", id=rid)
        ticket = next((t for t in self.d.tickets if t.id == rid), None)
        return RecordRef(
            app="desk",
            kind="ticket",
            id=rid,
            name=f"#{ticket.number}" if ticket else "",
            url=self.links.desk_ticket(rid, ticket.web_url if ticket else "") or "",
        )


def counts(findings: Iterable[Finding]) -> dict[FindingKind, int]:
    """Findings per kind, every kind present (0 when none), in report order."""
    out: dict[FindingKind, int] = dict.fromkeys(KINDS, 0)
    for f in findings:
        out[f.kind] += 1
    return out
