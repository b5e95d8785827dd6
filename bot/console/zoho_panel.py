"""The console's Zoho panel: find an account in the sandbox and change it the way a person would in Zoho, then
send the webhook Zoho would send for that change (CRM notification, Desk event array, Books workflow body) to
the app's real `/zoho/*` routes with the webhook secret.

The sandbox is driven through its state helpers and `bot.zoho.sandbox.webhooks`; what the panel lists is read
from the records with `.get`, so keys the sandbox drops from its rows do no harm here."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from bot.console.slack_side import ConsoleError
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox import webhooks as zw
from bot.zoho.sandbox.timefmt import crm_ts

BILLING = ("Billing_Street", "Billing_City", "Billing_State", "Billing_Code", "Billing_Country")
LIMIT = 8


class ZohoPanel:
    def __init__(self, sandbox: Sandbox, app: httpx.AsyncClient, webhook_secret: str, won_stage: str) -> None:
        self.sandbox = sandbox
        self.app = app
        self.secret = webhook_secret
        self.won_stage = won_stage

    @property
    def _st(self) -> Any:
        return self.sandbox.state

    def stages(self) -> list[str]:
        seen = {str(d.get("Stage") or "") for d in self._st.crm["Deals"].values()}
        return sorted(s for s in seen | {self.won_stage} if s)

    def search(self, query: str) -> list[dict[str, Any]]:
        """Accounts whose name contains the query (all when empty), each with its deals, invoices, tickets."""
        q = query.strip().lower()
        accounts = [a for a in self._st.crm["Accounts"].values() if q in str(a.get("Account_Name") or "").lower()]
        accounts.sort(key=lambda a: (a.get("id") != self._st.demo_account_id, str(a.get("Account_Name"))))
        return [self.account(str(a["id"])) for a in accounts[:LIMIT]]

    def account(self, account_id: str) -> dict[str, Any]:
        st = self._st
        acc = st.crm["Accounts"].get(account_id)
        if acc is None:
            raise ConsoleError(f"no CRM account {account_id}")
        deals = [st.crm["Deals"][d] for d in st.crm_deals_by_account.get(account_id, []) if d in st.crm["Deals"]]
        customer = st.books_contact_by_crm_account.get(account_id)
        invoices = (
            [st.books_invoices[i] for i in st.books_invoices_by_customer.get(customer, []) if i in st.books_invoices]
            if customer
            else []
        )
        desk_account = st.desk_account_by_crm.get(account_id)
        tickets = (
            [st.desk_tickets[t] for t in st.desk_tickets_by_account.get(desk_account, []) if t in st.desk_tickets]
            if desk_account
            else []
        )
        return {
            "id": account_id,
            "name": acc.get("Account_Name"),
            "owner": (acc.get("Owner") or {}).get("name"),
            "billing": {k: acc.get(k) or "" for k in BILLING},
            "desk_account": desk_account or "",
            "deals": [
                {
                    "id": d["id"],
                    "name": d.get("Deal_Name"),
                    "stage": d.get("Stage"),
                    "amount": d.get("Amount"),
                    "currency": d.get("Currency") or "",
                }
                for d in deals
            ],
            "invoices": [
                {
                    "id": i["invoice_id"],
                    "number": i.get("invoice_number"),
                    "status": i.get("status"),
                    "total": i.get("total"),
                    "balance": i.get("balance"),
                    "due_date": i.get("due_date"),
                    "currency": i.get("currency_code") or "",
                }
                for i in invoices
            ],
            "tickets": [
                {
                    "id": t["id"],
                    "number": t.get("ticketNumber"),
                    "subject": t.get("subject"),
                    "status": t.get("status"),
                    "escalated": bool(t.get("isEscalated")),
                }
                for t in tickets
            ],
        }

    async def _deliver(self, app: str, body: Any) -> dict[str, Any]:
        reply = await self.app.post(
            f"/zoho/{app}",
            params={"secret": self.secret},
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        answer = reply.json() if reply.content else {}
        return {"status": reply.status_code, **answer}

    async def move_deal(self, deal_id: str, stage: str) -> dict[str, Any]:
        if deal_id not in self._st.crm["Deals"]:
            raise ConsoleError(f"no CRM deal {deal_id}")
        if not stage.strip():
            raise ConsoleError("choose a stage")
        zw.update_deal(self._st, deal_id, Stage=stage.strip())
        body = zw.crm_notification(self._st, "Deals", [deal_id], token=self.secret)
        return {"webhook": "POST /zoho/crm (Deals notification)", **await self._deliver("crm", body)}

    async def fill_billing(self, account_id: str, address: dict[str, str]) -> dict[str, Any]:
        if account_id not in self._st.crm["Accounts"]:
            raise ConsoleError(f"no CRM account {account_id}")
        changes = {k: str(address.get(k) or "").strip()[:250] for k in BILLING if str(address.get(k) or "").strip()}
        if not changes:
            raise ConsoleError("fill at least one address field")
        self._st.update_crm("Accounts", account_id, {**changes, "Modified_Time": crm_ts(self._st.now())})
        body = zw.crm_notification(self._st, "Accounts", [account_id], token=self.secret)
        return {"webhook": "POST /zoho/crm (Accounts notification)", **await self._deliver("crm", body)}

    async def open_ticket(self, account_id: str, subject: str, priority: str = "High") -> dict[str, Any]:
        desk_account = self._st.desk_account_by_crm.get(account_id)
        if not desk_account:
            raise ConsoleError("this account has no Desk account")
        if not subject.strip():
            raise ConsoleError("give the ticket a subject")
        ticket = zw.open_ticket(self._st, desk_account, subject.strip()[:255], priority=priority or "High")
        body = [zw.desk_event(self._st, "Ticket_Add", ticket)]
        return {"webhook": "POST /zoho/desk (Ticket_Add)", **await self._deliver("desk", body)}

    async def escalate_ticket(self, ticket_id: str) -> dict[str, Any]:
        if ticket_id not in self._st.desk_tickets:
            raise ConsoleError(f"no Desk ticket {ticket_id}")
        ticket, prev = zw.update_ticket(self._st, ticket_id, isEscalated=True)
        body = [zw.desk_event(self._st, "Ticket_Update", ticket, prev)]
        return {"webhook": "POST /zoho/desk (Ticket_Update)", **await self._deliver("desk", body)}

    async def invoice(self, invoice_id: str, status: str) -> dict[str, Any]:
        if invoice_id not in self._st.books_invoices:
            raise ConsoleError(f"no Books invoice {invoice_id}")
        if status == "paid":
            _, payment = zw.pay_invoice(self._st, invoice_id)
            answer = await self._deliver("books", zw.books_payment_body(payment))
            return {"webhook": "POST /zoho/books (payment)", **answer}
        if status != "overdue":
            raise ConsoleError("an invoice can be marked overdue or paid")
        due = (self._st.now().date() - timedelta(days=12)).isoformat()
        zw.update_invoice(self._st, invoice_id, status="overdue", due_date=due)
        return {
            "webhook": "POST /zoho/books (invoice)",
            **await self._deliver("books", zw.books_invoice_body(self._st, invoice_id)),
        }
