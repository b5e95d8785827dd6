"""Mirror records as table rows: the canonical model as JSON in `data`, and the typed columns beside it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.account.lookup import domain_of, normalise_name
from bot.models import Account, BooksCustomer, Contact, Deal, DeskAccount, Invoice, Payment, Ticket


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def utc_key(value: datetime | None) -> str | None:
    """A datetime as a fixed-width UTC string (naive times are UTC, as in bot.money), so that SQL compares
    and orders instants as text on any engine."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def label_key(value: str) -> str:
    """A Zoho label as the health rules compare it (bot.health: stripped, case-folded)."""
    return value.strip().casefold()


def _amount(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None  # exact: read back as Decimal, never added up in SQL


def account_report_columns(a: Account) -> dict[str, Any]:
    return {"owner_name": a.owner.name, "currency": a.currency}


def deal_report_columns(d: Deal) -> dict[str, Any]:
    return {
        "stage_key": label_key(d.stage),
        "currency": d.currency.upper(),
        "created_utc": utc_key(d.created_time),
        "modified_utc": utc_key(d.modified_time),
        "amount": _amount(d.amount),
        "owner_name": d.owner.name,
        "owner_email": d.owner.email,
    }


def invoice_report_columns(i: Invoice) -> dict[str, Any]:
    return {
        "kind": i.kind,
        "status_key": i.status.casefold(),
        "currency": i.currency.upper(),
        "total": _amount(i.total),
    }


def payment_report_columns(p: Payment) -> dict[str, Any]:
    return {"currency": p.currency.upper(), "amount": _amount(p.amount)}


def ticket_report_columns(t: Ticket) -> dict[str, Any]:
    return {
        "status_key": label_key(t.status_type or t.status),
        "escalated": int(t.is_escalated),
        "created_utc": utc_key(t.created_time),
        "closed_utc": utc_key(t.closed_time),
        "modified_utc": utc_key(t.modified_time),
    }


# ---- amounts as exact integers: SQL sums them exactly (integer SUM) ---------------------------------------------

UNITS_SCALE = 4  # `*_units` = amount × 10⁴ when that is a whole number below UNITS_LIMIT, else NULL
UNITS = 10**UNITS_SCALE
UNITS_LIMIT = 10**15  # so that SQL sums thousands of them in 64 bits (SQLite raises on overflow, never wraps)


def amount_units(value: Decimal | None) -> int | None:
    """`value` × 10⁴ as an integer, or None when that is not exact or too large (whoever sums then falls back to
    the exact text)."""
    if value is None or not value.is_finite():
        return None
    scaled = value.scaleb(UNITS_SCALE)
    if scaled != scaled.to_integral_value() or abs(scaled) >= UNITS_LIMIT:
        return None
    return int(scaled)


def amount_exponent(value: Decimal | None) -> int | None:
    """The amount's exponent: with it a sum of units is given back as Decimal addition would (its smallest)."""
    if value is None or not value.is_finite():
        return None
    return int(value.as_tuple().exponent)


# ---- money columns (bot/store/reports_money.py): amounts as exact integers, the deal's labels --------------------


def deal_money_columns(d: Deal) -> dict[str, Any]:
    return {
        "name": d.name,
        "account_name": d.account_name,
        "amount_units": amount_units(d.amount),
        "amount_exp": amount_exponent(d.amount),
    }


def invoice_money_columns(i: Invoice) -> dict[str, Any]:
    return {"total_units": amount_units(i.total), "total_exp": amount_exponent(i.total)}


def payment_money_columns(p: Payment) -> dict[str, Any]:
    return {"amount_units": amount_units(p.amount), "amount_exp": amount_exponent(p.amount)}


# table → (its model, its money columns): what the migration that added them fills from `data`
MONEY_COLUMNS: dict[str, tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    "deals": (Deal, deal_money_columns),
    "invoices": (Invoice, invoice_money_columns),
    "payments": (Payment, payment_money_columns),
}


# table → (its model, its report columns): what the migration that added them fills from `data`
REPORT_COLUMNS: dict[str, tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    "accounts": (Account, account_report_columns),
    "deals": (Deal, deal_report_columns),
    "invoices": (Invoice, invoice_report_columns),
    "payments": (Payment, payment_report_columns),
    "tickets": (Ticket, ticket_report_columns),
}


# Typed columns added after the money columns (migration `_m_rcare_health_columns`): what per-account health,
# renewals, the support and sales digests and the Home tab compute on without decoding `data` (the invoice's
# `total_units` comes with the money columns).


def account_health_columns(a: Account) -> dict[str, Any]:
    return {"owner_address": a.owner.email}  # as given (owner_email is folded for lookups)


def deal_health_columns(d: Deal) -> dict[str, Any]:
    return {"type_key": d.deal_type.strip().casefold(), "name_key": d.name.casefold()}


def invoice_health_columns(i: Invoice) -> dict[str, Any]:
    return {"balance": _amount(i.balance), "balance_units": amount_units(i.balance)}


def ticket_health_columns(t: Ticket) -> dict[str, Any]:
    return {"past_due": int(t.is_overdue)}


def ticket_support_columns(t: Ticket) -> dict[str, Any]:
    return {"close_hours": t.hours_to_close}  # the support report's medians, without parsing two instants a row


HEALTH_COLUMNS: dict[str, tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    "accounts": (Account, account_health_columns),
    "deals": (Deal, deal_health_columns),
    "invoices": (Invoice, invoice_health_columns),
    "tickets": (Ticket, ticket_health_columns),
}

# Added by migration `_m_rsup5_close_hours`.
SUPPORT_COLUMNS: dict[str, tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    "tickets": (Ticket, ticket_support_columns),
}


def account_row(a: Account) -> dict[str, Any]:
    return {
        "id": a.id, "name": a.name, "name_norm": normalise_name(a.name), "owner_email": a.owner.email.lower(),
        "website_domain": domain_of(a.website), "modified_time": _iso(a.modified_time),
        "data": a.model_dump_json(), **account_report_columns(a), **account_health_columns(a),
    }  # fmt: skip


def contact_row(c: Contact) -> dict[str, Any]:
    email = c.email.strip().lower()
    return {
        "id": c.id, "account_id": c.account_id, "email": email, "email_domain": domain_of(email),
        "data": c.model_dump_json(),
    }  # fmt: skip


def deal_row(d: Deal) -> dict[str, Any]:
    return {
        "id": d.id, "account_id": d.account_id, "stage": d.stage, "closing_date": _iso(d.closing_date),
        "modified_time": _iso(d.modified_time), "data": d.model_dump_json(), **deal_report_columns(d),
        **deal_money_columns(d), **deal_health_columns(d),
    }  # fmt: skip


def customer_row(c: BooksCustomer) -> dict[str, Any]:
    return {"id": c.id, "account_id": c.account_id, "name": c.name, "data": c.model_dump_json()}


def invoice_row(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id, "customer_id": i.customer_id, "account_id": i.account_id, "deal_id": i.deal_id,
        "status": i.status, "date": _iso(i.date), "due_date": _iso(i.due_date),
        "modified_time": _iso(i.modified_time), "data": i.model_dump_json(), **invoice_report_columns(i),
        **invoice_money_columns(i), **invoice_health_columns(i),
    }  # fmt: skip


def payment_row(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id, "customer_id": p.customer_id, "account_id": p.account_id, "date": _iso(p.date),
        "data": p.model_dump_json(), **payment_report_columns(p), **payment_money_columns(p),
    }  # fmt: skip


def desk_account_row(d: DeskAccount) -> dict[str, Any]:
    return {"id": d.id, "crm_account_id": d.crm_account_id, "name": d.name, "data": d.model_dump_json()}


def ticket_row(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "desk_account_id": t.desk_account_id, "account_id": t.account_id,
        "status_type": t.status_type, "modified_time": _iso(t.modified_time), "data": t.model_dump_json(),
        **ticket_report_columns(t), **ticket_health_columns(t), **ticket_support_columns(t),
    }  # fmt: skip
