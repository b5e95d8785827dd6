"""Applying a drift audit's link suggestion: re-check it against Zoho, write the one link, verify, mirror it.

A suggestion is applied only if it still holds when the button is clicked, read fresh from Zoho: the Books
customer / Desk account exists and is still unlinked, the CRM account exists and its name still matches, and no
other Books customer / Desk account is linked to that CRM account yet. The write changes that one link field;
the record is then re-read to confirm Zoho kept it, and the mirror is updated with what Zoho answered.

The write call (one place to change if Zoho disagrees), GUESSED: no primary page shows the link field as
writable through the API, so the re-read decides whether it worked:
- Books: `PUT /contacts/{contact_id}` with `{"zcrm_account_id": <CRM account id>}`.
Desk is never written: Account.json's `PATCH /accounts/{id}` takes no `zohoCRMAccount` (additionalProperties:
false), so the audit suggests no Desk link; a Desk suggestion from an older run answers how to link in Desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from bot.audit.drift import DESK_API_CANNOT_LINK, SUGGEST_SCORE, Suggestion, similarity
from bot.models import Account
from bot.store import Store
from bot.zoho.clients import ZohoClients

Outcome = Literal["applied", "already", "stale", "failed"]


@dataclass(frozen=True)
class ApplyResult:
    outcome: Outcome
    message: str  # plain text for the person who clicked


async def link_books_customer(zoho: ZohoClients, contact_id: str, crm_account_id: str) -> None:
    await zoho.books.transport.request(
        "PUT", f"/contacts/{quote(contact_id, safe='')}", json={"zcrm_account_id": crm_account_id}, idempotent=True
    )


def _still_matches(account: Account | None, names: list[str]) -> bool:
    return account is not None and any(similarity(account.name, n) >= SUGGEST_SCORE for n in names if n)


async def apply_suggestion(zoho: ZohoClients, store: Store, s: Suggestion) -> ApplyResult:
    """Re-check, write, verify. Raises `ZohoError` only when Zoho fails mid-way (the caller reports it)."""
    if s.action == "link_books_customer":
        return await _books(zoho, store, s)
    return await _desk(zoho, store, s)


async def _books(zoho: ZohoClients, store: Store, s: Suggestion) -> ApplyResult:
    customer = await zoho.books.get_customer(s.record_id)
    if customer is None:
        return ApplyResult("stale", f'Books customer "{s.record_name}" no longer exists: nothing was changed.')
    if customer.account_id == s.crm_account_id:
        store.upsert_books_customers([customer])
        return ApplyResult("already", f'Books customer "{customer.name}" is already linked to "{s.crm_account_name}".')
    if customer.account_id:
        return ApplyResult(
            "stale",
            f'Books customer "{customer.name}" has been linked to another CRM account '
            "since the audit: nothing was changed.",
        )
    account = await zoho.crm.get_account(s.crm_account_id)
    if not _still_matches(account, [customer.name, customer.company_name]):
        return ApplyResult(
            "stale",
            f'CRM account "{s.crm_account_name}" is gone or renamed since the audit: '
            "nothing was changed; run the audit again.",
        )
    others = [c for c in await zoho.books.find_customers(zcrm_account_id=s.crm_account_id) if c.id != customer.id]
    if others:
        return ApplyResult(
            "stale",
            f'CRM account "{s.crm_account_name}" already has Books customer "{others[0].name}": nothing was changed.',
        )
    await link_books_customer(zoho, customer.id, s.crm_account_id)
    fresh = await zoho.books.get_customer(customer.id)
    if fresh is None or fresh.account_id != s.crm_account_id:
        return ApplyResult(
            "failed",
            "Books accepted the change but did not keep the link: link the customer in Books "
            "(Zoho CRM integration) instead.",
        )
    store.upsert_books_customers([fresh])
    return ApplyResult("applied", f'Linked Books customer "{fresh.name}" to CRM account "{s.crm_account_name}".')


async def _desk(zoho: ZohoClients, store: Store, s: Suggestion) -> ApplyResult:
    return ApplyResult(
        "failed",
        f'Nothing was changed: {DESK_API_CANNOT_LINK}. Link Desk account "{s.record_name}" '
        f'to CRM account "{s.crm_account_name}" in Desk, or enable the CRM–Desk integration.',
    )
