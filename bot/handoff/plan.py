"""What finance needs from a closed-won deal, and what is missing (pure).

A `HandoffPlan` is built from the deal as CRM holds it (re-read, never trusted from a webhook body) plus the
edits finance made in Slack. `missing(plan, required)` names each absent field with where to fix it.

Lines come from the deal's quote (quantities and quoted prices). CRM's deal Products related list has neither, so
a deal without a quote gets NO lines: the plan names the products as `unpriced` and the handoff waits until
finance enters quantities and prices with Edit. A quantity is never made up.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from bot.config import Handoff as HandoffConfig
from bot.config import HandoffField
from bot.models import Account, Address, BooksCustomer, Contact, Deal, DealLines, Owner, Product


class Line(BaseModel):
    name: str
    description: str = ""
    rate: Decimal
    quantity: Decimal = Decimal("1")
    product_id: str = ""

    @property
    def total(self) -> Decimal:
        return self.rate * self.quantity


class Unpriced(BaseModel):
    """A product associated with the deal whose quantity and deal price CRM does not hold."""

    name: str
    code: str = ""
    list_price: Decimal = Decimal("0")  # the catalogue Unit_Price, shown as a hint only


class PlanEdits(BaseModel):
    """Finance's corrections from the Edit dialog; they win over CRM's values."""

    billing: Address | None = None
    payment_terms: int | None = None
    lines: list[Line] | None = None
    kind: str | None = None


class HandoffPlan(BaseModel):
    deal_id: str
    deal_name: str
    stage: str = ""
    deal_amount: Decimal | None = None
    currency: str = ""
    account_id: str = ""
    account_name: str = ""
    owner: Owner = Field(default_factory=Owner)
    contact_id: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    contact_first_name: str = ""
    contact_last_name: str = ""
    billing: Address = Field(default_factory=Address)
    lines: list[Line] = Field(default_factory=list)
    lines_source: str = ""  # quote | deal_amount | edited | "" (none)
    lines_note: str = ""  # where the lines came from, for the approver
    unpriced: list[Unpriced] = Field(default_factory=list)
    payment_terms: int | None = None
    kind: str = "invoice"
    books_customer_id: str = ""
    edits: PlanEdits = Field(default_factory=PlanEdits)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))


class Missing(BaseModel):
    field: HandoffField
    what: str  # the sentence the deal owner reads
    where: str  # CRM (fix the deal/account/contact) or finance (fixable with Edit)


def build_plan(
    deal: Deal,
    account: Account | None,
    contact: Contact | None,
    products: list[Product] | DealLines,
    customer: BooksCustomer | None,
    config: HandoffConfig,
    edits: PlanEdits | None = None,
) -> HandoffPlan:
    edits = edits or PlanEdits()
    known = products if isinstance(products, DealLines) else DealLines(source="products", lines=products)
    lines: list[Line] = []
    unpriced: list[Unpriced] = []
    source, note = "", ""
    for p in known.lines:
        if p.quantity is None:
            unpriced.append(Unpriced(name=p.name, code=p.code, list_price=p.unit_price))
        else:
            lines.append(Line(name=p.name, rate=p.unit_price, quantity=p.quantity, product_id=p.id, description=p.code))
    if unpriced:
        lines = []  # part-known lines would be an invoice for less than the deal: let finance enter them all
    elif lines:
        source = "quote"
        more = f", the newest of {known.quotes} quotes" if known.quotes > 1 else ""
        stage = f" ({known.quote_stage})" if known.quote_stage else ""
        note = f"from quote {known.quote_name or known.quote_id}{stage}{more}"
    elif deal.amount and deal.description.strip():
        lines = [Line(name=deal.name, description=deal.description.strip()[:2000], rate=deal.amount)]
        source, note = "deal_amount", "one line for the deal amount (the deal has no products and no quote)"
    if edits.lines is not None:
        lines, source, note, unpriced = edits.lines, "edited", "entered by finance", []
    terms = customer.payment_terms if customer and customer.payment_terms is not None else None
    if terms is None:
        terms = config.default_payment_terms
    return HandoffPlan(
        deal_id=deal.id,
        deal_name=deal.name,
        stage=deal.stage,
        deal_amount=deal.amount,
        currency=deal.currency or (account.currency if account else "") or (customer.currency if customer else ""),
        account_id=deal.account_id,
        account_name=account.name if account else deal.account_name,
        owner=deal.owner if deal.owner.email or deal.owner.name else (account.owner if account else Owner()),
        contact_id=contact.id if contact else "",
        contact_name=contact.full_name if contact else "",
        contact_email=contact.email if contact else "",
        contact_phone=contact.phone if contact else "",
        contact_first_name=contact.first_name if contact else "",
        contact_last_name=contact.last_name if contact else "",
        billing=edits.billing or (account.billing if account else Address()),
        lines=lines,
        lines_source=source,
        lines_note=note,
        unpriced=unpriced,
        payment_terms=edits.payment_terms if edits.payment_terms is not None else terms,
        kind=edits.kind or config.create,
        books_customer_id=customer.id if customer else "",
        edits=edits,
    )


def missing(plan: HandoffPlan, required: list[HandoffField]) -> list[Missing]:
    """Each required field that the plan lacks, in the order of `required`."""
    found: list[Missing] = []
    checks: dict[HandoffField, tuple[bool, str, str]] = {
        "account": (bool(plan.account_id), "The deal has no account: set *Account Name* on the deal.", "crm"),
        "contact": (bool(plan.contact_id), "The deal has no contact: set *Contact Name* on the deal.", "crm"),
        "contact_email": (
            bool(plan.contact_email) or not plan.contact_id,
            f"The contact {plan.contact_name or ''} has no email: add one on the contact in CRM.".replace("  ", " "),
            "crm",
        ),
        "billing_address": (
            plan.billing.is_complete(),
            "The account's billing address is incomplete (street, city and country): fill it in on the account.",
            "crm",
        ),
        "amount": (bool(plan.deal_amount and plan.deal_amount > 0), "The deal has no amount: set *Amount*.", "crm"),
        "products": (
            bool(plan.lines),
            "The deal has no product lines and no description: add products or a description to the deal.",
            "crm",
        ),
        "payment_terms": (
            plan.payment_terms is not None,
            "No payment terms: finance can set them with Edit, or configure `[handoff] default_payment_terms`.",
            "finance",
        ),
    }
    for field in required:
        ok, what, where = checks[field]
        if field == "products" and plan.unpriced:
            continue  # said below, whatever `required` holds
        if field == "contact_email" and "contact" not in required and not plan.contact_id:
            ok = False
        if not ok:
            found.append(Missing(field=field, what=what, where=where))
    if plan.unpriced:  # never skipped: an invoice with guessed quantities is wrong money
        names = ", ".join(u.name for u in plan.unpriced[:5]) + (" …" if len(plan.unpriced) > 5 else "")
        found.append(
            Missing(
                field="products",
                what=(
                    f"Quantities and prices are unknown: the deal's products ({names}) have none in CRM and the deal "
                    "has no quote. Enter the lines with *Edit*, or add a quote to the deal in CRM."
                ),
                where="finance",
            )
        )
    return found
