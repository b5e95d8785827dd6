"""Block Kit for the closed-won handoff (pure): the #finance message in each state, the owner's notes, the
#support handover, and the Edit and Reject dialogs."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.blocks import Message, button, clip, context, fit, link, plain, safe, section
from bot.errors import InputError
from bot.handoff.plan import HandoffPlan, Line, Missing
from bot.handoff.repo import Handoff
from bot.models import Address
from bot.money import format_money, format_time
from bot.zoho.links import AppLinks

CREATE, EDIT, REJECT, RETRY = "handoff_create", "handoff_edit", "handoff_reject", "handoff_retry"
EDIT_VIEW, REJECT_VIEW = "handoff_edit_view", "handoff_reject_view"
MAX_LINES_SHOWN = 10
TERMS = (0, 7, 14, 15, 30, 45, 60, 90)


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if user_id else "someone"


def _owner(plan: HandoffPlan, mention: str | None) -> str:
    return mention or safe(plan.owner.name or plan.owner.email or "unknown")


def terms_label(days: int | None) -> str:
    if days is None:
        return "—"
    return "Due on receipt" if days == 0 else f"Net {days}"


def _lines_text(plan: HandoffPlan) -> str:
    if plan.unpriced:
        rows = [
            f"• {safe(u.name, 60)} — quantity ?, catalogue price {format_money(u.list_price, plan.currency)}"
            for u in plan.unpriced[:MAX_LINES_SHOWN]
        ]
        if len(plan.unpriced) > MAX_LINES_SHOWN:
            rows.append(f"…and {len(plan.unpriced) - MAX_LINES_SHOWN} more products")
        return (
            "⚠️ *Quantities and prices unknown*: CRM links these products to the deal without a quantity or "
            "a deal price, and the deal has no quote.\n" + "\n".join(rows)
        )
    rows = [
        f"• {safe(line.name, 60)} — {line.quantity.normalize():f} × {format_money(line.rate, plan.currency)}"
        f" = {format_money(line.total, plan.currency)}"
        for line in plan.lines[:MAX_LINES_SHOWN]
    ]
    if len(plan.lines) > MAX_LINES_SHOWN:
        rows.append(f"…and {len(plan.lines) - MAX_LINES_SHOWN} more lines")
    return "\n".join(rows) or "_No lines_"


def _amount_text(plan: HandoffPlan) -> str:
    total = format_money(plan.total, plan.currency) if plan.lines else "—"
    if plan.deal_amount is not None and plan.lines and plan.total != plan.deal_amount:
        return f"{total} (deal amount {format_money(plan.deal_amount, plan.currency)})"
    return total


def _summary(plan: HandoffPlan, links: AppLinks, mention: str | None) -> list[dict[str, Any]]:
    customer = link(links.crm_account(plan.account_id), safe(plan.account_name or "—"))
    books = (
        f" · {link(links.books_customer(plan.books_customer_id), 'in Books')}"
        if plan.books_customer_id
        else " · new in Books"
    )
    contact = safe(plan.contact_name or "—") + (f"\n{safe(plan.contact_email)}" if plan.contact_email else "")
    return [
        {"type": "header", "text": plain(f"🏁 Closed won: {plan.deal_name}", 150)},
        section(
            None,
            [
                f"*Customer*\n{customer}{books}",
                f"*Contact*\n{contact}",
                f"*Billing address*\n{safe(plan.billing.one_line() or '—', 300)}",
                f"*Amount*\n{_amount_text(plan)}",
                f"*Terms*\n{terms_label(plan.payment_terms)}",
                f"*Deal owner*\n{_owner(plan, mention)}",
            ],
        ),
        section(
            f"*Lines* ({plan.kind}{', ' + safe(plan.lines_note, 200) if plan.lines_note else ''})\n{_lines_text(plan)}"
        ),
        context(link(links.crm_deal(plan.deal_id), "Deal in Zoho CRM")),
    ]


def _confirm(plan: HandoffPlan) -> dict[str, Any]:
    what = "invoice" if plan.kind == "invoice" else "estimate"
    text = (
        f"Create a draft {what} of {format_money(plan.total, plan.currency)} for "
        f"{clip(plan.account_name, 80)} in Zoho Books, and its Desk account?"
    )
    return {
        "title": plain(f"Create {what}?", 100),
        "text": plain(text, 300),
        "confirm": plain("Create", 30),
        "deny": plain("Cancel", 30),
    }


def finance_message(
    h: Handoff,
    links: AppLinks,
    tz: tzinfo,
    now: datetime,
    *,
    owner_mention: str | None = None,
    approver_mention: str | None = None,
) -> Message:
    plan = h.plan
    blocks = _summary(plan, links, owner_mention)
    what = "Invoice" if plan.kind == "invoice" else "Estimate"
    value = plan.deal_id
    if h.state == "waiting":
        needs = "\n".join(f"• {m.what}" for m in h.missing)
        who = (
            "*Waiting for the deal owner*"
            if any(m.where == "crm" for m in h.missing)
            else "*Needs finance* — use *Edit*"
        )
        blocks.append(section(f"⏳ {who} — not ready to create yet:\n{needs}"))
        blocks.append(
            {
                "type": "actions",
                "block_id": "handoff_actions",
                "elements": [button("Edit", EDIT, value), button("Reject", REJECT, value)],
            }
        )
        status = "waiting for missing fields"
    elif h.state == "ready":
        create = button(f"Create {what.lower()}", CREATE, value, style="primary")
        create["confirm"] = _confirm(plan)
        blocks.append(
            {
                "type": "actions",
                "block_id": "handoff_actions",
                "elements": [create, button("Edit", EDIT, value), button("Reject", REJECT, value)],
            }
        )
        status = "ready for approval"
    elif h.state in ("approved", "creating"):
        blocks.append(
            section(
                f"⚙️ Creating the {what.lower()}… approved by {approver_mention or _who(h.approved_by)}"
                f" at {_at(h.approved_at, tz, now)}"
            )
        )
        status = "being created"
    elif h.state == "done":
        doc = link(links.books_invoice(h.document_id), safe(h.document_number or h.document_id))
        cust = link(links.books_customer(h.books_customer_id), "customer")
        desk = link(links.desk_account(h.desk_account_id), "Desk account") if h.desk_account_id else ""
        blocks.append(
            section(
                f"✅ {what} {doc} created (draft) by {approver_mention or _who(h.approved_by)} at "
                f"{_at(h.approved_at, tz, now)} · {cust}" + (f" · {desk}" if desk else "")
            )
        )
        status = f"{what.lower()} {h.document_number} created"
    elif h.state == "failed":
        blocks.append(
            section(
                f"❌ *Creating failed*: {safe(h.error, 1500)}\nWhat was already created is kept and "
                "will not be created again; *Retry* carries on from where it stopped."
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": "handoff_actions",
                "elements": [button("Retry", RETRY, value, style="primary"), button("Reject", REJECT, value)],
            }
        )
        status = "failed"
    else:  # rejected
        if h.rejected_by:
            blocks.append(section(f"🚫 Rejected by {_who(h.rejected_by)}: {safe(h.rejected_reason or '—', 1500)}"))
            status = "rejected"
        else:
            blocks.append(section(f"↩️ Withdrawn: {safe(h.rejected_reason or '—', 1500)} Nothing was created."))
            status = "withdrawn"
    text = (
        f"Closed won: {clip(plan.deal_name, 100)} ({clip(plan.account_name, 80)}, "
        f"{format_money(plan.total, plan.currency)}) — {status}"
    )
    return Message(text, blocks)


def _at(iso: str, tz: tzinfo, now: datetime) -> str:
    return format_time(datetime.fromisoformat(iso), tz, now=now) if iso else "—"


def owner_missing_note(plan: HandoffPlan, missing: list[Missing], links: AppLinks) -> Message:
    crm = [m for m in missing if m.where == "crm"]
    rows = "\n".join(f"• {m.what}" for m in (crm or missing))
    deal = link(links.crm_deal(plan.deal_id), safe(plan.deal_name))
    text = (
        f"Your deal {deal} is Closed Won, but finance cannot invoice it yet. Please fix this in Zoho CRM:\n{rows}\n"
        "The finance post updates by itself once the deal is saved."
    )
    return Message(
        f"Deal {clip(plan.deal_name, 100)} needs {len(missing)} more field(s) before invoicing", [section(text)]
    )


def owner_outcome_note(h: Handoff, links: AppLinks) -> Message:
    deal = link(links.crm_deal(h.deal_id), safe(h.plan.deal_name))
    if h.state == "rejected":
        text = f"Finance rejected the handoff of {deal} ({_who(h.rejected_by)}): {safe(h.rejected_reason, 1500)}"
    else:
        doc = link(links.books_invoice(h.document_id), safe(h.document_number))
        text = f"{'Invoice' if h.kind == 'invoice' else 'Estimate'} {doc} was created for {deal}."
    return Message(fit(text, 2900).replace("*", ""), [section(text)])


def support_handover(h: Handoff, links: AppLinks, owner_mention: str | None = None) -> Message:
    plan = h.plan
    desk = link(links.desk_account(h.desk_account_id), "Desk account") if h.desk_account_id else "no Desk account"
    contact = (
        safe(plan.contact_name or "—")
        + (f" · {safe(plan.contact_email)}" if plan.contact_email else "")
        + (f" · {safe(plan.contact_phone)}" if plan.contact_phone else "")
    )
    blocks = [
        {"type": "header", "text": plain(f"🤝 New customer: {plan.account_name}", 150)},
        section(
            f"*Sold* ({format_money(plan.total, plan.currency)}, {terms_label(plan.payment_terms)})\n"
            f"{_lines_text(plan)}"
        ),
        section(
            None,
            [
                f"*Contact*\n{contact}",
                f"*Deal owner*\n{_owner(plan, owner_mention)}",
                f"*Support*\n{desk} ready",
                f"*Deal*\n{link(links.crm_deal(plan.deal_id), safe(plan.deal_name))}",
            ],
        ),
    ]
    return Message(f"New customer handed over: {clip(plan.account_name, 100)}", blocks)


def refusal(action: str) -> Message:
    return Message(
        f"Only configured approvers can {action}. Ask finance, or an admin to add you to "
        "`[approvers] invoice` in throughline.toml."
    )


# ---- dialogs ---------------------------------------------------------------------------------------------------


def _input(
    block_id: str, label: str, initial: str = "", *, multiline: bool = False, optional: bool = True, hint: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        # clip() collapses whitespace: a multiline value (the Lines box) must keep its line breaks
        element["initial_value"] = initial[:3000] if multiline else clip(initial, 3000)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


QTY = "QTY"  # stands for a quantity the approver must type: CRM does not know it


def lines_to_text(lines: list[Line]) -> str:
    return "\n".join(f"{line.quantity.normalize():f} x {line.name} @ {line.rate:f}" for line in lines)


def edit_lines_text(plan: HandoffPlan) -> str:
    """The Lines field's starting text: the plan's lines, or the unpriced products with `QTY` to replace and
    their catalogue price as a starting rate."""
    if plan.unpriced and plan.lines_source != "edited":
        return "\n".join(f"{QTY} x {u.name} @ {u.list_price:f}" for u in plan.unpriced)
    return lines_to_text(plan.lines)


def _bad_lines(message: str) -> InputError:
    return InputError(message, fields={"lines": message})


def parse_lines(text: str) -> list[Line]:
    """`2 x Widget @ 150.00` per line (quantity optional). Raises InputError naming the bad line
    (under the dialog's `lines` block)."""
    lines: list[Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        row = raw.strip()
        if not row:
            continue
        name, sep, rate = row.rpartition("@")
        if not sep or not name.strip():
            raise _bad_lines(f"line {number}: write it as `quantity x name @ rate`, e.g. `2 x Setup @ 150`")
        quantity = Decimal("1")
        qty, x, rest = name.partition(" x ")
        if x and qty.strip().upper() == QTY:
            raise _bad_lines(f"line {number}: replace {QTY} with the quantity sold (CRM does not know it)")
        try:
            if x:
                quantity = Decimal(qty.strip())
                name = rest
            value = Decimal(rate.strip().replace(",", ""))
        except InvalidOperation as exc:
            raise _bad_lines(f"line {number}: {row!r} has a quantity or rate that is not a number") from exc
        if quantity <= 0 or value < 0:
            raise _bad_lines(f"line {number}: quantity must be above 0 and rate not negative")
        lines.append(Line(name=name.strip()[:200], rate=value, quantity=quantity))
    if not lines:
        raise _bad_lines("at least one line is needed")
    return lines


def edit_modal(plan: HandoffPlan) -> dict[str, Any]:
    b = plan.billing
    options = [{"text": plain(terms_label(d), 75), "value": str(d)} for d in TERMS]
    terms: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    if plan.payment_terms in TERMS:
        terms["initial_option"] = options[TERMS.index(plan.payment_terms)]
    kinds = [{"text": plain("Invoice", 75), "value": "invoice"}, {"text": plain("Estimate", 75), "value": "estimate"}]
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": plan.deal_id,
        "title": plain("Edit handoff", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(
                f"*{safe(plan.deal_name)}* — {safe(plan.account_name)}. Changes apply to what Throughline creates "
                "in Books; CRM is not changed."
            ),
            _input("street", "Billing street", b.street),
            _input("city", "City", b.city),
            _input("state", "State or region", b.state),
            _input("code", "Postal code", b.code),
            _input("country", "Country", b.country),
            {
                "type": "input",
                "block_id": "terms",
                "label": plain("Payment terms", 2000),
                "element": terms,
                "optional": True,
            },
            {
                "type": "input",
                "block_id": "kind",
                "label": plain("Create", 2000),
                "optional": False,
                "element": {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": kinds,
                    "initial_option": kinds[0] if plan.kind == "invoice" else kinds[1],
                },
            },
            _input(
                "lines",
                "Lines",
                edit_lines_text(plan),
                multiline=True,
                hint="One per line: quantity x name @ rate, e.g. 2 x Onboarding @ 1500",
            ),
        ],
    }


def read_edit(values: dict[str, Any]) -> tuple[Address, int | None, str, list[Line] | None]:
    """The Edit dialog's state → (billing, terms, kind, lines). Raises InputError with a message
    per block id."""

    def text(block: str) -> str:
        return str((values.get(block, {}).get("value", {}) or {}).get("value") or "").strip()

    billing = Address(
        street=text("street"), city=text("city"), state=text("state"), code=text("code"), country=text("country")
    )
    selected = (values.get("terms", {}).get("value", {}) or {}).get("selected_option") or {}
    terms = int(selected["value"]) if selected.get("value", "").isdigit() else None
    kind = ((values.get("kind", {}).get("value", {}) or {}).get("selected_option") or {}).get("value") or "invoice"
    if kind not in ("invoice", "estimate"):
        raise InputError(fields={"kind": "Choose invoice or estimate"})
    raw_lines = text("lines")
    lines = parse_lines(raw_lines) if raw_lines else None
    return billing, terms, kind, lines


def reject_modal(plan: HandoffPlan) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": plan.deal_id,
        "title": plain("Reject handoff", 24),
        "submit": plain("Reject", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(f"Reject the handoff of *{safe(plan.deal_name)}*? The deal owner is told why."),
            _input("reason", "Why?", multiline=True, optional=False),
        ],
    }
