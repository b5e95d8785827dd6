"""Drift findings (pure): every kind in the seeded sandbox and nothing else; the rules one by one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.audit.blocks import details, summary
from bot.audit.drift import KINDS, Finding, MirrorData, find_drift, won_deals_needing_products
from bot.audit.service import AuditRun
from bot.blocks import validate_message
from bot.config import Handoff, OperatingStructure, parse_structure
from bot.models import Account, Address, BooksCustomer, Contact, Deal, DeskAccount, Invoice, Product
from bot.vocabulary import Vocab
from bot.zoho.links import AppLinks
from bot.zoho.parse import (
    account_from_crm,
    contact_from_crm,
    customer_from_books,
    deal_from_crm,
    desk_account_from_desk,
    invoice_from_books,
    ticket_from_desk,
)
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.state import SandboxState

LINKS = AppLinks.for_dc("eu", books_org_id="700100200", desk_portal="acme")
VOCAB = OperatingStructure().vocabulary.effective()


def expected_ids(st: SandboxState) -> set[str]:
    """The findings the seed's known drift must produce, derived from `state.untidy` alone (plus which accounts
    have a won deal, since only those need a Books customer and a Desk account)."""
    u = st.untidy
    won = {d["Account_Name"]["id"] for d in st.crm["Deals"].values() if d["Stage"] == "Closed Won"}
    ids = {f"won_no_books:{a}" for a in u["missing_from_books"] + u["books_customer_not_linked_crm"] if a in won}
    ids |= {f"won_no_desk:{a}" for a in u["desk_account_not_linked_crm"] + u.get("no_desk_account", []) if a in won}
    ids |= {f"books_not_linked:{c}" for c in u["books_customer_not_linked"]}
    ids |= {f"desk_not_linked:{a}" for a in u["desk_account_not_linked"]}
    ids |= {f"duplicate_books:{a}" for a in u["duplicate_books_customer_crm"]}
    ids |= {f"name_mismatch:books:{c}" for c in u["name_mismatch_books"]}
    ids |= {f"name_mismatch:desk:{a}" for a in u["name_mismatch_desk"]}
    ids |= {f"handoff_fields:{d}" for d in u["won_deal_no_billing_address_deal"]}
    ids |= {f"invoice_no_deal:{i}" for i in u["invoice_no_deal"]}
    ids |= {"unmapped_label:crm_account_types:client" for _ in u["unmapped_account_type"]}
    return ids


def mirror_of(st: SandboxState) -> MirrorData:
    data = MirrorData(
        accounts=[account_from_crm(a) for a in st.crm["Accounts"].values()],
        contacts=[contact_from_crm(c) for c in st.crm["Contacts"].values()],
        deals=[deal_from_crm(d) for d in st.crm["Deals"].values()],
        customers=[customer_from_books(c) for c in st.books_contacts.values()],
        invoices=[invoice_from_books(i) for i in st.books_invoices.values()],
        desk_accounts=[desk_account_from_desk(a) for a in st.desk_accounts.values()],
        tickets=[ticket_from_desk(t) for t in st.desk_tickets.values()],
    )
    data.deal_products = {
        d: [Product(name=st.crm["Products"][p["product_id"]]["Product_Name"]) for p in st.deal_products[d]]
        for d in won_deals_needing_products(data, VOCAB)
    }
    return data


def _drift(data: MirrorData, vocab: Vocab = VOCAB, handoff: Handoff | None = None) -> list[Finding]:
    return find_drift(data, vocab=vocab, handoff=handoff or Handoff(), links=LINKS)


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.id: f for f in findings}


def test_the_seeded_sandbox_gives_every_kind_and_nothing_else(sandbox: Sandbox) -> None:
    st = sandbox.state
    findings = _drift(mirror_of(st))
    assert {f.id for f in findings} == expected_ids(st)
    assert {f.kind for f in findings} == set(KINDS)
    assert len(findings) == len({f.id for f in findings})
    assert [KINDS.index(f.kind) for f in findings] == sorted(KINDS.index(f.kind) for f in findings)
    for f in findings:
        assert f.what and f.fix and f.records, f.id
        assert all(r.url.startswith("https://") for r in f.records if r.kind not in ("estimate",)), f.id
    found = by_id(findings)
    u = st.untidy
    books = found[f"books_not_linked:{u['books_customer_not_linked'][0]}"]
    assert books.suggestion and books.suggestion.crm_account_id == u["books_customer_not_linked_crm"][0]
    assert books.suggestion.score == 100.0
    desk = found[f"desk_not_linked:{u['desk_account_not_linked'][0]}"]
    # Desk's API cannot write the link (Account.json): the fix names the account and says where to link it
    crm_name = st.crm["Accounts"][u["desk_account_not_linked_crm"][0]]["Account_Name"]
    assert desk.suggestion is None and f'"{crm_name}"' in desk.fix and "in Desk" in desk.fix
    assert "CRM–Desk integration" in desk.fix
    assert sum(f.suggestion is not None for f in findings) == 1
    zylker = found[f"name_mismatch:books:{u['name_mismatch_books'][0]}"]
    assert '"Zylker Corp."' in zylker.what and '"Zylker Corporation"' in zylker.what and zylker.score == 100.0
    assert "billing address" in found[f"handoff_fields:{u['won_deal_no_billing_address_deal'][0]}"].what
    assert "Client" in found["unmapped_label:crm_account_types:client"].what
    assert "[vocabulary.crm_account_types]" in found["unmapped_label:crm_account_types:client"].fix
    # the won-without-Books finding points at the suggestion that fixes it
    riverside = found[f"won_no_books:{u['books_customer_not_linked_crm'][0]}"]
    assert "Riverside Dental Group" in riverside.fix and "Link" in riverside.fix


def _account(aid: str, name: str, **kw: Any) -> Account:
    billing = Address(street="1 Main St", city="Austin", country="United States")
    return Account(id=aid, name=name, billing=billing, **kw)


def test_a_link_is_suggested_only_when_one_account_matches_and_has_none_yet() -> None:
    accounts = [
        _account("1", "Acme Corporation"),
        _account("2", "Globex Inc."),
        _account("3", "Globex LLC"),
        _account("4", "Initech"),
    ]
    customers = [
        BooksCustomer(id="b1", name="ACME Corp"),  # one strong match → suggestion
        BooksCustomer(id="b2", name="Globex"),  # two accounts match → none
        BooksCustomer(id="b3", name="Initech Ltd"),  # Initech already has a customer → none
        BooksCustomer(id="b4", name="Initech", account_id="4"),
        BooksCustomer(id="b5", name="Umbrella"),  # nothing close
        BooksCustomer(id="b6", name="Vandelay", account_id="999"),
    ]  # links to an account CRM lacks
    found = by_id(_drift(MirrorData(accounts=accounts, customers=customers)))
    assert found["books_not_linked:b1"].suggestion is not None
    assert found["books_not_linked:b1"].suggestion.crm_account_id == "1"
    assert found["books_not_linked:b2"].suggestion is None and "Likely CRM accounts" in found["books_not_linked:b2"].fix
    assert found["books_not_linked:b3"].suggestion is None
    assert found["books_not_linked:b5"].suggestion is None and "No CRM account" in found["books_not_linked:b5"].fix
    assert "999, which CRM does not have" in found["books_not_linked:b6"].what
    assert "books_not_linked:b4" not in found


def test_two_records_matching_one_account_get_no_suggestion() -> None:
    accounts = [_account("1", "Harbor Freight")]
    desks = [DeskAccount(id="d1", name="Harbor Freight"), DeskAccount(id="d2", name="Harbor Freight Inc.")]
    found = by_id(_drift(MirrorData(accounts=accounts, desk_accounts=desks)))
    assert found["desk_not_linked:d1"].suggestion is None and found["desk_not_linked:d2"].suggestion is None
    assert "duplicates" in found["desk_not_linked:d1"].fix


def test_a_desk_account_only_throughline_knows_is_told_apart_from_one_zoho_links() -> None:
    accounts = [_account("1", "Harbor Freight"), _account("2", "Blue Sky Foods")]
    deals = [Deal(id=f"d{i}", name=f"Deal {i}", stage="Closed Won", account_id=str(i)) for i in (1, 2)]
    desks = [
        DeskAccount(id="ours", name="Harbor Freight"),  # created by the handoff, Zoho never linked it
        DeskAccount(id="zoho", name="Blue Sky Foods Inc", crm_account_id="2"),
    ]  # linked by Zoho
    found = by_id(_drift(MirrorData(accounts=accounts, deals=deals, desk_accounts=desks, desk_links={"ours": "1"})))
    ours = found["desk_not_linked:ours"]
    assert "known only to Throughline" in ours.what and '"Harbor Freight"' in ours.what
    assert ours.fix.startswith("Enable the CRM–Desk integration or link it in Desk") and ours.suggestion is None
    assert [r.id for r in ours.records] == ["ours", "1"]
    assert "won_no_desk:1" not in found and "won_no_desk:2" not in found  # each has a Desk account
    assert "linked by Zoho" in found["name_mismatch:desk:zoho"].what
    without = by_id(_drift(MirrorData(accounts=accounts, deals=deals, desk_accounts=desks)))
    assert "won_no_desk:1" in without and "known only" not in without["desk_not_linked:ours"].what


def test_names_compare_ignoring_case_and_punctuation_and_report_similarity() -> None:
    accounts = [_account("1", "Acme, Inc."), _account("2", "Blue Sky Foods"), _account("3", "Zylker Corporation")]
    customers = [
        BooksCustomer(id="b1", name="ACME Inc", account_id="1"),
        BooksCustomer(id="b2", name="Totally Different", account_id="2"),
        BooksCustomer(id="b3", name="Zylker Corp.", company_name="Zylker Corporation", account_id="3"),
    ]
    found = by_id(_drift(MirrorData(accounts=accounts, customers=customers)))
    assert "name_mismatch:books:b1" not in found and "name_mismatch:books:b3" not in found
    far = found["name_mismatch:books:b2"]
    assert far.score is not None and far.score < 60 and "far apart" in far.fix


def test_invoices_link_by_deal_id_or_reference_number() -> None:
    deals = [Deal(id="d1", name="One", stage="Qualification")]
    invoices = [
        Invoice(id="i1", number="INV-1", deal_id="d1"),
        Invoice(id="i2", number="INV-2", reference_number="d1"),
        Invoice(id="i3", number="INV-3", reference_number="PO-7", total=Decimal("12"), currency="EUR"),
        Invoice(id="i4", number="INV-4", deal_id="d9"),
        Invoice(id="e1", kind="estimate"),
    ]
    found = by_id(_drift(MirrorData(deals=deals, invoices=invoices)))
    assert set(found) == {"invoice_no_deal:i3", "invoice_no_deal:i4"}
    assert "€12.00" in found["invoice_no_deal:i3"].what
    assert "d9, which CRM does not have" in found["invoice_no_deal:i4"].what


def test_handoff_fields_follow_the_configured_won_stage_and_required_fields() -> None:
    structure = parse_structure(
        '[vocabulary.crm_stages]\nSigned = "won"\n[handoff]\nwon_stage = "Signed"\n'
        'required = ["contact_email", "amount", "products"]\n'
    )
    account = _account("1", "Acme")
    contact = Contact(id="c1", account_id="1", first_name="Jo")  # no email
    deals = [
        Deal(id="d1", name="Unread products", account_id="1", contact_id="c1", stage="Signed"),
        Deal(id="d2", name="No lines", account_id="1", contact_id="c1", stage="Signed", amount=Decimal("5")),
        Deal(id="d3", name="Not won", account_id="1", stage="Qualification"),
    ]
    data = MirrorData(
        accounts=[account],
        contacts=[contact],
        deals=deals,
        customers=[BooksCustomer(id="b1", name="Acme", account_id="1")],
        desk_accounts=[DeskAccount(id="k1", name="Acme", crm_account_id="1")],
        deal_products={"d2": []},
    )
    found = by_id(_drift(data, structure.vocabulary.effective(), structure.handoff))
    assert set(found) == {"handoff_fields:d1", "handoff_fields:d2"}
    assert found["handoff_fields:d1"].what.endswith("contact email, amount.")  # products were not read: not asked
    assert found["handoff_fields:d2"].what.endswith("contact email, products.")
    assert "*" not in found["handoff_fields:d2"].fix


def test_payment_terms_are_not_asked_of_an_account_without_a_books_customer() -> None:
    account = _account("1", "Acme")
    deal = Deal(id="d1", name="Won", account_id="1", contact_id="c1", stage="Closed Won", amount=Decimal("5"))
    data = MirrorData(
        accounts=[account],
        contacts=[Contact(id="c1", account_id="1", email="a@acme.com")],
        deals=[deal],
        deal_products={"d1": [Product(name="Thing")]},
    )
    assert {f.id for f in _drift(data)} == {"won_no_books:1", "won_no_desk:1"}


def _run(findings: list[Finding]) -> AuditRun:
    from datetime import UTC, datetime

    return AuditRun(
        id=7,
        at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        actor="U1",
        findings=findings,
        notes=["The mirror could not be refreshed (Zoho CRM: down); findings use what it holds."],
    )


def test_every_slack_page_fits_block_kit(sandbox: Sandbox) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    tz, now = ZoneInfo("Europe/Berlin"), datetime(2026, 3, 2, 10, tzinfo=UTC)
    long_name = "Ä & <Co> " * 40
    many = [
        Finding(
            id=f"invoice_no_deal:{n}",
            kind="invoice_no_deal",
            what=f"Invoice {long_name} {n}",
            fix="x " * 400,
            records=[],
        )
        for n in range(500)
    ]
    for run in (_run(_drift(mirror_of(sandbox.state))), _run(many), _run([])):
        validate_message(summary(run, tz=tz, now=now))
        for kind in KINDS:
            total = sum(f.kind == kind for f in run.findings)
            start, seen = 0, 0
            while True:  # walk the Next buttons: every finding is shown exactly once
                message = details(run, kind, start, tz=tz, now=now, notice="✅ Linked")
                validate_message(message)
                seen += sum(1 for b in message.blocks if b.get("type") == "section" and "Fix:" in b["text"]["text"])
                nxt = [
                    e
                    for b in message.blocks
                    if b.get("type") == "actions"
                    for e in b["elements"]
                    if e["action_id"] == "audit_page_next"
                ]
                if not nxt:
                    break
                start = int(nxt[0]["value"].rsplit(":", 1)[1])
            assert seen == total, kind
    first = details(_run(many), "invoice_no_deal", 0, tz=tz, now=now)
    nav = [b for b in first.blocks if b.get("type") == "actions"]
    assert [e["action_id"] for e in nav[0]["elements"]] == ["audit_page_next"]
    assert "of 500" in str(first.blocks)
    last = details(_run(many), "invoice_no_deal", 10_000, tz=tz, now=now)  # past the end: the last one
    assert last.text.endswith("(500–500 shown).")
