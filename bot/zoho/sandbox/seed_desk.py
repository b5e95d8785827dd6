"""Seed the Desk side of one CRM account: account, contacts, tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.zoho.sandbox import seed_data as D
from bot.zoho.sandbox.seed_gen import DAY
from bot.zoho.sandbox.state import Record

if TYPE_CHECKING:
    from bot.zoho.sandbox.seed_gen import Gen

WEB = "https://desk.zoho.com/support/throughline/ShowHomePage.do#"

# demo tickets: (subject, status, statusType, priority, escalated, created days ago, due offset days from today)
_DEMO_TICKETS = [
    ("GPS units dropping signal on Route 9", "Escalated", "Open", "High", True, 6, -2),
    ("Question about invoice balance", "Open", "Open", "Medium", False, 2, 3),
    ("Driver app login failures after update", "On Hold", "On Hold", "Medium", False, 12, 5),
    ("Onboarding: training schedule for new depot", "Closed", "Closed", "Low", False, 40, -30),
]


def _ensure_desk_basics(gen: Gen) -> None:
    st = gen.state
    if st.desk_department_id:
        return
    st.desk_department_id = gen.desk_id()
    for first, last in D.AGENTS:
        st.desk_agents.append(
            {
                "id": gen.desk_id(),
                "firstName": first,
                "lastName": last,
                "emailId": f"{first.lower()}.{last.lower()}@example.com",
            }
        )


def seed_desk_account(gen: Gen, account: Record, contacts: list[Record], spec: str) -> None:
    from bot.zoho.sandbox.seed import record_untidy

    st = gen.state
    _ensure_desk_basics(gen)
    if not spec and gen.r() < 0.1:
        record_untidy(st, "no_desk_account", account["id"])
        return  # some customers never opened a support account
    name = "Zylker Corp" if spec == "name_mismatch" else account["Account_Name"]
    created = gen.ago(100, 700)
    modified = gen.ago(1, 90)
    desk_account = st.add_desk_account(
        {
            "id": gen.desk_id(),
            "accountName": name,
            "email": contacts[0]["Email"] if contacts else "",
            "website": account["Website"],
            "phone": account["Phone"],
            "street": account["Billing_Street"] or "",
            "city": account["Billing_City"] or "",
            "state": account["Billing_State"] or "",
            "country": account["Billing_Country"] or "",
            "code": account["Billing_Code"] or "",
            "industry": account["Industry"],
            "description": None,
            "zohoCRMAccount": None if spec == "desk_not_linked" else {"id": account["id"]},
            "createdTime": gen.desk(min(created, modified)),
            "modifiedTime": gen.desk(modified),
            "cf": {},
        }
    )
    desk_account["webUrl"] = f"{WEB}Accounts/dv/{desk_account['id']}"
    if spec == "name_mismatch":
        record_untidy(st, "name_mismatch_desk", desk_account["id"])
    if spec == "desk_not_linked":
        record_untidy(st, "desk_account_not_linked", desk_account["id"])
    people = []
    for c in contacts:
        person = st.add_desk_contact(
            {
                "id": gen.desk_id(),
                "firstName": c["First_Name"],
                "lastName": c["Last_Name"],
                "email": c["Email"],
                "phone": c["Phone"],
                "mobile": None,
                "title": c["Title"],
                "accountId": desk_account["id"],
                "zohoCRMContact": {"id": c["id"]},
                "createdTime": desk_account["createdTime"],
                "modifiedTime": desk_account["modifiedTime"],
            }
        )
        person["webUrl"] = f"{WEB}Contacts/dv/{person['id']}"
        people.append(person)
    if spec == "demo":
        for subject, status, status_type, priority, escalated, days, due in _DEMO_TICKETS:
            _ticket(
                gen,
                desk_account,
                people[0],
                subject,
                status,
                status_type,
                priority,
                escalated,
                -days * DAY + 9 * 3600,
                due * DAY + 17 * 3600,
            )
        return
    for _ in range(gen.ri(0, 11)):
        status, status_type = gen.wpick(D.TICKET_STATUSES, D.TICKET_WEIGHTS)
        created_at = gen.ago(1, 25) if status_type != "Closed" else gen.ago(5, 300)
        due_at = created_at + gen.ri(1, 10) * DAY
        escalated = status == "Escalated" or (status_type == "Open" and gen.r() < 0.08)
        _ticket(
            gen,
            desk_account,
            gen.pick(people) if people else None,
            gen.pick(D.TICKET_SUBJECTS),
            status,
            status_type,
            gen.pick(D.PRIORITIES),
            escalated,
            created_at,
            due_at,
        )


def _ticket(
    gen: Gen,
    account: Record,
    contact: Record | None,
    subject: str,
    status: str,
    status_type: str,
    priority: str | None,
    escalated: bool,
    created_at: int,
    due_at: int,
) -> None:
    st = gen.state
    closed_at = None
    if status_type == "Closed":
        closed_at = min(created_at + gen.ri(2, 240) * 3600, -60)
        modified_at = closed_at
    else:
        span = max(-created_at - 60, 1)
        modified_at = created_at + gen.ri(0, span - 1)
    number = next(gen.ticket_no)
    tid = gen.desk_id()
    st.add_ticket(
        {
            "id": tid,
            "ticketNumber": str(number),
            "subject": subject,
            "description": None,
            "status": status,
            "statusType": status_type,
            "priority": priority,
            "channel": gen.pick(D.CHANNELS),
            "departmentId": st.desk_department_id,
            "contactId": contact["id"] if contact else None,
            "accountId": account["id"],
            "assigneeId": gen.pick(st.desk_agents)["id"],
            "email": contact["email"] if contact else None,
            "phone": contact["phone"] if contact else None,
            "createdTime": gen.desk(created_at),
            "modifiedTime": gen.desk(modified_at),
            "closedTime": gen.desk(closed_at) if closed_at is not None else None,
            "dueDate": gen.desk(due_at) if status_type != "Closed" else None,
            "isOverDue": status_type != "Closed" and due_at < 0,
            "isEscalated": escalated,
            "webUrl": f"{WEB}Cases/dv/{tid}",
            "cf": {},
        }
    )
