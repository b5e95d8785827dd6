import json

import pytest

from bot.errors import DeliveryError
from bot.intake.deliveries import books_items, crm_items, desk_items

ORG = "800100200"


def _desk(kind: str, ticket_id: str, at: str = "1717000000000", **extra):
    return {"eventType": kind, "orgId": ORG, "eventTime": at, "payload": {"id": ticket_id, "subject": "x"}, **extra}


def test_desk_array_becomes_one_item_per_event():
    body = [
        _desk("Ticket_Add", "11"),
        _desk("Ticket_Update", "12", prevState={"isEscalated": False}),
        {"eventType": "Ticket_Thread_Add", "orgId": ORG, "eventTime": "1", "payload": {"id": "99", "ticketId": "13"}},
        _desk("Contact_Add", "14"),
    ]
    parsed = desk_items(body, org_id=ORG)
    ids = [item["id"] for _, item in parsed.items]
    assert ids == ["11", "12", "13", "14"]
    assert parsed.items[1][1]["prev_state"] == {"isEscalated": False}
    assert parsed.items[3][1]["kind"] == "ignored"
    assert len({identity for identity, _ in parsed.items}) == 4
    assert parsed.rejected == []
    # the same event delivered again has the same identity; a later change of the same ticket does not
    again = desk_items([_desk("Ticket_Update", "12")], ORG).items[0][0]
    later = desk_items([_desk("Ticket_Update", "12", at="1717000009999")], ORG).items[0][0]
    assert again == parsed.items[1][0] and later != again


def test_desk_unknown_types_other_orgs_and_junk_are_rejected_one_by_one():
    body = [
        _desk("Ticket_Add", "11"),
        _desk("Ticket_Teleport", "12"),
        {**_desk("Ticket_Add", "13"), "orgId": "666"},
        "junk",
        {"eventType": "Ticket_Add", "payload": {}},
    ]
    parsed = desk_items(body, org_id=ORG)
    assert [item["id"] for _, item in parsed.items] == ["11"]
    reasons = [reason for _, reason in parsed.rejected]
    assert "unknown Desk event type 'Ticket_Teleport'" in reasons[0]
    assert "not ours" in reasons[1] and "not an event object" in reasons[2] and "without a record id" in reasons[3]


@pytest.mark.parametrize("body", [[], {}, "text", 3, None])
def test_desk_body_that_is_no_event_list_is_malformed(body):
    with pytest.raises(DeliveryError) as err:
        desk_items(body if body != {} else [], ORG)
    assert err.value.status == 400


def test_crm_notification_one_item_per_id():
    body = {
        "server_time": 1717000000000,
        "module": "Deals",
        "ids": ["111", "222"],
        "operation": "update",
        "channel_id": "1000000068001",
        "token": "secret",
        "affected_fields": [],
    }
    parsed = crm_items(body)
    assert [(i["module"], i["id"]) for _, i in parsed.items] == [("Deals", "111"), ("Deals", "222")]
    assert crm_items(body).items == parsed.items  # a replay: same identities
    assert crm_items({**body, "server_time": 1717000001000}).items[0][0] != parsed.items[0][0]


def test_crm_workflow_webhook_and_errors():
    parsed = crm_items({"deal_id": "555", "stage": "Closed Won", "secret": "s"})
    assert parsed.items[0][1] == {"kind": "record", "module": "Deals", "id": "555", "operation": "update"}
    assert crm_items({"id": "7", "module": "Accounts"}).items[0][1]["module"] == "Accounts"
    with pytest.raises(DeliveryError) as err:
        crm_items({"module": "Leads", "ids": ["1"]})
    assert err.value.status == 422
    with pytest.raises(DeliveryError) as err:
        crm_items({"stage": "Closed Won"})
    assert err.value.status == 422 and "deal_id" in str(err.value)
    with pytest.raises(DeliveryError):
        crm_items({"module": "Deals", "ids": []})
    with pytest.raises(DeliveryError):
        crm_items(["not", "an", "object"])


def test_books_bodies():
    invoice = {"invoice_id": "460000000100018", "status": "overdue", "last_modified_time": "2024-05-01T10:00:00+0000"}
    for body in ({"invoice": invoice}, invoice, {"JSONString": json.dumps({"invoice": invoice})}):
        parsed = books_items(body)
        assert parsed.items[0][1] == {"kind": "invoice", "id": "460000000100018", "status": "overdue"}
    paid = books_items({"invoice": {**invoice, "status": "paid"}}).items[0][0]
    assert paid != books_items({"invoice": invoice}).items[0][0]
    payment = books_items({"payment": {"payment_id": "9", "customer_id": "4", "invoices": [{"invoice_id": "8"}]}})
    assert payment.items[0][1]["invoice_ids"] == ["8"] and payment.items[0][1]["customer_id"] == "4"
    with pytest.raises(DeliveryError) as err:
        books_items({"estimate": {"estimate_id": "1"}})
    assert err.value.status == 422
    with pytest.raises(DeliveryError) as err:
        books_items({"JSONString": "{nope"})
    assert err.value.status == 400
