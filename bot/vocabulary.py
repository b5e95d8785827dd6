"""One vocabulary across CRM, Books and Desk (pure).

Each app names things its own way: a CRM stage "Closed Won", a Books status "partially_paid", a Desk status
"In Progress", an account type "Client" where another org says "Customer". The `[vocabulary.*]` tables of the
operating-structure file map each app's labels to the canonical words below; Zoho's out-of-the-box labels are
mapped already (`ZOHO_DEFAULTS`) unless `zoho_defaults = false`. A label met in the data that no table maps is
collected by `unmapped_labels` and reported (audit, doctor), never guessed.

Canonical vocabularies:

| table | canonical values |
| --- | --- |
| `crm_stages` | lead, opportunity, won, invoiced, paid, supported, lost, churned |
| `crm_account_types` | customer, prospect, partner, reseller, vendor, competitor, churned, other |
| `books_invoice_statuses` | draft, open, overdue, partially_paid, paid, void |
| `books_estimate_statuses` | draft, open, accepted, declined, invoiced, expired |
| `desk_ticket_statuses` | open, on_hold, escalated, closed |
| `desk_ticket_priorities` | urgent, high, medium, low |

Labels compare case-insensitively with runs of spaces collapsed; empty labels (a ticket with no priority) are
not labels and are never reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.models import Account, Deal, Invoice, Ticket

VocabularyKey = Literal[
    "crm_stages", "crm_account_types", "books_invoice_statuses", "books_estimate_statuses",
    "desk_ticket_statuses", "desk_ticket_priorities",
]  # fmt: skip

STAGES = ("lead", "opportunity", "won", "invoiced", "paid", "supported", "lost", "churned")
ACCOUNT_TYPES = ("customer", "prospect", "partner", "reseller", "vendor", "competitor", "churned", "other")
INVOICE_STATUSES = ("draft", "open", "overdue", "partially_paid", "paid", "void")
ESTIMATE_STATUSES = ("draft", "open", "accepted", "declined", "invoiced", "expired")
TICKET_STATUSES = ("open", "on_hold", "escalated", "closed")
TICKET_PRIORITIES = ("urgent", "high", "medium", "low")

CANONICAL: dict[VocabularyKey, tuple[str, ...]] = {
    "crm_stages": STAGES,
    "crm_account_types": ACCOUNT_TYPES,
    "books_invoice_statuses": INVOICE_STATUSES,
    "books_estimate_statuses": ESTIMATE_STATUSES,
    "desk_ticket_statuses": TICKET_STATUSES,
    "desk_ticket_priorities": TICKET_PRIORITIES,
}
KEYS: tuple[VocabularyKey, ...] = tuple(CANONICAL)

# What each table's labels are, for messages: (app, the labelled thing, the record that carries it).
DESCRIPTIONS: dict[VocabularyKey, tuple[str, str, str]] = {
    "crm_stages": ("crm", "CRM deal stage", "deal"),
    "crm_account_types": ("crm", "CRM account type", "account"),
    "books_invoice_statuses": ("books", "Books invoice status", "invoice"),
    "books_estimate_statuses": ("books", "Books estimate status", "estimate"),
    "desk_ticket_statuses": ("desk", "Desk ticket status", "ticket"),
    "desk_ticket_priorities": ("desk", "Desk ticket priority", "ticket"),
}

# Zoho's out-of-the-box labels (CRM's standard pipeline and account types, Books' API statuses, Desk's default
# statuses and priorities).
ZOHO_DEFAULTS: dict[VocabularyKey, dict[str, str]] = {
    "crm_stages": {
        "Qualification": "opportunity", "Needs Analysis": "opportunity", "Value Proposition": "opportunity",
        "Id. Decision Makers": "opportunity", "Identify Decision Makers": "opportunity",
        "Perception Analysis": "opportunity", "Proposal/Price Quote": "opportunity",
        "Negotiation/Review": "opportunity", "Closed Won": "won", "Closed Lost": "lost",
        "Closed-Lost to Competition": "lost", "Closed Lost to Competition": "lost",
    },
    "crm_account_types": {
        "Customer": "customer", "Prospect": "prospect", "Partner": "partner", "Reseller": "reseller",
        "Distributor": "reseller", "Integrator": "partner", "Vendor": "vendor", "Supplier": "vendor",
        "Competitor": "competitor", "Analyst": "other", "Investor": "other", "Press": "other", "Other": "other",
    },
    "books_invoice_statuses": {
        "draft": "draft", "sent": "open", "viewed": "open", "unpaid": "open", "overdue": "overdue",
        "partially_paid": "partially_paid", "paid": "paid", "void": "void",
    },
    "books_estimate_statuses": {
        "draft": "draft", "sent": "open", "accepted": "accepted", "declined": "declined", "invoiced": "invoiced",
        "expired": "expired",
    },
    "desk_ticket_statuses": {
        "Open": "open", "In Progress": "open", "On Hold": "on_hold", "Escalated": "escalated", "Closed": "closed",
    },
    "desk_ticket_priorities": {"Urgent": "urgent", "High": "high", "Medium": "medium", "Low": "low"},
}  # fmt: skip


def fold(label: str) -> str:
    """The form labels are compared in: case-insensitive, spaces collapsed."""
    return " ".join((label or "").split()).casefold()


def check_mapping(key: VocabularyKey, mapping: Mapping[str, str]) -> None:
    """Raise ValueError naming the first bad entry: an empty label, two labels differing only in case or
    spacing, or a value that is not canonical."""
    seen: dict[str, str] = {}
    allowed = CANONICAL[key]
    for label, value in mapping.items():
        folded = fold(label)
        if not folded:
            raise ValueError("a label must not be empty")
        if folded in seen:
            raise ValueError(f"{seen[folded]!r} and {label!r} are the same label (case and spacing are ignored)")
        seen[folded] = label
        if value not in allowed:
            raise ValueError(f'"{label}" = {value!r}: use one of {", ".join(allowed)}')


@dataclass(frozen=True)
class Vocab:
    """The effective mapping per table: Zoho's defaults (unless switched off) overlaid with the file's."""

    tables: dict[VocabularyKey, dict[str, str]]  # folded label → canonical

    @classmethod
    def build(cls, configured: Mapping[VocabularyKey, Mapping[str, str]], *, zoho_defaults: bool = True) -> Vocab:
        tables: dict[VocabularyKey, dict[str, str]] = {}
        for key in KEYS:
            merged = {fold(k): v for k, v in ZOHO_DEFAULTS[key].items()} if zoho_defaults else {}
            merged.update({fold(k): v for k, v in (configured.get(key) or {}).items()})
            tables[key] = merged
        return cls(tables)

    def canonical(self, key: VocabularyKey, label: str) -> str | None:
        """The canonical word for an app's label, or None when nothing maps it."""
        return self.tables[key].get(fold(label))

    def is_won(self, stage: str) -> bool:
        return self.canonical("crm_stages", stage) == "won"


@dataclass
class UnmappedLabel:
    """A label met in the data that no vocabulary table maps."""

    key: VocabularyKey
    label: str
    count: int = 0
    record_ids: list[str] = field(default_factory=list)  # the first few records carrying it

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.key][1]

    @property
    def record_kind(self) -> str:
        return DESCRIPTIONS[self.key][2]


EXAMPLES = 3  # records kept per unmapped label


def unmapped_labels(
    vocab: Vocab,
    *,
    accounts: Iterable[Account] = (),
    deals: Iterable[Deal] = (),
    invoices: Iterable[Invoice] = (),
    tickets: Iterable[Ticket] = (),
) -> list[UnmappedLabel]:
    """Every label in these records that the vocabulary does not map, with counts, in table then label order."""
    found: dict[tuple[VocabularyKey, str], UnmappedLabel] = {}

    def see(key: VocabularyKey, label: str, record_id: str) -> None:
        if not fold(label) or vocab.canonical(key, label) is not None:
            return
        entry = found.setdefault((key, fold(label)), UnmappedLabel(key, " ".join(label.split())))
        entry.count += 1
        if len(entry.record_ids) < EXAMPLES:
            entry.record_ids.append(record_id)

    for a in accounts:
        see("crm_account_types", a.account_type, a.id)
    for d in deals:
        see("crm_stages", d.stage, d.id)
    for i in invoices:
        see("books_estimate_statuses" if i.kind == "estimate" else "books_invoice_statuses", i.status, i.id)
    for t in tickets:
        see("desk_ticket_statuses", t.status, t.id)
        see("desk_ticket_priorities", t.priority, t.id)
    return sorted(found.values(), key=lambda u: (KEYS.index(u.key), fold(u.label)))
